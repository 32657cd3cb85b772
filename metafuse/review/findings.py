"""From a pooled analysis to its summary-of-findings row, with GRADE certainty and footnotes."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from statistics import median

import pandas as pd

from metafuse.bayes import BayesResult
from metafuse.results import PooledResult
from metafuse.review.grade import DOMAINS, GradeInputs, StudyInfo, assess
from metafuse.review.records import StudyRecords
from metafuse.review.selection import Selection
from metafuse.review.sof import (
    SofRow,
    absolute_binary,
    fmt_ratio,
    mean_difference_text,
    per_1000,
)

LEVEL_WORDS = {1: "one level", 2: "two levels"}


def with_note(row: SofRow, note: str) -> SofRow:
    """Return the row with one more footnote."""
    return dataclasses.replace(row, footnotes=(*row.footnotes, note))


def empty_row(outcome: str, comment: str) -> SofRow:
    """Return a SoF row for an outcome without usable data (listed, not hidden)."""
    return SofRow(outcome, "—", "—", "—", "—", "—", 0, "—", None, comment)


def when(selection: Selection) -> str:
    """'follow-up about 2 years (12-30 months)' or 'longest follow-up'."""
    label = selection.window.label
    return label if selection.window.is_longest else f"follow-up {label}"


def _record_rows(records: StudyRecords, record_id: str) -> pd.DataFrame:
    o = records.outcomes
    return o[o["record_id"] == record_id]


def rob_overall(records: StudyRecords, report_id: str, outcome: str) -> str:
    """Return the overall RoB 2 judgement of a report for an outcome ('not assessed' when none)."""
    rob = records.risk_of_bias
    rows = rob[
        (rob["report_id"] == report_id)
        & (rob["domain"] == "overall")
        & rob["outcome"].isin(["all", outcome])
    ]
    specific = rows[rows["outcome"] == outcome]
    rows = specific if not specific.empty else rows
    return str(rows["judgement"].iloc[0]) if not rows.empty else "not assessed"


def rob_judgements(records: StudyRecords, report_id: str, outcome: str) -> dict[str, str]:
    """Return every RoB 2 judgement of a report for an outcome, by domain.

    Every RoB 2 judgement of a report for an outcome, domain -> judgement (the outcome's own rows
    over those for 'all'), in the order of risk_of_bias.csv.
    """
    rob = records.risk_of_bias
    rows = rob[(rob["report_id"] == report_id) & rob["outcome"].isin(["all", outcome])]
    out: dict[str, str] = {}
    for r in rows.itertuples(index=False):
        if r.outcome == outcome or r.domain not in out:
            out[str(r.domain)] = str(r.judgement)
    return out


def unassessed_domains(records: StudyRecords, report_id: str, outcome: str) -> int:
    """How many of the five RoB 2 domains of a report rest on 'not assessed' (or no row)."""
    rob = records.risk_of_bias
    rows = rob[
        (rob["report_id"] == report_id)
        & (rob["domain"] != "overall")
        & rob["outcome"].isin(["all", outcome])
    ]
    judged = set(rows.loc[rows["judgement"] != "not assessed", "domain"])
    return 5 - len(judged)


def study_infos(
    selection: Selection, result: PooledResult, records: StudyRecords
) -> list[StudyInfo]:
    """Return what GRADE needs about each pooled study, from the records behind it."""
    trials = records.trials.set_index("report_id")
    infos = []
    for s in result.studies:
        rows = _record_rows(records, selection.records[s.study])
        report = str(rows["report_id"].iloc[0])
        participants = control_risk = control_sd = None
        if rows["data_type"].iloc[0] == "arm":
            participants = float(rows["n"].sum())
            ctrl = rows[rows["arm"] == "ctrl"].iloc[0]
            if not pd.isna(ctrl["events"]):
                control_risk = float(ctrl["events"] / ctrl["n"])
            if not pd.isna(ctrl["sd"]):
                control_sd = float(ctrl["sd"])
        else:
            n = trials.loc[report, ["n_randomised_exp", "n_randomised_ctrl"]]
            if n.notna().all():
                participants = float(n.sum())
        infos.append(
            StudyInfo(
                s.study,
                s.weight_percent,
                rob_overall(records, report, selection.outcome.key),
                participants,
                control_risk,
                control_sd,
            )
        )
    return infos


def _scale(records: StudyRecords, selection: Selection) -> str:
    rows = records.outcomes[records.outcomes["record_id"].isin(list(selection.records.values()))]
    return str(rows["scale"].iloc[0]) if not rows.empty else ""


def _assumed_risk(grade: GradeInputs, infos: Sequence[StudyInfo], notes: list[str]) -> float | None:
    if grade.assumed_risk is not None:
        notes.append(
            f"Assumed comparator risk {per_1000(grade.assumed_risk)}: {grade.assumed_risk_source}."
        )
        return grade.assumed_risk
    risks = [i.control_risk for i in infos if i.control_risk is not None]
    if not risks:
        return None
    acr = median(risks)
    notes.append(
        f"Assumed comparator risk {per_1000(acr)}: median control-group risk of the "
        "included trials."
    )
    return acr


def _domain_notes(certainty: object, notes: list[str]) -> dict[str, str]:
    out = {}
    for d in certainty.domains:  # type: ignore[attr-defined]
        if d.downgrade:
            how = "judgement" if d.judged else "rule"
            extra = f"; the rule suggested {d.suggested}" if d.suggested else ""
            notes.insert(
                0,
                f"{d.domain.capitalize()}: rated down {LEVEL_WORDS[d.downgrade]} "
                f"({d.rating}; {how}): {d.explanation}{extra}.",
            )
        out[d.domain] = d.rating
    pub = certainty.domains[DOMAINS.index("publication bias")]  # type: ignore[attr-defined]
    if pub.downgrade == 0:
        notes.append(f"Publication bias: {pub.explanation}.")
    return out


def _provenance_notes(
    selection: Selection, records: StudyRecords, result: PooledResult, notes: list[str]
) -> None:
    if selection.weak:
        notes.append(
            "Rests partly on weak sources (meeting abstract, news or unverified quote): "
            + ", ".join(selection.weak)
            + "."
        )
    if selection.derived:
        notes.append(
            "Numbers derived by the library (a contrast reversed, a count from a "
            "percentage, ...): " + ", ".join(selection.derived) + "."
        )
    if selection.borrowed:
        notes.append(
            "SD borrowed from another trial on the same scale (approximate): "
            + ", ".join(selection.borrowed)
            + "; see the sensitivity analysis without them."
        )
    if selection.evidence != "randomised":
        notes.append(
            "Observational studies: certainty starts at low (GRADE); pooled apart from the "
            "randomised trials, whose row is separate (GRADE guidance 24)."
        )
    for label, reason in selection.incomplete:
        notes.append(f"Not pooled: {label}: {reason}.")
    reports = [
        str(_record_rows(records, selection.records[s.study])["report_id"].iloc[0])
        for s in result.studies
    ]
    unassessed = sum(unassessed_domains(records, r, selection.outcome.key) for r in reports)
    if unassessed:
        notes.append(
            f"Risk of bias: {unassessed} of {5 * len(reports)} RoB 2 domain judgements "
            f"of the {len(reports)} trial(s) are 'not assessed' (nothing known from the "
            "sources reached); the rule counts them as concerns."
        )


def _participants(infos: Sequence[StudyInfo], k: int, randomised: bool = True) -> str:
    known = [i.participants for i in infos if i.participants is not None]
    total = (
        f"{sum(known):.0f}"
        if len(known) == len(infos)
        else (f"≥ {sum(known):.0f}" if known else "not reported")
    )
    kind = ("RCT" if k == 1 else "RCTs") if randomised else ("study" if k == 1 else "studies")
    return f"{total} ({k} {kind if randomised else 'observational ' + kind})"


def _continuous_cells(
    selection: Selection, records: StudyRecords, infos: Sequence[StudyInfo], result: PooledResult
) -> tuple[str, str, str, str]:
    means = []
    for i in infos:
        rows = _record_rows(records, selection.records[i.label])
        ctrl = rows[rows["arm"] == "ctrl"]
        if not ctrl.empty and not pd.isna(ctrl["mean"].iloc[0]):
            means.append(float(ctrl["mean"].iloc[0]))
    comparator = (
        f"mean {min(means):g} to {max(means):g}"
        if len(means) > 1
        else f"mean {means[0]:g}"
        if means
        else "—"
    )
    text = mean_difference_text(*result.effect_ci())
    return comparator, text, text, "—"


def _effect_text(ratio: bool, est: float, lo: float, hi: float) -> str:
    return fmt_ratio("RR", est, lo, hi) if ratio else mean_difference_text(est, lo, hi)


def bayes_footnote(bayes: BayesResult, ratio: bool, primary: bool, frequentist: str) -> str:
    """Return the footnote of a Bayesian analysis.

    Its estimate with the credible interval and the prior in words (with its source); as the primary
    analysis, what it replaces.
    """
    pct = f"{100 * bayes.level:g}%"
    effect = _effect_text(ratio, bayes.mu_median, bayes.mu_ci_low, bayes.mu_ci_high)
    effect = effect.replace(" (", f" ({pct} CrI ", 1)
    source = bayes.options.get("prior_source", "")
    prior = f"{bayes.prior}" + (f"; prior source: {source}" if source else "")
    if primary:
        return (
            f"Primary analysis: Bayesian random-effects model (posterior median and {pct} "
            f"credible interval, {effect}), chosen in the analysis spec; imprecision is judged "
            f"on the credible interval. Prior: {prior}. Frequentist random-effects model: "
            f"{frequentist}."
        )
    return (
        f"Few studies (k = {bayes.k}): a Bayesian random-effects analysis gives {effect}. "
        f"Prior: {prior}."
    )


def sof_row(
    selection: Selection,
    result: PooledResult,
    records: StudyRecords,
    grade: GradeInputs,
    small_study: dict[str, dict[str, float]] | None = None,
    bayes: BayesResult | None = None,
    primary_bayes: bool = False,
) -> SofRow:
    """One SoF row for an analysis, with its GRADE rating and every footnote.

    With ``primary_bayes`` the effect cells and imprecision use the Bayesian posterior ``bayes``;
    otherwise a Bayesian analysis (few studies) becomes a footnote.
    """
    infos = study_infos(selection, result, records)
    randomised = selection.evidence == "randomised"
    label = f"{selection.outcome.label}: {_scale(records, selection)}; {when(selection)}"
    if not randomised:
        label += f"; {selection.evidence} studies"
    notes: list[str] = []
    if bayes is not None:
        frequentist = _effect_text(selection.ratio, *result.effect_ci())
        notes.append(bayes_footnote(bayes, selection.ratio, primary_bayes, frequentist))
        if primary_bayes:
            result = dataclasses.replace(
                result,
                estimate=bayes.mu_median,
                ci_low=bayes.mu_ci_low,
                ci_high=bayes.mu_ci_high,
            )
    acr = _assumed_risk(grade, infos, notes) if selection.ratio else None
    if grade.mid is not None:
        notes.append(f"Minimal important difference {grade.mid:g}: {grade.mid_source}.")
    certainty = assess(
        result,
        infos,
        ratio=selection.ratio,
        randomised=randomised,
        mid=grade.mid,
        control_risk=acr,
        indirectness=grade.indirectness,
        overrides=grade.overrides,
        small_study=small_study,
        interval="CrI" if primary_bayes and bayes is not None else "CI",
    )
    domain_notes = _domain_notes(certainty, notes)
    _provenance_notes(selection, records, result, notes)
    est, lo, hi = result.effect_ci()
    if selection.ratio:
        relative = fmt_ratio("RR", est, lo, hi)
        comparator, intervention, difference = "—", "—", "—"
        if acr is not None:
            comparator = per_1000(acr)
            intervention, difference = absolute_binary(
                acr, math.exp(est), math.exp(lo), math.exp(hi)
            )
    else:
        comparator, intervention, difference, relative = _continuous_cells(
            selection, records, infos, result
        )
    return SofRow(
        label,
        comparator,
        intervention,
        difference,
        relative,
        _participants(infos, result.k, randomised),
        result.k,
        patients(selection, records),
        certainty,
        grade.comment,
        tuple(notes),
        domain_notes,
    )


def patients(selection: Selection, records: StudyRecords) -> str:
    """'events/total (%) / events/total (%)' (binary) or 'n / n', when every trial has arms."""
    exp = ctrl = ev_e = ev_c = 0.0
    for rid in selection.records.values():
        rows = _record_rows(records, rid)
        if rows["data_type"].iloc[0] != "arm":
            return "not reported for every trial"
        e, c = rows[rows["arm"] == "exp"].iloc[0], rows[rows["arm"] == "ctrl"].iloc[0]
        exp, ctrl = exp + e["n"], ctrl + c["n"]
        if not pd.isna(e["events"]):
            ev_e, ev_c = ev_e + e["events"], ev_c + c["events"]
    if selection.ratio:
        return (
            f"{ev_e:.0f}/{exp:.0f} ({100 * ev_e / exp:.1f}%) / {ev_c:.0f}/{ctrl:.0f} "
            f"({100 * ev_c / ctrl:.1f}%)"
        )
    return f"{exp:.0f} / {ctrl:.0f}"
