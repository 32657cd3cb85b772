"""The human-readable summary of one analysis (``summary.txt``): formats, computes nothing."""

from __future__ import annotations

from metafuse.pipeline.run import Analysis
from metafuse.review.grade import SMALL_STUDY_MIN_K


def _selection_lines(analysis: Analysis) -> list[str]:
    s = analysis.selection
    if s is None:
        return []
    lines = [
        f"Comparison {s.comparison.key}: {s.comparison.label}",
        f"Outcome: {s.outcome.label}; {s.window.label}",
    ]
    if s.measure == "GEN":
        lines.append(
            f"Generic inverse variance on the {s.outcome.scale_name.lower()} scale "
            "(arm-level and contrast-only trials together)"
        )
    return [*lines, ""]


def _record_notes(analysis: Analysis) -> list[str]:
    s = analysis.selection
    if s is None:
        return []
    lines = [f"Not pooled: {label}: {reason}" for label, reason in s.incomplete]
    if s.weak:
        lines.append("Weak sources: " + ", ".join(s.weak))
    if s.derived:
        lines.append("Derived numbers (see outcomes.csv): " + ", ".join(s.derived))
    if s.borrowed:
        lines.append("SDs borrowed from another trial (approximate): " + ", ".join(s.borrowed))
    lines += [
        f"Excluded by this sensitivity analysis: {label}: {reason}"
        for label, reason in analysis.excluded
    ]
    t = analysis.subgroup_test
    if t is not None:
        lines.append(
            f"Test for subgroup differences ({analysis.spec.subgroup}): Chi² = "
            f"{t.Q_between:.2f}, df = {t.Q_between_df}, "
            f"p = {t.Q_between_pval:.4f}"
        )
    return lines


def _toolbox_lines(analysis: Analysis) -> list[str]:
    if analysis.result is None:
        return []
    k = analysis.result.k
    lines = [""]
    if analysis.leave_one_out is not None:
        lines.append("Leave-one-out (analysis scale):")
        frame = analysis.leave_one_out.to_frame()
        lines.append(frame.to_string(index=False, float_format="{:.4f}".format))
    else:
        lines.append(f"Leave-one-out: not informative with k = {k} (needs at least 3 studies).")
    if analysis.small_study is not None:
        eg, rk = analysis.small_study.egger, analysis.small_study.rank
        egger = (
            "not estimable"
            if eg.statistic is None or eg.pval is None
            else f"t = {eg.statistic:.3f}, df = {eg.df}, p = {eg.pval:.4f}"
        )
        rank = (
            "not estimable"
            if rk.tau is None or rk.pval is None
            else f"tau = {rk.tau:.3f}, p = {rk.pval:.4f}"
        )
        lines.append(f"Egger's test: {egger}; rank test: {rank}")
    else:
        lines.append(
            f"Small-study effects: not assessable with k = {k} (tests need at least "
            f"{SMALL_STUDY_MIN_K} studies)."
        )
    return lines


def summary_text(analysis: Analysis) -> str:
    """Return the summary of one analysis.

    What was pooled, the result, what was left out and why.
    """
    lines = [analysis.spec.title, "", *_selection_lines(analysis)]
    lines.append(
        str(analysis.result) if analysis.result is not None else "No trial has usable data."
    )
    lines += _record_notes(analysis)
    if analysis.selection is not None:
        lines += _toolbox_lines(analysis)
    if analysis.bayes is not None:
        primary = " (the primary analysis)" if analysis.spec.primary == "bayes" else ""
        lines += ["", f"Bayesian analysis{primary}:", analysis.bayes.summary().rstrip()]
    elif analysis.bayes_note:
        lines += ["", analysis.bayes_note]
    return "\n".join(lines) + "\n"
