"""From curated study records to the data of one analysis, and the report of what is missing.

:func:`analysis_data` picks, for one comparison x outcome x follow-up window, the primary record of
each trial and returns a DataFrame ready for :func:`metafuse.pool`: arm-level columns when every
trial gives arm-level data, otherwise generic inverse-variance rows (``yi``, ``sei``), which lets
arm-level and contrast-only trials be pooled together as RevMan does. Trials whose record lacks a
number are listed, never silently dropped. :func:`gaps` reports, per comparison, which trial x
outcome x time point has data, which is missing and which rests on a weak source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metafuse import effects
from metafuse.studies import (
    BINARY_OUTCOMES,
    COMPARISONS,
    CORE_OUTCOMES,
    OUTCOMES,
    WINDOW_LABELS,
    WINDOWS,
    StudyRecords,
)


@dataclass(frozen=True)
class AnalysisData:
    """Pool-ready data for one comparison x outcome x window, with what could not be used."""

    comparison: str
    outcome: str
    window: str
    #: ``RR`` or ``MD`` when every trial has arm-level data, else ``GEN`` on the same scale.
    measure: str
    frame: pd.DataFrame
    #: (study label, reason) for trials with a record that lacks a needed number.
    incomplete: tuple[tuple[str, str], ...] = ()
    #: Study labels whose numbers rest on a weak source.
    weak: tuple[str, ...] = ()
    #: Study labels whose numbers were derived (e.g. a contrast reversed, a count from a percent).
    derived: tuple[str, ...] = ()
    #: record_id used for each study label.
    records: dict[str, str] = field(default_factory=dict)

    @property
    def ratio(self) -> bool:
        """True when the data are risk ratios (arm-level RR, or GEN on the log scale)."""
        return self.outcome in BINARY_OUTCOMES


def study_label(trials: pd.DataFrame, report_id: str) -> str:
    """'First author year' for a report."""
    row = trials.set_index("report_id").loc[report_id]
    return f"{row['first_author']} {int(row['year'])}"


def _in_window(months: float, window: str) -> bool:
    lo, hi = WINDOWS[window]
    return not math.isnan(months) and lo <= months <= hi


def primary_records(
    records: StudyRecords, comparison: str, outcome: str, window: str, *, merge: bool = True
) -> list[pd.DataFrame]:
    """The primary record (its rows) of each trial for this comparison, outcome and window.

    Within a window a trial's latest time point is used; ``longest`` takes each trial's longest
    time point (a record without a stated time point counts only when the trial has no other).
    With ``merge`` (default) a merged report replaces its component trials, or the reverse, so
    that no patient is counted twice (see :func:`_drop_overlaps`).
    """
    trials = records.trials
    reports = trials.loc[trials["comparison"] == comparison, ["report_id", "trial", "year"]]
    o = records.outcomes
    # baseline records (time point 0) document the trials but never enter an outcome analysis
    o = o[(o["outcome"] == outcome) & (o["primary"] == "yes") & (o["timepoint_months"] != 0)]
    o = o.merge(reports, on="report_id")
    chosen: list[pd.DataFrame] = []
    for _, rows in o.groupby("trial", sort=False):
        months = rows["timepoint_months"].astype(float)
        if window == "longest":
            pick = rows[months == months.max()] if months.notna().any() else rows
        else:
            inside = rows[[_in_window(m, window) for m in months]]
            if inside.empty:
                continue
            pick = inside[inside["timepoint_months"] == inside["timepoint_months"].max()]
        record = pick["record_id"].iloc[0]
        chosen.append(rows[rows["record_id"] == record])
    if merge:
        chosen = _drop_overlaps(chosen, trials)
    chosen.sort(key=lambda r: (int(r["year"].iloc[0]), str(r["report_id"].iloc[0])))
    return chosen


def _drop_overlaps(chosen: list[pd.DataFrame], trials: pd.DataFrame) -> list[pd.DataFrame]:
    """Never count a patient twice: where a report merges trials (``includes`` in trials.csv)
    and both the merged report and a component trial were chosen, keep the later time point
    (the merged report on a tie) and drop the other."""
    includes = {
        r.trial: {p.strip() for p in str(r.includes).split(";") if p.strip()}
        for r in trials.itertuples(index=False)
        if isinstance(r.includes, str) and r.includes.strip()
    }
    by_trial = {str(r["trial"].iloc[0]): r for r in chosen}
    drop: set[str] = set()
    for merged, parts in includes.items():
        if merged not in by_trial:
            continue
        present = [p for p in parts if p in by_trial]
        if not present:
            continue
        t_merged = float(by_trial[merged]["timepoint_months"].iloc[0])
        t_parts = max(float(by_trial[p]["timepoint_months"].iloc[0]) for p in present)
        if t_merged >= t_parts or math.isnan(t_parts):
            drop.update(present)
        else:
            drop.add(merged)
    return [r for r in chosen if str(r["trial"].iloc[0]) not in drop]


def _missing_numbers(rows: pd.DataFrame, binary: bool) -> list[str]:
    if rows["data_type"].iloc[0] == "contrast":
        return []
    need = ("events", "n") if binary else ("mean", "sd", "n")
    missing = []
    for arm in ("exp", "ctrl"):
        row = rows[rows["arm"] == arm].iloc[0]
        missing += [f"{col} ({arm})" for col in need if pd.isna(row[col])]
    return missing


def analysis_data(
    records: StudyRecords, comparison: str, outcome: str, window: str
) -> AnalysisData:
    """Pool-ready data for one analysis (see the module docstring)."""
    if comparison not in COMPARISONS:
        raise ValueError(
            f"unknown comparison {comparison!r}; choose one of {', '.join(COMPARISONS)}"
        )
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
    if window not in (*WINDOWS, "longest"):
        raise ValueError(f"unknown window {window!r}; choose one of 2y, 5y, longest")
    binary = outcome in BINARY_OUTCOMES
    usable, incomplete, weak, derived, used = [], [], [], [], {}
    for rows in primary_records(records, comparison, outcome, window):
        label = study_label(records.trials, rows["report_id"].iloc[0])
        missing = _missing_numbers(rows, binary)
        if missing:
            incomplete.append((label, "missing " + ", ".join(missing)))
            continue
        if rows["data_type"].iloc[0] == "contrast":
            expected = ("RR",) if binary else ("MD",)
            if rows["measure"].iloc[0] not in expected:
                incomplete.append((label, f"contrast given as {rows['measure'].iloc[0]}"))
                continue
        usable.append((label, rows))
        used[label] = str(rows["record_id"].iloc[0])
        if (rows["weak"] == "yes").any():
            weak.append(label)
        if rows["derivation"].notna().any():
            derived.append(label)
    all_arms = all(r["data_type"].iloc[0] == "arm" for _, r in usable)
    if all_arms:
        measure, frame = ("RR" if binary else "MD"), _arm_frame(usable, binary)
    else:
        measure, frame = "GEN", _generic_frame(usable, binary)
    return AnalysisData(
        comparison=comparison, outcome=outcome, window=window, measure=measure, frame=frame,
        incomplete=tuple(incomplete), weak=tuple(weak), derived=tuple(derived), records=used,
    )  # fmt: skip


def _arm(rows: pd.DataFrame, arm: str) -> pd.Series:
    return rows[rows["arm"] == arm].iloc[0]


def _arm_frame(usable: list[tuple[str, pd.DataFrame]], binary: bool) -> pd.DataFrame:
    out = []
    for label, rows in usable:
        e, c = _arm(rows, "exp"), _arm(rows, "ctrl")
        if binary:
            out.append({"study": label, "events_exp": e["events"], "n_exp": e["n"],
                        "events_ctrl": c["events"], "n_ctrl": c["n"]})  # fmt: skip
        else:
            out.append({"study": label, "mean_exp": e["mean"], "sd_exp": e["sd"], "n_exp": e["n"],
                        "mean_ctrl": c["mean"], "sd_ctrl": c["sd"], "n_ctrl": c["n"]})  # fmt: skip
    binary_columns = ["study", "events_exp", "n_exp", "events_ctrl", "n_ctrl"]
    continuous_columns = ["study", "mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl"]
    columns = binary_columns if binary else continuous_columns
    return pd.DataFrame(out, columns=columns)


def _generic_frame(usable: list[tuple[str, pd.DataFrame]], binary: bool) -> pd.DataFrame:
    out = []
    for label, rows in usable:
        if rows["data_type"].iloc[0] == "contrast":
            r = rows.iloc[0]
            yi, sei = effects.from_confidence_interval(
                r["estimate"], r["ci_low"], r["ci_high"], ratio=binary
            )
        else:
            e, c = _arm(rows, "exp"), _arm(rows, "ctrl")
            if binary:
                y, v = effects.risk_ratio([e["events"]], [e["n"]], [c["events"]], [c["n"]])
            else:
                y, v = effects.mean_difference(
                    [e["mean"]], [e["sd"]], [e["n"]], [c["mean"]], [c["sd"]], [c["n"]]
                )
            yi, sei = y[0], np.sqrt(v[0])
        out.append({"study": label, "yi": float(yi), "sei": float(sei)})
    return pd.DataFrame(out, columns=["study", "yi", "sei"])


# --- gaps ---------------------------------------------------------------------------------------


def gaps(records: StudyRecords) -> dict[str, list[dict[str, str]]]:
    """Per comparison: one entry per trial x core outcome x window with its status.

    Status is ``data``, ``data (weak source)``, ``incomplete: ...`` or ``missing``.
    """
    out: dict[str, list[dict[str, str]]] = {}
    trials = records.trials
    for comparison in COMPARISONS:
        rows = []
        sub = trials[trials["comparison"] == comparison].sort_values(["year", "report_id"])
        for trial in dict.fromkeys(sub["trial"]):
            for outcome in CORE_OUTCOMES:
                for window in (*WINDOWS, "longest"):
                    found = [r for r in primary_records(records, comparison, outcome, window,
                                                        merge=False)
                             if r["trial"].iloc[0] == trial]  # fmt: skip
                    if not found:
                        status = "missing"
                    else:
                        r = found[0]
                        missing = _missing_numbers(r, outcome in BINARY_OUTCOMES)
                        months = r["timepoint_months"].iloc[0]
                        when = "time point not stated" if pd.isna(months) else f"{months:g} months"
                        if missing:
                            status = f"incomplete ({when}): missing " + ", ".join(missing)
                        else:
                            weak = " (weak source)" if (r["weak"] == "yes").any() else ""
                            status = f"data ({when}){weak}"
                    rows.append({"trial": trial, "outcome": outcome, "window": window,
                                 "status": status})  # fmt: skip
        out[comparison] = rows
    return out


SHORT_OUTCOMES = {"odi": "ODI", "back_pain": "back pain", "leg_pain": "leg pain",
                  "complications": "complications", "reoperation": "reoperation"}  # fmt: skip


def _short(status: str) -> str:
    """Compact status for the matrix: 'data 24m', 'weak 24m', 'incomplete 60m', '-'."""
    if status == "missing":
        return "-"
    when = status[status.index("(") + 1 : status.index(")")]
    when = "t?" if when.startswith("time point") else when.replace(" months", "m")
    if status.startswith("incomplete"):
        return f"incomplete {when}"
    return f"{'weak' if 'weak source' in status else 'data'} {when}"


def format_gaps(records: StudyRecords) -> str:
    """The gaps report as text: per comparison a trial x outcome matrix over the three windows,
    then the details of every incomplete cell and the list of weak sources."""
    lines: list[str] = []
    details: list[str] = []
    for comparison, rows in gaps(records).items():
        lines.append(f"Comparison {comparison}: {COMPARISONS[comparison]}")
        have = sum(r["status"].startswith("data") for r in rows)
        lines.append(f"{have} of {len(rows)} trial x outcome x time point cells have usable data")
        header = f"  {'trial':<34} {'outcome':<14} {'~2 years':<16} {'~5 years':<16} longest"
        lines += [header, "  " + "-" * (len(header) - 2)]
        for i in range(0, len(rows), 3):
            cells = rows[i : i + 3]
            trial, outcome = cells[0]["trial"], SHORT_OUTCOMES[cells[0]["outcome"]]
            s2, s5, sl = (_short(c["status"]) for c in cells)
            lines.append(f"  {trial[:34]:<34} {outcome:<14} {s2:<16} {s5:<16} {sl}")
            for c in cells:
                if c["status"].startswith("incomplete"):
                    details.append(f"  {comparison} {c['trial']}, {SHORT_OUTCOMES[c['outcome']]}, "
                                   f"{WINDOW_LABELS[c['window']]}: {c['status']}")  # fmt: skip
        lines.append("")
    lines.append("data = usable; weak = usable but from a weak source; incomplete = a number is "
                 "missing; - = nothing found; t? = time point not stated")  # fmt: skip
    if details:
        lines += ["", "Incomplete records:", *dict.fromkeys(details)]
    weak_sources = records.sources[records.sources["strength"] == "weak"]
    lines += ["", "Weak sources (meeting abstracts, news, commentaries, unverified quotes):"]
    lines += [f"  {r.source_id}: {r.kind}" for r in weak_sources.itertuples(index=False)]
    return "\n".join(lines)
