"""Rows and notes in a panel's words when an outcome cannot be pooled.

Rows and notes in a panel's words when an outcome cannot be pooled: what is missing, which trials
hold an incomplete record, and what the same report holds instead (published pooled estimates, harm
figures), each with its source. No file or command names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from metafuse.review.gaps import GapCell
from metafuse.review.records import StudyRecords
from metafuse.review.selection import merged_trials
from metafuse.review.sof import Cell, RelatedPage, SofRow

_MISSING_WORDS = {
    "n": ("group sizes", "group size"),
    "sd": ("SDs", "SD"),
    "mean": ("means", "mean"),
    "events": ("event counts", "event count"),
}
_ARMS = {"exp": "the intervention group's", "ctrl": "the comparator group's"}


def missing_words(missing: Sequence[str]) -> str:
    """['sd (exp)', 'n (exp)', 'sd.

    ['sd (exp)', 'n (exp)', 'sd (ctrl)'] -> 'SDs and the intervention group's group size not
    reported' — what a record lacks, in a reader's words.
    """
    arms: dict[str, list[str]] = {}
    for item in missing:
        kind, _, arm = item.partition(" ")
        arms.setdefault(kind, []).append(arm.strip("()"))
    words = []
    for kind, where in arms.items():
        plural, single = _MISSING_WORDS.get(kind, (kind, kind))
        words.append(plural if len(set(where)) > 1 else f"{_ARMS.get(where[0], 'the')} {single}")
    return " and ".join(words) + " not reported"


def reason_words(reason: str) -> str:
    """Return a selection's reason for not pooling a record, in a reader's words."""
    if reason.startswith("missing "):
        return missing_words(reason[len("missing ") :].split(", "))
    return reason


def _citation(records: StudyRecords, source_id: str) -> str:
    s = records.sources
    row = s[s["source_id"] == source_id]
    if row.empty:
        return source_id
    citation = str(row["citation"].iloc[0])
    url = row["url"].iloc[0]
    return citation + (f" ({url})" if isinstance(url, str) and url.strip() else "")


def _interval(r: Any) -> str:
    lo, hi = r.ci_low, r.ci_high
    return "" if pd.isna(lo) or pd.isna(hi) else f" ({lo:g} to {hi:g})"


def published_notes(records: StudyRecords, comparison: str, outcome: str) -> list[str]:
    """One note per published review with pooled estimates of this comparison and outcome.

    One note per published review with pooled estimates of this comparison and outcome, with its
    source (never pooled with ours; their certainty is not rated here).
    """
    table = records.published_estimates
    if table is None:
        return []
    rows = table[
        (table["comparison"] == comparison)
        & (table["outcome"] == outcome)
        & table["estimate"].notna()
    ]
    out = []
    for review, group in rows.groupby("review", sort=False):
        first = group.iloc[0]
        figures = "; ".join(
            f"{r.measure} {r.estimate:g}{_interval(r)}"
            + (f" ({r.timepoint})" if isinstance(r.timepoint, str) else "")
            for r in group.itertuples(index=False)
        )
        size = ", ".join(
            t
            for t in (
                "" if pd.isna(first["n_studies"]) else f"{first['n_studies']:g} studies",
                "" if pd.isna(first["n_patients"]) else f"{first['n_patients']:g} participants",
                first["designs"] if isinstance(first["designs"], str) else "",
            )
            if t
        )
        weak = " (weak source)" if (group["weak"] == "yes").any() else ""
        out.append(
            f"Published meta-analysis {review}: {figures}"
            + (f"; {size}" if size else "")
            + "; certainty not rated by this review; its studies may overlap ours. Source: "
            + f"{_citation(records, str(first['source_id']))}, {first['location']}{weak}."
        )
    return out


def harm_figures(records: StudyRecords, outcome: str) -> int:
    """How many published harm figures the report's harms profile holds for this outcome."""
    table = records.harms
    if table is None:
        return 0
    return int((table["harm"] == outcome).sum())


def incomplete_notes(records: StudyRecords, cells: Sequence[GapCell]) -> list[str]:
    """'Smith 2016 (24 months).

    'Smith 2016 (24 months): SDs and group sizes not reported', once per record, with the study
    label of the report the record comes from (the window named only when the time point is not
    stated).
    """
    windows = {k: w.label for k, w in records.review.windows.items()}
    out = []
    for c in cells:
        if c.status != "incomplete":
            continue
        when = c.when if c.months is not None else f"{windows[c.window]}, {c.when}"
        out.append(f"{records.label(c.report_id)} ({when}): {missing_words(c.missing)}")
    return list(dict.fromkeys(out))


def unpooled_records(records: StudyRecords, comparison: str, outcome: str) -> dict[str, list[str]]:
    """Return, by trial, the records of an outcome that no analysis pools, each with its reason.

    A record marked not primary with no primary record of the same report at its time point (a
    subgroup, a summary that prints no usable numbers) is pooled by no analysis, not even as a
    sensitivity analysis: it is named, with the reason the record gives (``primary_reason``), so
    that no row says a trial reported nothing when it reported something that cannot be pooled
    (Cochrane Handbook ch. 14: studies not included in an outcome's analysis are accounted for).
    """
    table = records.outcomes
    trials = records.trials_by_report()
    comparison_of = {str(k): str(v) for k, v in trials["comparison"].items()}
    in_comparison = [comparison_of.get(str(r)) == comparison for r in table["report_id"]]
    mine = table[(table["outcome"] == outcome).to_numpy(dtype=bool) & np.array(in_comparison, bool)]
    primary = mine["primary"].astype(str).str.lower() == "yes"

    def months(value: Any) -> float | None:
        return None if pd.isna(value) else float(value)

    pooled = {
        (r, months(m))
        for r, m in zip(
            mine.loc[primary, "report_id"], mine.loc[primary, "timepoint_months"], strict=True
        )
    }
    out: dict[str, list[str]] = {}
    for _, row in mine[~primary].drop_duplicates("record_id").iterrows():
        at_months = months(row["timepoint_months"])
        if (row["report_id"], at_months) in pooled:
            continue  # an alternative of a primary record: a sensitivity analysis shows it
        at = "time point not stated" if at_months is None else f"{at_months:g} months"
        reason = row.get("primary_reason")
        reason = "not the primary analysis" if pd.isna(reason) or not str(reason) else str(reason)
        reason = reason.removeprefix("not primary: ")
        trial = str(trials["trial"].get(row["report_id"]))
        out.setdefault(trial, []).append(f"{records.label(row['report_id'])} ({at}): {reason}")
    return out


def relevant_pages(
    records: StudyRecords, comparison: str, outcome: str, related: Sequence[RelatedPage]
) -> list[RelatedPage]:
    """Return the report's pages that hold evidence on this outcome.

    The report's pages that hold evidence on this outcome: the harms profile for a harm, and the
    pages of published reviews with estimates of this comparison and outcome.
    """
    out = [p for p in related if p.kind == "harms" and records.review.outcomes[outcome].harm]
    table = records.published_estimates
    if table is not None:
        rows = table[(table["comparison"] == comparison) & (table["outcome"] == outcome)]
        reviews = [str(r) for r in rows["review"].unique()]
        out += [p for p in related if p.kind == "published" and any(r in p.title for r in reviews)]
    return out


def empty_outcome_row(
    records: StudyRecords,
    comparison: str,
    outcome: str,
    cells: Sequence[GapCell],
    related: Sequence[RelatedPage],
) -> SofRow:
    """Return the row of an outcome with no pooled analysis.

    The row of an outcome with no pooled analysis: what is missing, in a panel's words, with what
    the report holds instead (published estimates, harm figures) as footnotes.
    """
    review = records.review
    out = review.outcomes[outcome]
    mine = [c for c in cells if c.comparison == comparison and c.outcome == outcome]
    trials = list(dict.fromkeys(c.trial for c in mine))
    incomplete = incomplete_notes(records, mine)
    unpooled = unpooled_records(records, comparison, outcome)
    follow_ups = merged_trials(records)  # a merged follow-up report is not one more trial
    reported = {
        t
        for t in trials
        if t in unpooled or any(c.status != "missing" for c in mine if c.trial == t)
    }
    reported |= {t for m in reported & set(follow_ups) for t in follow_ups[m]}
    trials = [t for t in trials if t not in follow_ups]
    silent = [t for t in trials if t not in reported]
    parts = ["No trial result could be pooled."]
    if incomplete:
        parts.append("Incomplete reports: " + "; ".join(incomplete) + ".")
    if unpooled:
        named = [note for trial_notes in unpooled.values() for note in trial_notes]
        parts.append("Reported but not poolable: " + "; ".join(named) + ".")
    if silent:
        parts.append(
            f"{len(silent)} of {len(trials)} trials reported no result for this outcome in the "
            "sources reached."
        )
    notes = published_notes(records, comparison, outcome)
    figures = harm_figures(records, outcome)
    if figures:
        notes.append(
            f"{figures} published harm figure{'s' if figures > 1 else ''} (single groups, "
            "cohorts, registries) in the harms profile of this report."
        )
    if notes:
        parts.append("Related evidence is summarised in the footnotes.")
    pages = relevant_pages(records, comparison, outcome, related)
    if pages:
        parts.append("See also: " + "; ".join(p.title for p in pages) + ".")
    label = out.label + "; any follow-up"
    return SofRow(
        key=outcome,
        outcome=Cell(label, (), pages[0].link if pages else None),
        comments=Cell(" ".join(parts), tuple(notes)),
        importance=out.importance,
        harm=out.harm,
    )
