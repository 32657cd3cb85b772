"""From curated records to the data of one analysis: comparison x outcome x follow-up window.

:func:`select` picks, for each trial, its primary record in the window and returns a
:class:`Selection` ready for :func:`metafuse.pool`: arm-level columns when every trial gives
arm-level data, otherwise generic inverse-variance rows (``yi``, ``sei``) in the outcome's measure
(``review.toml``: RR, OR or RD; MD or SMD), which lets arm-level and contrast-only trials be pooled
together as RevMan does. An outcome pooled by Mantel-Haenszel or Peto takes 2x2 tables only: a
contrast record is then listed as not pooled, with the reason. Trials whose record lacks a number
are listed with the reason, never silently dropped. A merged report and its
component trials never both enter (``includes`` in trials.csv): no patient is counted twice.

Randomised and observational studies are never pooled together: each design in trials.csv has its
GRADE starting level (review.toml ``[designs]``: high for randomised trials, low for cohort and
case-control studies), and a selection takes one evidence group. GRADE rates the certainty of the
two bodies of evidence separately (Cuello-Garcia CA, Santesso N, Morgan RL, et al. GRADE
guidance 24: optimizing the integration of randomized and non-randomized studies of
interventions. J Clin Epidemiol 2022;142:200-208), so each gets its own analysis and SoF row.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metafuse.effects import (
    from_confidence_interval,
    mean_difference,
    odds_ratio,
    risk_difference,
    risk_ratio,
    standardized_mean_difference,
)
from metafuse.measures import TABLE_METHODS
from metafuse.review.derivations import BORROW_DERIVATIONS, derivation_name
from metafuse.review.records import StudyRecords, year_key
from metafuse.review.vocabulary import Comparison, Outcome, Window

#: Evidence groups, each with the GRADE starting level of the designs it takes.
EVIDENCE = {"randomised": "high", "observational": "low"}

ARM_COLUMNS = {
    "binary": ("events_exp", "n_exp", "events_ctrl", "n_ctrl"),
    "continuous": ("mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl"),
}
#: Each outcome measure's effect size of one arm-level record (metafor's escalc).
EFFECTS: dict[str, Callable[..., tuple[Any, Any]]] = {
    "RR": risk_ratio,
    "OR": odds_ratio,
    "RD": risk_difference,
    "MD": mean_difference,
    "SMD": standardized_mean_difference,
}


@dataclass(frozen=True)
class Selection:
    """Pool-ready data for one comparison x outcome x window, with what could not be used."""

    comparison: Comparison
    outcome: Outcome
    window: Window
    #: The outcome's measure (RR, OR, RD, MD, SMD) when every trial has arm-level data, else
    #: ``GEN`` on the same scale.
    measure: str
    frame: pd.DataFrame
    #: (study label, reason) for trials with a record in the window that cannot be pooled.
    incomplete: tuple[tuple[str, str], ...] = ()
    #: Study labels whose numbers rest on a weak source.
    weak: tuple[str, ...] = ()
    #: Study labels whose numbers were derived (a contrast reversed, a count from a percent, ...).
    derived: tuple[str, ...] = ()
    #: record_id used for each study label.
    records: dict[str, str] = field(default_factory=dict)
    #: "randomised" or "observational" (see :data:`EVIDENCE`).
    evidence: str = "randomised"
    #: Study labels with an SD borrowed from another trial (approximate).
    borrowed: tuple[str, ...] = ()

    @property
    def ratio(self) -> bool:
        """True when the outcome's measure is a ratio (RR or OR.

        True when the outcome's measure is a ratio (RR or OR: arm-level, or GEN on the log scale).
        """
        return self.outcome.is_ratio

    @property
    def binary(self) -> bool:
        """True for a binary outcome (events of n per arm), whatever its measure."""
        return self.outcome.is_binary

    @property
    def labels(self) -> list[str]:
        """The study labels, in the order of the frame."""
        return list(self.frame["study"])

    def pool_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`metafuse.pool` that describe this selection's data.

        Whether generic rows are ratios, the scale's name and unit: a description of the data
        beside the model (:class:`~metafuse.model.Model`), not options of the model.
        """
        return {
            "ratio": self.ratio and self.measure == "GEN",
            "scale_name": self.outcome.scale_name,
            "unit": (self.outcome.unit or None) if self.outcome.measure == "MD" else None,
        }


