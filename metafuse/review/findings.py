"""From a pooled analysis to its summary-of-findings row.

From a pooled analysis to its summary-of-findings row: GRADE certainty (by
:mod:`metafuse.review.rating`), absolute effects, an informative statement, and every footnote
attached to the cell it explains.

Absolute effects (GRADE guidelines 12/13): for binary outcomes the risk with the intervention and
the difference per 1000 follow from the assumed comparator risk (declared with its source in
review.toml or the spec; else the median control-group risk of the pooled trials, said so) and the
relative effect with its CI, bounded to 0-1000 per 1000; for continuous outcomes the intervention
mean is the comparator mean plus the mean difference.
"""

from __future__ import annotations

import dataclasses
import math
from statistics import median
from typing import Any

from metafuse.bayes import BayesResult
from metafuse.results import PooledResult
from metafuse.review.imprecision import absolute_per_1000
from metafuse.review.narrative import reason_words
from metafuse.review.panel import GradeInputs
from metafuse.review.rating import (
    RowContext,
    domain_notes,
    effect_measure,
    rate,
    sof_domain_notes,
)
from metafuse.review.records import StudyRecords
from metafuse.review.selection import Selection
from metafuse.review.sof import (
    Cell,
    SofRow,
    difference_words,
    fmt_ratio,
    mean_difference_text,
    per_1000,
)
from metafuse.review.statements import in_sentence, informative_statement
from metafuse.review.study_facts import control_means, follow_up, patients, scale_of


def _provenance(selection: Selection) -> list[str]:
    notes = []
    if selection.weak:
        notes.append(
            "Rests partly on weak sources (a meeting abstract, news report or unverified quote): "
            + ", ".join(selection.weak)
            + "."
        )
    if selection.derived:
        notes.append(
            "Numbers derived from what the publication prints (a contrast reversed, a count from "
            "a percentage, an SD from a CI or P value): " + ", ".join(selection.derived) + "."
        )
    if selection.borrowed:
        notes.append(
            "SD borrowed from another trial on the same scale (approximate): "
            + ", ".join(selection.borrowed)
            + "; see the sensitivity analysis without them."
        )
    return notes


def _binary_cells(
    selection: Selection, result: PooledResult, acr: float | None, acr_note: str
) -> tuple[Cell, Cell, Cell, Cell]:
    est, lo, hi = result.effect_ci()
    measure = effect_measure(selection)
    if measure == "RD":
        relative = Cell("—")
        ratios = (est, lo, hi)
    else:
        ratios = (math.exp(est), math.exp(lo), math.exp(hi))
        relative = Cell(fmt_ratio(selection.outcome.measure_label, *ratios))
    if acr is None:
        return Cell("—", (acr_note,)), Cell("—"), Cell("—"), relative
    diffs = [absolute_per_1000(measure, acr, r) for r in ratios]
    risks = [acr + d / 1000 for d in diffs]
    intervention = f"{per_1000(risks[0])} ({per_1000(risks[1]).split()[0]} to {per_1000(risks[2])})"
    difference = (
        f"{difference_words(diffs[0])} per 1000 (from {difference_words(diffs[1])} to "
        f"{difference_words(diffs[2])})"
    )
    return Cell(per_1000(acr), (acr_note,)), Cell(intervention), Cell(difference), relative


def _continuous_cells(
    selection: Selection, records: StudyRecords, result: PooledResult
) -> tuple[Cell, Cell, Cell, Cell]:
    est, lo, hi = result.effect_ci()
    means = control_means(selection, records) if selection.outcome.measure == "MD" else []
    unit = selection.outcome.unit or "points"
    difference = Cell(mean_difference_text(est, lo, hi, selection.outcome.measure_label))
    if not means:
        why = (
            "the effect is a standardised mean difference"
            if selection.outcome.measure != "MD"
            else "the records pooled give differences between the groups, not the comparator "
            "group's mean"
        )
        return Cell("—", (f"Comparator mean not shown: {why}.",)), Cell("—"), difference, Cell("—")
    base = median(means)
    pooled = len(selection.records)
    of = f" ({len(means)} of the {pooled} pooled trials report one)" if len(means) < pooled else ""
    if len(means) == 1 and not of:
        comparator = Cell(f"mean {base:g} {unit}")
    else:
        spread = f": {min(means):g} to {max(means):g}" if len(means) > 1 else ""
        comparator = Cell(
            f"mean {base:g} {unit}",
            (f"Comparator mean: the median of the comparator-group means{of}{spread}.",),
        )
    intervention = Cell(f"mean {base + est:.1f} ({base + lo:.1f} to {base + hi:.1f})")
    return comparator, intervention, difference, Cell("—")


