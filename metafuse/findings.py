"""From fitted analyses to GRADE summary-of-findings tables (one per comparison)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median
from typing import TYPE_CHECKING

import pandas as pd

from metafuse.grade import DOMAINS, StudyInfo, assess
from metafuse.sof import (
    SofRow,
    SofTable,
    absolute_binary,
    fmt_ratio,
    mean_difference_text,
    per_1000,
)
from metafuse.studies import COMPARISONS, CORE_OUTCOMES, OUTCOMES, WINDOW_LABELS, StudyRecords

if TYPE_CHECKING:
    from metafuse.analysis import AnalysisOutcome

GRADE_KEYS = {
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "publication_bias": "publication bias",
}
LEVEL_WORDS = {1: "one level", 2: "two levels"}


def _sensitivity_note(o: AnalysisOutcome) -> str:
    if o.spec.subgroup is not None:
        t = o.subgroup_test
        if t is None:
            return f"Subgroup analysis by {o.spec.subgroup}: a single subgroup, no test."
        return (
            f"Subgroup analysis by {o.spec.subgroup} ({', '.join(t['groups'])}): test for "
            f"subgroup differences Chi² = {t['Q_between']:.2f}, df = {t['Q_between_df']}, "
            f"P = {t['Q_between_pval']:.2f}."
        )
    left_out = "; ".join(f"{label} ({reason})" for label, reason in o.excluded)
    if o.result is None:
        return f"Sensitivity analysis '{o.spec.title}' leaving out {left_out}: no studies remain."
    r, ratio = o.result, o.data.ratio  # type: ignore[union-attr]
    est = (
        fmt_ratio("RR", r.estimate, r.ci_low, r.ci_high)
        if ratio
        else mean_difference_text(r.estimate, r.ci_low, r.ci_high)
    )
    return f"Sensitivity analysis leaving out {left_out}: {est} ({r.k} studies)."


def _with_note(row: SofRow, note: str) -> SofRow:
    import dataclasses

    return dataclasses.replace(row, footnotes=(*row.footnotes, note))


def _empty_row(outcome: str, comment: str) -> SofRow:
    """A SoF row for an outcome without usable data (listed, not hidden)."""
    return SofRow(outcome, "—", "—", "—", "—", "—", 0, "—", None, comment)


def _when(window: str) -> str:
    label = WINDOW_LABELS[window]
    return label if window == "longest" else f"follow-up {label}"


def _record_rows(records: StudyRecords, record_id: str) -> pd.DataFrame:
    o = records.outcomes
    return o[o["record_id"] == record_id]


def _rob(records: StudyRecords, report_id: str, outcome: str) -> str:
    rob = records.risk_of_bias
    rows = rob[
        (rob["report_id"] == report_id)
        & (rob["domain"] == "overall")
        & rob["outcome"].isin(["all", outcome])
    ]
    return str(rows["judgement"].iloc[0]) if not rows.empty else "not assessed"


def study_infos(outcome: AnalysisOutcome, records: StudyRecords) -> list[StudyInfo]:
    """What GRADE needs about each pooled study, from the records behind it."""
    assert outcome.result is not None
    assert outcome.data is not None
    trials = records.trials.set_index("report_id")
    infos = []
    for s in outcome.result.studies:
        rows = _record_rows(records, outcome.data.records[s.study])
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
                _rob(records, report, outcome.data.outcome),
                participants,
                control_risk,
                control_sd,
            )
        )
    return infos


def _scale(records: StudyRecords, outcome: AnalysisOutcome) -> str:
    assert outcome.data is not None
    rids = list(outcome.data.records.values())
    rows = records.outcomes[records.outcomes["record_id"].isin(rids)]
    return str(rows["scale"].iloc[0]) if not rows.empty else ""


def sof_row(outcome: AnalysisOutcome, records: StudyRecords) -> SofRow:
    """One SoF row for an analysis (with its GRADE rating), or a 'no usable data' row."""
    spec, data, result = outcome.spec, outcome.data, outcome.result
    assert data is not None
    grade = dict(spec.grade)
    name = f"{OUTCOMES[data.outcome]}; {_when(data.window)}"
    if result is None:
        reasons = "; ".join(f"{label}: {why}" for label, why in data.incomplete)
        return _empty_row(name, "No usable data" + (f" ({reasons})" if reasons else ""))
    infos = study_infos(outcome, records)
    scale = _scale(records, outcome)
    label = f"{OUTCOMES[data.outcome]}: {scale}; {_when(data.window)}"
    notes: list[str] = []
    risks = [i.control_risk for i in infos if i.control_risk is not None]
    acr = grade.get("assumed_risk")
    if data.ratio:
        if acr is not None:
            notes.append(
                f"Assumed comparator risk {per_1000(acr)}: {grade['assumed_risk_source']}."
            )
        elif risks:
            acr = median(risks)
            notes.append(
                f"Assumed comparator risk {per_1000(acr)}: median control-group risk of "
                "the included trials."
            )
    mid = grade.get("mid")
    if mid is not None:
        notes.append(f"Minimal important difference {mid:g}: {grade['mid_source']}.")
    overrides = {
        GRADE_KEYS[k]: (v["rating"], v["reason"]) for k, v in grade.get("overrides", {}).items()
    }
    indirect = grade.get("indirectness")
    certainty = assess(
        result,
        infos,
        ratio=data.ratio,
        mid=mid,
        control_risk=acr,
        indirectness=(indirect["rating"], indirect["reason"]) if indirect else None,
        overrides=overrides,
        small_study=outcome.small_study,
    )
    domain_notes = {}
    for d in certainty.domains:
        if d.downgrade:
            how = "judgement" if d.judged else "rule"
            extra = f"; the rule suggested {d.suggested}" if d.suggested else ""
            notes.insert(
                0,
                f"{d.domain.capitalize()}: rated down {LEVEL_WORDS[d.downgrade]} "
                f"({d.rating}; {how}): {d.explanation}{extra}.",
            )
        domain_notes[d.domain] = d.rating
    if certainty.domains[DOMAINS.index("publication bias")].downgrade == 0:
        notes.append(f"Publication bias: {certainty.domains[-1].explanation}.")
    if data.weak:
        notes.append(
            "Rests partly on weak sources (meeting abstract or unverified quote): "
            + ", ".join(data.weak)
            + "."
        )
    if data.derived:
        notes.append(
            "Contrasts reversed to experimental minus control by the library: "
            + ", ".join(data.derived)
            + "."
        )
    known = [i.participants for i in infos if i.participants is not None]
    total = (
        f"{sum(known):.0f}"
        if len(known) == len(infos)
        else (f"≥ {sum(known):.0f}" if known else "not reported")
    )
    participants = f"{total} ({result.k} {'RCT' if result.k == 1 else 'RCTs'})"
    lo, hi, est = result.ci_low, result.ci_high, result.estimate
    if data.ratio:
        relative = fmt_ratio("RR", est, lo, hi)
        if acr is not None:
            comparator = per_1000(acr)
            intervention, difference = absolute_binary(
                acr, math.exp(est), math.exp(lo), math.exp(hi)
            )
        else:
            comparator, intervention, difference = "—", "—", "—"
    else:
        relative = "—"
        means = []
        for i in infos:
            rows = _record_rows(records, data.records[i.label])
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
        intervention = difference = mean_difference_text(est, lo, hi)
    patients = _patients(outcome, records)
    comment = str(grade.get("comment", ""))
    return SofRow(
        label,
        comparator,
        intervention,
        difference,
        relative,
        participants,
        result.k,
        patients,
        certainty,
        comment,
        tuple(notes),
        domain_notes,
    )


def _patients(outcome: AnalysisOutcome, records: StudyRecords) -> str:
    assert outcome.data is not None
    exp = ctrl = 0.0
    ev_e = ev_c = 0.0
    for rid in outcome.data.records.values():
        rows = _record_rows(records, rid)
        if rows["data_type"].iloc[0] != "arm":
            return "not reported for every trial"
        e, c = rows[rows["arm"] == "exp"].iloc[0], rows[rows["arm"] == "ctrl"].iloc[0]
        exp, ctrl = exp + e["n"], ctrl + c["n"]
        if not pd.isna(e["events"]):
            ev_e, ev_c = ev_e + e["events"], ev_c + c["events"]
    if outcome.data.ratio:
        return (
            f"{ev_e:.0f}/{exp:.0f} ({100 * ev_e / exp:.1f}%) / {ev_c:.0f}/{ctrl:.0f} "
            f"({100 * ev_c / ctrl:.1f}%)"
        )
    return f"{exp:.0f} / {ctrl:.0f}"


def sof_table(
    comparison: str, outcomes: Sequence[AnalysisOutcome], records: StudyRecords
) -> SofTable:
    """The SoF table of one comparison: its analyses in outcome order, then the core outcomes
    that no analysis covers (listed as having no data)."""
    mine = [
        o
        for o in outcomes
        if o.data is not None and o.data.comparison == comparison and not o.spec.is_secondary
    ]
    sensitivity = [
        o
        for o in outcomes
        if o.data is not None and o.data.comparison == comparison and o.spec.is_secondary
    ]
    order = {key: i for i, key in enumerate(OUTCOMES)}
    windows = {w: i for i, w in enumerate(("2y", "5y", "longest"))}
    mine.sort(key=lambda o: (order[o.data.outcome], windows[o.data.window]))  # type: ignore[union-attr]
    rows = []
    for o in mine:
        row = sof_row(o, records)
        for sens in sensitivity:
            if (sens.data.outcome, sens.data.window) == (o.data.outcome, o.data.window):  # type: ignore[union-attr]
                row = _with_note(row, _sensitivity_note(sens))
        rows.append(row)
    covered = {o.data.outcome for o in mine}  # type: ignore[union-attr]
    for key in CORE_OUTCOMES:
        if key not in covered:
            rows.append(
                _empty_row(
                    f"{OUTCOMES[key]}; any follow-up",
                    "No trial reported usable data (see metafuse gaps)",
                )
            )
    return SofTable(
        title=f"Summary of findings: comparison {comparison}",
        subtitle=f"{COMPARISONS[comparison]}. Patients: see studies/trials.csv. Effects are "
        "experimental minus (or over) control; random-effects models as in each spec.",
        rows=tuple(rows),
    )