def evidence_reports(records: StudyRecords, evidence: str) -> set[str]:
    """Return the reports whose design belongs to an evidence group (its GRADE starting level)."""
    if evidence not in EVIDENCE:
        raise ValueError(f"unknown evidence {evidence!r}; choose one of {', '.join(EVIDENCE)}")
    start = EVIDENCE[evidence]
    designs = records.review.designs
    t = records.trials
    return {str(r) for r, d in zip(t["report_id"], t["design"], strict=True) if designs[d] == start}


def primary_records(
    records: StudyRecords,
    comparison: str,
    outcome: str,
    window: Window,
    *,
    merge: bool = True,
    evidence: str | None = None,
) -> list[pd.DataFrame]:
    """Return the primary record of each trial for a comparison, outcome and window.

    The primary record (its rows) of each trial for this comparison, outcome and window (of one
    evidence group, or of every design when ``evidence`` is None).

    Within a bounded window a trial's latest time point is used; the longest-follow-up window
    takes each trial's longest time point (a record without a stated time point counts only when
    the trial has no other). Baseline records (time point 0) never enter an analysis. Computed
    once per records, comparison, outcome, window and evidence group.
    """
    key = ("primary_records", comparison, outcome, window, merge, evidence)
    return list(
        records.memo(
            key, lambda: _primary_records(records, comparison, outcome, window, merge, evidence)
        )
    )


def _primary_records(
    records: StudyRecords,
    comparison: str,
    outcome: str,
    window: Window,
    merge: bool,
    evidence: str | None,
) -> list[pd.DataFrame]:
    o = _candidates(records, evidence).get((comparison, outcome))
    chosen: list[pd.DataFrame] = []
    for _, rows in [] if o is None else o.groupby("trial", sort=False):
        months = rows["timepoint_months"].astype(float)
        if window.is_longest:
            pick = rows[months == months.max()] if months.notna().any() else rows
        else:
            inside = rows[[window.contains(m) for m in months]]
            if inside.empty:
                continue
            pick = inside[inside["timepoint_months"] == inside["timepoint_months"].max()]
        chosen.append(rows[rows["record_id"] == pick["record_id"].iloc[0]])
    if merge:
        chosen = _drop_overlaps(chosen, _includes(records, evidence))
    chosen.sort(key=lambda r: (year_key(r["year"].iloc[0]), str(r["report_id"].iloc[0])))
    return chosen


def _candidates(records: StudyRecords, evidence: str | None) -> dict[tuple[str, str], pd.DataFrame]:
    """Return the records that may be primary, with trial and year, by comparison and outcome.

    Primary, not baseline, of a report of the evidence group (every design when None): one pass
    over outcomes.csv per evidence group, shared by every window.
    """

    def compute() -> dict[tuple[str, str], pd.DataFrame]:
        reports = _evidence_trials(records, evidence)[["report_id", "trial", "year", "comparison"]]
        o = records.outcomes
        o = o[(o["primary"] == "yes") & (o["timepoint_months"] != 0)]
        both = o.merge(reports, on="report_id")
        return {
            (str(c), str(out)): part.drop(columns="comparison")
            for (c, out), part in both.groupby(["comparison", "outcome"], sort=False)
        }

    return records.memo(("candidates", evidence), compute)


def merged_trials(records: StudyRecords) -> dict[str, tuple[str, ...]]:
    """Return each merged follow-up trial (its reports name ``includes``) and its trials."""
    return _includes(records, None)


def _includes(records: StudyRecords, evidence: str | None) -> dict[str, tuple[str, ...]]:
    """Return the component trials of each merged report of an evidence group (``includes``)."""

    def compute() -> dict[str, tuple[str, ...]]:
        return _merged_reports(_evidence_trials(records, evidence))

    return records.memo(("includes", evidence), compute)


def _evidence_trials(records: StudyRecords, evidence: str | None) -> pd.DataFrame:
    trials = records.trials
    if evidence is None:
        return trials
    return trials[trials["report_id"].isin(evidence_reports(records, evidence))]