def sof_row(
    selection: Selection,
    result: PooledResult,
    records: StudyRecords,
    grade: GradeInputs,
    small_study: dict[str, dict[str, float]] | None = None,
    bayes: BayesResult | None = None,
    primary_bayes: bool = False,
    context: RowContext | None = None,
) -> SofRow:
    """One SoF row for an analysis, with its GRADE rating and every footnote on its cell.

    One SoF row for an analysis, with its GRADE rating and every footnote on its cell. With
    ``primary_bayes`` the effect cells and imprecision use the Bayesian posterior ``bayes``.
    """
    ctx = context or RowContext()
    effect_notes: list[str] = []
    if bayes is not None:
        frequentist = effect_text(selection, *result.effect_ci())
        effect_notes.append(bayes_footnote(bayes, selection, primary_bayes, frequentist))
        if primary_bayes:
            result = dataclasses.replace(
                result, estimate=bayes.mu_median, ci_low=bayes.mu_ci_low, ci_high=bayes.mu_ci_high
            )
    certainty, facts = rate(
        selection,
        result,
        records,
        grade,
        small_study,
        ctx,
        interval="CrI" if primary_bayes and bayes is not None else "CI",
    )
    _, count, acr, acr_note = facts
    when, when_note = follow_up(selection, records)
    scale = scale_of(selection, records)
    outcome_notes = [n for n in (when_note,) if n]
    outcome_notes += [
        f"Not pooled: {label} ({reason_words(reason)})." for label, reason in selection.incomplete
    ]
    if selection.evidence != "randomised":
        outcome_notes.append(
            "Observational studies: certainty starts at low; rated apart from the randomised "
            "trials, whose row is separate (GRADE guidance 24)."
        )
    if selection.outcome.is_binary:
        comparator, intervention, difference, relative = _binary_cells(
            selection, result, acr, acr_note
        )
    else:
        comparator, intervention, difference, relative = _continuous_cells(
            selection, records, result
        )
    effect_notes += _provenance(selection)
    if selection.outcome.is_binary and relative.text != "—":
        relative = Cell(relative.text, tuple(effect_notes))
    else:
        difference = Cell(difference.text, tuple(effect_notes))
    statement = informative_statement(
        certainty.level,
        certainty.target,
        result.effect_ci()[0] < 0,
        selection.comparison.intervention or selection.comparison.experimental,
        selection.comparison.control,
        in_sentence(selection.outcome.short or selection.outcome.label),
    )
    comments = " ".join(t for t in (statement, grade.comment) if t)
    count_note = count.note()
    shown = scale and not selection.outcome.is_binary  # a binary row's label says it all
    label = f"{selection.outcome.label}" + (f": {scale}" if shown else "") + f"; {when}"
    if selection.evidence != "randomised":
        label += f"; {selection.evidence} studies"
    return SofRow(
        key=selection.outcome.key,
        outcome=Cell(label, tuple(outcome_notes), ctx.link),
        comparator=comparator,
        intervention=intervention,
        difference=difference,
        relative=relative,
        participants=Cell(count.text(result.k, ctx.design), (count_note,) if count_note else ()),
        certainty=certainty,
        certainty_notes=(),
        comments=Cell(comments),
        studies=result.k,
        design="randomised trials"
        if ctx.start == "high" and selection.evidence == "randomised"
        else f"{selection.evidence} studies",
        patients=patients(selection, records),
        domain_notes=domain_notes(certainty),
        sof_notes=sof_domain_notes(certainty),
        importance=selection.outcome.importance,
        harm=selection.outcome.harm,
        headline=ctx.headline,
    )


def effect_text(selection: Selection, est: float, lo: float, hi: float) -> str:
    """Return the effect in words, from analysis-scale numbers, in the outcome's measure.

    The effect in words, from analysis-scale numbers, in the outcome's measure: 'RR 0.37 (0.13 to
    1.02)', 'Peto OR …', 'MD 2.10 lower (…)', 'RD 0.02 higher (…)'.
    """
    outcome = selection.outcome
    if outcome.is_ratio:
        return fmt_ratio(outcome.measure_label, math.exp(est), math.exp(lo), math.exp(hi))
    return mean_difference_text(est, lo, hi, outcome.measure_label)


def bayes_footnote(
    bayes: BayesResult, selection: Selection, primary: bool, frequentist: str
) -> str:
    """Return the footnote of a Bayesian analysis.

    The footnote of a Bayesian analysis: its estimate with the credible interval and the prior in
    words (with its source); as the primary analysis, what it replaces.
    """
    pct = f"{100 * bayes.level:g}%"
    effect = effect_text(selection, bayes.mu_median, bayes.mu_ci_low, bayes.mu_ci_high)
    effect = effect.replace(" (", f" ({pct} CrI ", 1)
    source = bayes.options.get("prior_source", "")
    prior = f"{bayes.prior}" + (f"; prior source: {source}" if source else "")
    extra = ""
    if bayes.p_thresholds is not None:
        below, between, above = bayes.p_thresholds
        extra = (
            f" Posterior probability of an important reduction {100 * below:.0f}%, of little or "
            f"no difference {100 * between:.0f}%, of an important increase {100 * above:.0f}% "
            "(thresholds: the minimal important difference)."
        )
    if primary:
        return (
            f"Primary analysis: Bayesian random-effects model (posterior median and {pct} "
            f"credible interval, {effect}); imprecision is judged on the credible interval."
            f"{extra} Prior: {prior}. Frequentist random-effects model: {frequentist}."
        )
    return (
        f"Few studies (k = {bayes.k}): a Bayesian random-effects analysis gives {effect}.{extra} "
        f"Prior: {prior}."
    )


def empty_row(
    key: str, outcome: Cell, comment: Cell, importance: str = "", harm: bool = False
) -> SofRow:
    """Return a SoF row for an outcome without usable data (listed, not hidden)."""
    return SofRow(key=key, outcome=outcome, comments=comment, importance=importance, harm=harm)


def with_note(row: SofRow, note: str, cell: str = "relative") -> SofRow:
    """Return the row with one more footnote on one of its cells (default.

    The row with one more footnote on one of its cells (default: the relative effect for binary
    rows; sensitivity analyses and other analyses of the same question go there).
    """
    if cell == "certainty":
        return dataclasses.replace(row, certainty_notes=(*row.certainty_notes, note))
    target: Cell = getattr(row, cell)
    changes: dict[str, Any] = {cell: dataclasses.replace(target, notes=(*target.notes, note))}
    return dataclasses.replace(row, **changes)


__all__ = ["bayes_footnote", "effect_text", "empty_row", "sof_row", "with_note"]
