"""What a SoF row needs to know about the studies it pools, read from their records.

What a SoF row needs to know about the studies it pools, read from their records: risk of bias by
RoB 2 domain, participants (counted one way per row: analysed, else randomised), control-arm risks
and SDs, the follow-up months actually pooled, and the trials that could not be pooled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from metafuse.results import PooledResult
from metafuse.review.grade import RISK_OF_BIAS_DOMAINS, StudyInfo, n_studies
from metafuse.review.records import StudyRecords
from metafuse.review.selection import Selection, merged_trials


def record_rows(records: StudyRecords, record_id: str) -> pd.DataFrame:
    """Return the rows of one record of outcomes.csv."""
    o = records.outcomes
    by_id = records.memo("records by id", lambda: dict(iter(o.groupby("record_id", sort=False))))
    found = by_id.get(record_id)
    return o.iloc[:0] if found is None else found


def report_of(selection: Selection, records: StudyRecords, label: str) -> str:
    """Return the report_id behind a pooled study label."""
    return str(record_rows(records, selection.records[label])["report_id"].iloc[0])


def rob_judgements(records: StudyRecords, report_id: str, outcome: str) -> dict[str, str]:
    """Every RoB 2 judgement of a report for an outcome, domain -> judgement.

    Every RoB 2 judgement of a report for an outcome, domain -> judgement (the outcome's own rows
    over those for 'all'), in the order of risk_of_bias.csv.
    """

    def compute() -> dict[str, str]:
        rob = records.risk_of_bias
        rows = rob[(rob["report_id"] == report_id) & rob["outcome"].isin(["all", outcome])]
        out: dict[str, str] = {}
        for r in rows.itertuples(index=False):
            if r.outcome == outcome or r.domain not in out:
                out[str(r.domain)] = str(r.judgement)
        return out

    return dict(records.memo(("rob judgements", report_id, outcome), compute))


def rob_by_code(records: StudyRecords, report_id: str, outcome: str) -> dict[str, str]:
    """Return the judgements keyed by domain code: D1..D5 and overall."""
    judged = rob_judgements(records, report_id, outcome)
    return {k.split(" ")[0]: v for k, v in judged.items()}


def rob_overall(records: StudyRecords, report_id: str, outcome: str) -> str:
    """Return the overall RoB 2 judgement of a report for an outcome ('not assessed' when none)."""
    return rob_by_code(records, report_id, outcome).get("overall", "not assessed")


def unassessed_domains(records: StudyRecords, report_id: str, outcome: str) -> int:
    """How many of the five RoB 2 domains of a report rest on 'not assessed' (or no row)."""
    judged = rob_by_code(records, report_id, outcome)
    return sum(judged.get(d, "not assessed") == "not assessed" for d in RISK_OF_BIAS_DOMAINS)


SINGULAR = {"RCTs": "RCT", "observational studies": "observational study", "studies": "study"}


@dataclass(frozen=True)
class Participants:
    """The participants of a row, counted one way: 'analysed' or 'randomised'."""

    total: float | None
    basis: str
    #: Study labels whose count is not reported.
    unknown: tuple[str, ...] = ()
    #: Studies of the analysis that do not enter the pooled estimate (not counted), and why.
    left_out: tuple[str, ...] = ()
    left_out_why: str = ""
    #: Trials behind the studies counted, when a merged report (``includes``) stands for more
    #: than one; and the counts taken from the trials a report follows up.
    trials: int | None = None
    followed_up: tuple[str, ...] = ()

    def text(self, k: int, design: str) -> str:
        """'267 randomised (1 RCT)' / '≥ 284 analysed (3 RCTs)'."""
        k = self.trials if self.trials is not None else k
        kind = design if k != 1 else SINGULAR.get(design, design)
        if self.total is None:
            return f"not reported ({k} {kind})"
        prefix = "≥ " if self.unknown else ""
        return f"{prefix}{self.total:.0f} {self.basis} ({k} {kind})"

    def note(self) -> str | None:
        """Why the count is a lower bound, and which studies it leaves out; or None."""
        parts = []
        if self.unknown:
            lower = ", so the total is a lower bound" if self.total is not None else ""
            parts.append(
                f"Participants {self.basis}; not reported for {', '.join(self.unknown)}{lower}."
            )
        if self.followed_up:
            parts.append(
                "Randomised in the trials a report follows up: " + "; ".join(self.followed_up) + "."
            )
        if self.left_out:
            parts.append(
                f"Not counted: {n_studies(len(self.left_out))} that do not enter the pooled "
                f"estimate, {', '.join(self.left_out)}; reason: {self.left_out_why}."
            )
        return " ".join(parts) or None


def _counts(
    selection: Selection, records: StudyRecords, label: str
) -> tuple[float | None, float | None]:
    """(analysed, randomised) participants of one pooled study."""
    rows = record_rows(records, selection.records[label])
    analysed = None
    if rows["data_type"].iloc[0] == "arm" and rows["n"].notna().all():
        analysed = float(rows["n"].sum())
    return analysed, _randomised(records.trials_by_report().loc[str(rows["report_id"].iloc[0])])


def _randomised(trial: pd.Series) -> float | None:
    """Return the randomised participants a trials.csv row gives (both arms, or the total)."""
    arms = trial[["n_randomised_exp", "n_randomised_ctrl"]]
    if arms.notna().all():
        return float(arms.sum())
    total = trial.get("n_randomised")
    return None if total is None or pd.isna(total) else float(total)


def included_trials(records: StudyRecords, report_id: str) -> tuple[str, ...]:
    """Return the trials a merged report includes (``includes``); () for a report of one trial."""
    trial = str(records.trials_by_report().at[report_id, "trial"])
    return merged_trials(records).get(trial, ())


def followed_up_randomised(records: StudyRecords, report_id: str) -> tuple[float, str] | None:
    """Randomised participants of a merged report that prints none: those of its trials.

    A follow-up report of trials (``includes``) follows the participants those trials
    randomised: its randomised count is their sum, when every included trial has a report that
    gives one. Returns the total and how it was formed, or None.
    """
    table = records.trials
    parts = []
    for name in included_trials(records, report_id):
        counts = [
            (str(r["report_id"]), _randomised(r))
            for _, r in table[table["trial"] == name].iterrows()
        ]
        known = [
            (rid, n) for rid, n in counts if n is not None and not included_trials(records, rid)
        ]
        if not known:
            return None
        parts.append((records.label(known[0][0]), known[0][1]))
    if not parts:
        return None
    total = sum(n for _, n in parts)
    how = (
        f"{records.label(report_id)}: {total:.0f} ("
        + "; ".join(f"{lab} {n:.0f}" for lab, n in parts)
        + ")"
    )
    return total, how


def participants(
    selection: Selection, records: StudyRecords, labels: Sequence[str]
) -> Participants:
    """Participants counted one way.

    Participants counted one way: analysed when every study reports them, else randomised (the
    studies that report neither are named, and the total is a lower bound).
    """
    counts = {label: _counts(selection, records, label) for label in labels}
    reports = {label: report_of(selection, records, label) for label in labels}
    merged = {label: len(included_trials(records, reports[label])) for label in labels}
    trials = sum(n or 1 for n in merged.values()) if any(merged.values()) else None
    if all(c[0] is not None for c in counts.values()):
        analysed = sum(float(c[0] or 0) for c in counts.values())
        return Participants(analysed, "analysed", trials=trials)
    followed: list[str] = []
    for label, (in_analysis, randomised) in counts.items():
        if randomised is None:
            derived = followed_up_randomised(records, reports[label])
            if derived is not None:
                counts[label] = (in_analysis, derived[0])
                followed.append(derived[1])
    known = [float(c[1]) for c in counts.values() if c[1] is not None]
    missing = tuple(lab for lab, c in counts.items() if c[1] is None)
    total = sum(known) if known else None
    return Participants(total, "randomised", missing, trials=trials, followed_up=tuple(followed))


def study_infos(
    selection: Selection, result: PooledResult, records: StudyRecords
) -> list[StudyInfo]:
    """Return what GRADE needs about each pooled study, from the records behind it."""
    infos = []
    outcome = selection.outcome.key
    for s in result.studies:
        rows = record_rows(records, selection.records[s.study])
        report = str(rows["report_id"].iloc[0])
        analysed, randomised = _counts(selection, records, s.study)
        control_risk = control_sd = None
        if rows["data_type"].iloc[0] == "arm":
            ctrl = rows[rows["arm"] == "ctrl"].iloc[0]
            if not pd.isna(ctrl["events"]) and not pd.isna(ctrl["n"]):
                control_risk = float(ctrl["events"] / ctrl["n"])
            if not pd.isna(ctrl["sd"]):
                control_sd = float(ctrl["sd"])
        judgements = rob_by_code(records, report, outcome)
        infos.append(
            StudyInfo(
                label=s.study,
                weight=s.weight_percent,
                risk_of_bias=judgements.get("overall", "not assessed"),
                participants=analysed if analysed is not None else randomised,
                control_risk=control_risk,
                control_sd=control_sd,
                rob_domains={k: v for k, v in judgements.items() if k != "overall"},
            )
        )
    return infos


def months_pooled(selection: Selection, records: StudyRecords) -> dict[str, float | None]:
    """Study label -> the time point (months) of the record pooled (None when not stated)."""
    out: dict[str, float | None] = {}
    for label, record in selection.records.items():
        value = record_rows(records, record)["timepoint_months"].iloc[0]
        out[label] = None if pd.isna(value) else float(value)
    return out


def _months(values: Sequence[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:g} months" if lo == hi else f"{lo:g} to {hi:g} months"


def follow_up(selection: Selection, records: StudyRecords) -> tuple[str, str | None]:
    """Return the follow-up words of a row, from the months actually pooled.

    The follow-up words of a row, from the months actually pooled, and a note giving each study's
    months when they differ (or are not stated).
    """
    months = months_pooled(selection, records)
    stated = [m for m in months.values() if m is not None]
    unstated = len(months) - len(stated)
    missing = f" (not stated for {n_studies(unstated)})" if unstated else ""
    span = _months(stated) + missing if stated else ""
    if selection.window.is_longest:
        text = "longest follow-up" + (f": {span}" if stated else "")
    else:
        text = f"follow-up {span}" if stated else f"follow-up {selection.window.label}"
    distinct = {m for m in months.values()}
    if len(distinct) <= 1 and None not in distinct:
        return text, None
    parts = [
        f"{label} {'not stated' if m is None else f'{m:g} months'}" for label, m in months.items()
    ]
    return text, "Follow-up pooled, by study: " + "; ".join(parts) + "."


def control_means(selection: Selection, records: StudyRecords) -> list[float]:
    """Return the control-arm means of the pooled arm-level records."""
    out = []
    for record in selection.records.values():
        rows = record_rows(records, record)
        ctrl = rows[rows["arm"] == "ctrl"]
        if not ctrl.empty and not pd.isna(ctrl["mean"].iloc[0]):
            out.append(float(ctrl["mean"].iloc[0]))
    return out


def scale_of(selection: Selection, records: StudyRecords) -> str:
    """Return the scale text of the pooled records ('ODI 0-100 (lower is better)')."""
    rows = records.outcomes[records.outcomes["record_id"].isin(list(selection.records.values()))]
    return str(rows["scale"].iloc[0]) if not rows.empty else ""


def patients(selection: Selection, records: StudyRecords) -> str:
    """'events/total (%) / events/total (%)' (binary) or 'n / n', when every trial has arms."""
    exp = ctrl = ev_e = ev_c = 0.0
    kinds = {
        str(record_rows(records, rid)["data_type"].iloc[0]) for rid in selection.records.values()
    }
    if kinds == {"contrast"} and not selection.outcome.is_binary:
        return _randomised_arms(selection, records)
    for rid in selection.records.values():
        rows = record_rows(records, rid)
        if rows["data_type"].iloc[0] != "arm":
            return "not reported for every trial"
        e, c = rows[rows["arm"] == "exp"].iloc[0], rows[rows["arm"] == "ctrl"].iloc[0]
        exp, ctrl = exp + e["n"], ctrl + c["n"]
        if not pd.isna(e["events"]):
            ev_e, ev_c = ev_e + e["events"], ev_c + c["events"]
    if selection.outcome.is_binary:
        return (
            f"{ev_e:.0f}/{exp:.0f} ({100 * ev_e / exp:.1f}%) / {ev_c:.0f}/{ctrl:.0f} "
            f"({100 * ev_c / ctrl:.1f}%)"
        )
    return f"{exp:.0f} / {ctrl:.0f}"


def _randomised_arms(selection: Selection, records: StudyRecords) -> str:
    """'133 / 134 randomised' for contrast records, from trials.csv's arms (when all give them)."""
    trials = records.trials_by_report()
    exp = ctrl = 0.0
    for label in selection.records:
        arms = trials.loc[report_of(selection, records, label)][
            ["n_randomised_exp", "n_randomised_ctrl"]
        ]
        if arms.isna().any():
            return "not reported for every trial"
        exp, ctrl = exp + float(arms.iloc[0]), ctrl + float(arms.iloc[1])
    return f"{exp:.0f} / {ctrl:.0f} randomised"