def _merged_reports(trials: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    return {
        r.trial: tuple(dict.fromkeys(p.strip() for p in str(r.includes).split(";") if p.strip()))
        for r in trials.itertuples(index=False)
        if isinstance(r.includes, str) and r.includes.strip()
    }


def drop_overlaps(chosen: list[pd.DataFrame], trials: pd.DataFrame) -> list[pd.DataFrame]:
    """Drop the overlaps of merged reports with their component trials.

    Where a report merges trials and both it and a component were chosen, keep the later time point
    (the merged report on a tie) and drop the other.
    """
    return _drop_overlaps(chosen, _merged_reports(trials))


def _drop_overlaps(
    chosen: list[pd.DataFrame], includes: dict[str, tuple[str, ...]]
) -> list[pd.DataFrame]:
    by_trial = {str(r["trial"].iloc[0]): r for r in chosen}
    drop: set[str] = set()
    for merged, parts in includes.items():
        present = [p for p in parts if p in by_trial]
        if merged not in by_trial or not present:
            continue
        t_merged = float(by_trial[merged]["timepoint_months"].iloc[0])
        t_parts = max(float(by_trial[p]["timepoint_months"].iloc[0]) for p in present)
        if t_merged >= t_parts or math.isnan(t_parts):
            drop.update(present)
        else:
            drop.add(merged)
    return [r for r in chosen if str(r["trial"].iloc[0]) not in drop]


def missing_numbers(rows: pd.DataFrame, binary: bool) -> list[str]:
    """Return the numbers an arm-level record lacks, as 'sd (exp)', ...

    (contrasts lack none).
    """
    if rows["data_type"].iloc[0] == "contrast":
        return []
    need = ("events", "n") if binary else ("mean", "sd", "n")
    out = []
    for arm in ("exp", "ctrl"):
        row = rows[rows["arm"] == arm].iloc[0]
        out += [f"{col} ({arm})" for col in need if pd.isna(row[col])]
    return out


def _arm(rows: pd.DataFrame, arm: str) -> pd.Series:
    return rows[rows["arm"] == arm].iloc[0]


def _arm_values(rows: pd.DataFrame, binary: bool) -> dict[str, float]:
    e, c = _arm(rows, "exp"), _arm(rows, "ctrl")
    if binary:
        return {
            "events_exp": e["events"],
            "n_exp": e["n"],
            "events_ctrl": c["events"],
            "n_ctrl": c["n"],
        }
    return {
        "mean_exp": e["mean"],
        "sd_exp": e["sd"],
        "n_exp": e["n"],
        "mean_ctrl": c["mean"],
        "sd_ctrl": c["sd"],
        "n_ctrl": c["n"],
    }


def _generic_row(rows: pd.DataFrame, outcome: Outcome) -> dict[str, float]:
    """Yi and sei of one record in the outcome's measure, on its analysis scale.

    Yi and sei of one record in the outcome's measure, on its analysis scale (arm values kept for
    display).
    """
    if rows["data_type"].iloc[0] == "contrast":
        r = rows.iloc[0]
        ratio = outcome.is_ratio
        yi, sei = from_confidence_interval(r["estimate"], r["ci_low"], r["ci_high"], ratio=ratio)
        return {"yi": float(yi), "sei": float(sei)}
    binary = outcome.is_binary
    values = _arm_values(rows, binary)
    cols = ARM_COLUMNS["binary" if binary else "continuous"]
    y, v = EFFECTS[outcome.measure](*([values[c]] for c in cols))
    return {"yi": float(y[0]), "sei": float(np.sqrt(v[0])), **values}


def _usable(records: StudyRecords, outcome: Outcome, rows: pd.DataFrame) -> str | None:
    """Why a chosen record cannot be pooled, or None."""
    missing = missing_numbers(rows, outcome.is_binary)
    if missing:
        return "missing " + ", ".join(missing)
    if rows["data_type"].iloc[0] == "contrast":
        if outcome.method in TABLE_METHODS:
            return (
                f"a contrast cannot enter a {outcome.method} analysis, which pools 2x2 tables "
                "(review.toml)"
            )
        expected = outcome.measure
        if rows["measure"].iloc[0] != expected:
            return f"contrast given as {rows['measure'].iloc[0]}, not {expected}"
    return None


def _borrows(rows: pd.DataFrame) -> bool:
    return any(derivation_name(d) in BORROW_DERIVATIONS for d in rows["derivation"])


def select(
    records: StudyRecords,
    comparison: str,
    outcome: str,
    window: str,
    evidence: str = "randomised",
) -> Selection:
    """Pool-ready data for one analysis (see the module docstring); computed once per records."""
    key = ("select", comparison, outcome, window, evidence)
    return records.memo(key, lambda: _select(records, comparison, outcome, window, evidence))


def _select(
    records: StudyRecords, comparison: str, outcome: str, window: str, evidence: str
) -> Selection:
    review = records.review
    for key, known in (
        ("comparison", review.comparisons),
        ("outcome", review.outcomes),
        ("window", review.windows),
    ):
        value = {"comparison": comparison, "outcome": outcome, "window": window}[key]
        if value not in known:
            raise ValueError(f"unknown {key} {value!r}; choose one of {', '.join(known)}")
    out, win = review.outcomes[outcome], review.windows[window]
    usable, incomplete, weak, derived, borrowed, used = [], [], [], [], [], {}
    for rows in primary_records(records, comparison, outcome, win, evidence=evidence):
        label = records.label(str(rows["report_id"].iloc[0]))
        reason = _usable(records, out, rows)
        if reason is not None:
            incomplete.append((label, reason))
            continue
        usable.append((label, rows))
        used[label] = str(rows["record_id"].iloc[0])
        if (rows["weak"] == "yes").any():
            weak.append(label)
        if rows["derivation"].notna().any():
            derived.append(label)
        if _borrows(rows):
            borrowed.append(label)
    binary = out.is_binary
    if all(r["data_type"].iloc[0] == "arm" for _, r in usable):
        measure = out.measure
        frame = pd.DataFrame(
            [{"study": lab, **_arm_values(r, binary)} for lab, r in usable],
            columns=["study", *ARM_COLUMNS["binary" if binary else "continuous"]],
        )
    else:
        measure = "GEN"
        frame = pd.DataFrame([{"study": lab, **_generic_row(r, out)} for lab, r in usable])
    return Selection(
        comparison=review.comparisons[comparison],
        outcome=out,
        window=win,
        measure=measure,
        frame=frame,
        incomplete=tuple(incomplete),
        weak=tuple(weak),
        derived=tuple(derived),
        records=used,
        evidence=evidence,
        borrowed=tuple(borrowed),
    )


def alternative_selection(
    records: StudyRecords, selection: Selection
) -> tuple[Selection, tuple[str, ...]] | None:
    """Return the selection with each pooled record replaced by its alternative.

    The selection with each pooled record replaced by its alternative (a ``primary = no`` record of
    the same report, outcome and time point; the first by record_id), and what changed in words;
    None when no pooled record has an alternative. The Handbook's preferred analyses are primary
    (adjusted over final values, intention to treat over attenders), so the alternatives make the
    sensitivity analysis of that choice.
    """
    o = records.outcomes
    swap: dict[str, str] = {}
    changed: list[str] = []
    for label, record in selection.records.items():
        rows = o[o["record_id"] == record]
        first = rows.iloc[0]
        when = first["timepoint_months"]
        same = o["timepoint_months"].isna() if pd.isna(when) else o["timepoint_months"] == when
        alts = o[
            (o["report_id"] == first["report_id"])
            & (o["outcome"] == first["outcome"])
            & (o["primary"] == "no")
            & (o["record_id"] != record)
            & same
        ]
        if alts.empty:
            continue
        alt = sorted(alts["record_id"].unique())[0]
        swap[record] = alt
        alt_row = alts[alts["record_id"] == alt].iloc[0]
        changed.append(f"{label}: {alt_row['analysis']} instead of {first['analysis']}")
    if not swap:
        return None
    primary = o["primary"].copy()
    primary[o["record_id"].isin(list(swap))] = "no"
    primary[o["record_id"].isin(list(swap.values()))] = "yes"
    swapped = dataclasses.replace(records, outcomes=o.assign(primary=primary))
    alternative = select(
        swapped,
        selection.comparison.key,
        selection.outcome.key,
        selection.window.key,
        selection.evidence,
    )
    return alternative, tuple(changed)
