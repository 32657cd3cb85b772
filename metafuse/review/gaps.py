"""What the records hold and what is missing: one cell per trial x outcome x follow-up window.

A cell is ``data`` (poolable), ``weak`` (poolable, but resting on a weak source), ``incomplete``
(a record exists but lacks a number) or ``missing`` (nothing recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from metafuse.review.records import StudyRecords, year_key
from metafuse.review.selection import missing_numbers, primary_records

Status = Literal["data", "weak", "incomplete", "missing"]


@dataclass(frozen=True)
class GapCell:
    """One trial x outcome x window cell of the gaps matrix."""

    comparison: str
    trial: str
    report_id: str
    outcome: str
    window: str
    status: Status
    #: Months of the record (None when none, or not stated), and what it lacks.
    months: float | None = None
    record_id: str | None = None
    missing: tuple[str, ...] = ()

    @property
    def when(self) -> str:
        """'24 months', 'time point not stated' or ''."""
        if self.status == "missing":
            return ""
        return "time point not stated" if self.months is None else f"{self.months:g} months"

    def describe(self) -> str:
        """Describe the cell: 'data (24 months)', '... (weak source)', 'incomplete (…): …'."""
        if self.status == "missing":
            return "missing"
        if self.status == "incomplete":
            return f"incomplete ({self.when}): missing " + ", ".join(self.missing)
        return f"data ({self.when})" + (" (weak source)" if self.status == "weak" else "")


def _first_report(records: StudyRecords, comparison: str, trial: str) -> str:
    t = records.trials
    mine = t.loc[(t["trial"] == trial) & (t["comparison"] == comparison)]
    return str(mine.sort_values(["year", "report_id"])["report_id"].iloc[0])


def gap_cells(records: StudyRecords) -> list[GapCell]:
    """Every trial x applicable outcome x window cell, per comparison in the review's order.

    Computed once per records (the SoF tables and each published review's page ask for them).
    """
    return list(records.memo("gap_cells", lambda: _gap_cells(records)))


def _gap_cells(records: StudyRecords) -> list[GapCell]:
    review = records.review
    cells: list[GapCell] = []
    for comparison in review.comparisons:
        sub = records.trials[records.trials["comparison"] == comparison].sort_values(
            ["year", "report_id"]
        )
        trials = list(dict.fromkeys(sub["trial"]))
        first = {trial: _first_report(records, comparison, trial) for trial in trials}
        for outcome in review.outcomes.values():
            if not outcome.applies_to(comparison):
                continue
            chosen = {
                window.key: {
                    str(r["trial"].iloc[0]): r
                    for r in primary_records(records, comparison, outcome.key, window, merge=False)
                }
                for window in review.windows.values()
            }
            for trial in trials:
                for window in review.windows.values():
                    found = chosen[window.key].get(trial)
                    cells.append(
                        _cell(
                            first[trial],
                            comparison,
                            trial,
                            outcome.key,
                            window.key,
                            outcome.is_binary,
                            [] if found is None else [found],
                        )
                    )
    order = {t: i for i, t in enumerate(records.trials["trial"])}
    keys = dict.fromkeys((c.comparison, c.trial) for c in cells)  # each trial once, not per cell
    ranks = {key: _trial_rank(records, *key, order) for key in keys}
    return sorted(
        cells,
        key=lambda c: (
            list(review.comparisons).index(c.comparison),
            ranks[(c.comparison, c.trial)],
            list(review.outcomes).index(c.outcome),
            list(review.windows).index(c.window),
        ),
    )


def _trial_rank(
    records: StudyRecords, comparison: str, trial: str, order: dict[str, int]
) -> tuple[float, str]:
    t = records.trials
    rows = t[(t["trial"] == trial) & (t["comparison"] == comparison)]
    return (
        year_key(rows["year"].min()),
        str(rows.sort_values(["year", "report_id"])["report_id"].iloc[0]),
    )


def _cell(
    first_report: str,
    comparison: str,
    trial: str,
    outcome: str,
    window: str,
    binary: bool,
    found: list[pd.DataFrame],
) -> GapCell:
    if not found:
        return GapCell(comparison, trial, first_report, outcome, window, "missing")
    r = found[0]
    months = r["timepoint_months"].iloc[0]
    lacking = tuple(missing_numbers(r, binary))
    status: Status = "incomplete" if lacking else ("weak" if (r["weak"] == "yes").any() else "data")
    return GapCell(
        comparison,
        trial,
        str(r["report_id"].iloc[0]),
        outcome,
        window,
        status,
        None if pd.isna(months) else float(months),
        str(r["record_id"].iloc[0]),
        lacking,
    )


def _short(cell: GapCell) -> str:
    """Return the cell in short: 'data 24m', 'weak 24m', 'incomplete 60m', '-'."""
    if cell.status == "missing":
        return "-"
    when = "t?" if cell.months is None else f"{cell.months:g}m"
    return f"{cell.status} {when}"


def format_gaps(records: StudyRecords) -> str:
    """Return the gaps report.

    The gaps report: per comparison a trial x outcome matrix over the windows, then every incomplete
    cell and the weak sources.
    """
    review = records.review
    cells = gap_cells(records)
    lines: list[str] = []
    details: list[str] = []
    windows = list(review.windows.values())
    for key, comparison in review.comparisons.items():
        mine = [c for c in cells if c.comparison == key]
        have = sum(c.status in ("data", "weak") for c in mine)
        lines += [
            f"Comparison {key}: {comparison.label}",
            f"{have} of {len(mine)} trial x outcome x time point cells have usable data",
        ]
        header = f"  {'trial':<34} {'outcome':<18} " + " ".join(f"{w.key:<16}" for w in windows)
        lines += [header.rstrip(), "  " + "-" * (len(header.rstrip()) - 2)]
        for i in range(0, len(mine), len(windows)):
            row = mine[i : i + len(windows)]
            name = review.outcomes[row[0].outcome].short or row[0].outcome
            cols = " ".join(f"{_short(c):<16}" for c in row)
            lines.append(f"  {row[0].trial[:34]:<34} {name[:18]:<18} {cols}".rstrip())
            details += [
                f"  {key} {c.trial}, {name}, {review.windows[c.window].label}: {c.describe()}"
                for c in row
                if c.status == "incomplete"
            ]
        lines.append("")
    lines.append(
        "data = usable; weak = usable but from a weak source; incomplete = a number is "
        "missing; - = nothing found; t? = time point not stated"
    )
    if details:
        lines += ["", "Incomplete records:", *dict.fromkeys(details)]
    weak_sources = records.sources[records.sources["strength"] == "weak"]
    lines += ["", "Weak sources (meeting abstracts, news, commentaries, unverified quotes):"]
    lines += [f"  {r.source_id}: {r.kind}" for r in weak_sources.itertuples(index=False)]
    return "\n".join(lines)
