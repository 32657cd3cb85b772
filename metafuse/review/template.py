"""The gap template: one pre-filled row per missing number, in the ``outcomes.csv`` layout, for a
reviewer with the full texts (``metafuse gaps STUDIES --template FILE.csv``).

A missing cell (trial x outcome x window with no record) gets a new record of two arm rows (exp,
ctrl) named ``<report>-<outcome>-<window>``; an incomplete cell gets the rows of its record that
lack a number, as they stand, with the source columns emptied (the reviewer gives the source that
shows the whole row). Values, ``timepoint_months``, ``analysis``, ``source_id``, ``location`` and
``quote`` are left empty: nothing is guessed. Two helper columns follow the ``outcomes.csv``
columns: ``window`` (the cell's follow-up window) and ``to_fill`` (what the row needs);
``metafuse merge`` drops them. The file is written through :func:`metafuse.files.to_csv`, which
makes formula-looking cells inert for spreadsheets; :func:`unescape` undoes that on reading.
"""

from __future__ import annotations

import re
from typing import Final

from metafuse.data.csv import read_table
from metafuse.files import FORMULA_STARTS, to_csv
from metafuse.review.gaps import GapCell, gap_cells
from metafuse.review.records import StudyRecords
from metafuse.review.schema import schemas
from metafuse.review.vocabulary import Outcome, Window

#: Columns of the template after the outcomes.csv columns (dropped when merging).
HELPER_COLUMNS: Final = ("window", "to_fill")
#: Columns whose cells are the numbers (or the derivation giving them) a reviewer fills in.
VALUE_COLUMNS: Final = (
    "n",
    "mean",
    "sd",
    "events",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "derivation",
)
#: Columns that must be given with any filled number.
SOURCE_COLUMNS: Final = ("source_id", "location", "quote")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def outcome_columns(records: StudyRecords) -> list[str]:
    """The columns of outcomes.csv, in order (an optional column only when the file has it)."""
    present = set(records.outcomes.columns)
    return [c for c in schemas(records.review)["outcomes"].columns if c in present]


def unescape(cell: str | None) -> str | None:
    """Undo :func:`metafuse.files.csv_cell`: ``'=x`` back to ``=x`` (numbers were never escaped)."""
    if cell and len(cell) > 1 and cell[0] == "'" and cell[1:].startswith(FORMULA_STARTS):
        return cell if _NUMBER.match(cell[1:]) else cell[1:]
    return cell


def _scale(outcome: Outcome) -> str:
    name = outcome.short or outcome.label
    span = f" {outcome.range[0]:g}-{outcome.range[1]:g}" if outcome.range else ""
    return f"{name}{span} ({outcome.better} is better)"


def _when(window: Window) -> str:
    if window.months is None:
        return "timepoint_months (the trial's longest follow-up, if later than the rows above)"
    return f"timepoint_months ({window.months[0]:g}-{window.months[1]:g})"


def _new_rows(
    records: StudyRecords, cell: GapCell, record_id: str, columns: list[str]
) -> list[dict[str, str]]:
    review = records.review
    outcome, window = review.outcomes[cell.outcome], review.windows[cell.window]
    numbers = "n, events" if outcome.is_binary else "n, mean, sd"
    contrast = "RR" if outcome.is_binary else "MD"
    to_fill = (
        f"{_when(window)}, analysis, {numbers}, source_id, location, quote (or one contrast "
        f"row: data_type contrast, no arm, measure {contrast}, estimate, ci_low, ci_high, "
        "direction); check scale; leave empty if the source has no number"
    )
    rows = []
    for arm in ("exp", "ctrl"):
        row = dict.fromkeys(columns, "")
        row.update(
            record_id=record_id,
            report_id=cell.report_id,
            outcome=cell.outcome,
            data_type="arm",
            arm=arm,
            scale=_scale(outcome),
            primary="yes",
            weak="no",
            window=cell.window,
            to_fill=to_fill,
        )
        rows.append(row)
    return rows


def _incomplete_rows(
    raw: dict[tuple[str, str], dict[str, str]], cell: GapCell, columns: list[str]
) -> list[dict[str, str]]:
    rows = []
    for arm in ("exp", "ctrl"):
        lacking = [m.split(" ")[0] for m in cell.missing if m.endswith(f"({arm})")]
        if not lacking:
            continue
        row = dict(raw[(str(cell.record_id), arm)])
        was = f"{row['source_id']} ({row['location']})"
        row.update(dict.fromkeys(SOURCE_COLUMNS, ""))
        row.update(
            window=cell.window,
            to_fill=f"{', '.join(lacking)}; then source_id, location and quote of a source that "
            f"shows the whole row (the numbers here are from {was})",
        )
        rows.append({c: row.get(c, "") for c in columns})
    return rows


def template_rows(records: StudyRecords) -> list[dict[str, str]]:
    """One row per missing number of every missing or incomplete gap cell (see the module)."""
    table = read_table(records.path("outcomes"))
    base = outcome_columns(records)
    columns = [*base, *HELPER_COLUMNS]
    raw = {
        (str(r["record_id"]), str(r["arm"] or "")): {c: r[c] or "" for c in base}
        for r in table.frame.to_dict("records")
    }
    taken = {str(r) for r in records.outcomes["record_id"]}
    done: set[str] = set()
    rows: list[dict[str, str]] = []
    for cell in gap_cells(records):
        if cell.status == "incomplete" and cell.record_id not in done:
            done.add(str(cell.record_id))
            rows += _incomplete_rows(raw, cell, columns)
        elif cell.status == "missing":
            record_id = f"{cell.report_id}-{cell.outcome}-{cell.window}"
            while record_id in taken:
                record_id += "-new"
            taken.add(record_id)
            rows += _new_rows(records, cell, record_id, columns)
    return rows


def template_csv(records: StudyRecords) -> tuple[str, int]:
    """The template as CSV text (formula-looking cells made inert), and its number of rows."""
    columns = [*outcome_columns(records), *HELPER_COLUMNS]
    rows = template_rows(records)
    return to_csv(columns, ([row[c] for c in columns] for row in rows)), len(rows)
