"""Comparing two independent extractions of the same records.

Cochrane's double data extraction, where two reviewers extract the data independently and then
resolve every disagreement (Cochrane Handbook 5.1, chapter 7 "Selecting studies and collecting
data", section 7.6 "Extracting data from reports").

Both files are in the ``outcomes.csv`` layout (or the gap template's); rows are matched by
``record_id`` and ``arm``. Every column both files have is compared (the template's helper
columns excepted): numbers as numbers (12 = 12.0 = 1.2e1), text with runs of whitespace read as
one space; empty and missing are the same. The result lists each disagreement by record and
column, the rows only one file has, and the columns only one file has.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from metafuse.data.csv import MISSING_TEXTS, read_table
from metafuse.data.numbers import looks_like_python_number, parse_number
from metafuse.exceptions import DataError, MetafuseError
from metafuse.review.template import unescape

#: Columns of the gap template that are not data (never compared).
NOT_COMPARED = frozenset({"window", "to_fill"})
KEY = ("record_id", "arm")

Key = tuple[str, str]


class ReconcileError(MetafuseError):
    """An extraction file cannot be read or has no usable keys (one line: file, row, column)."""


@dataclass(frozen=True)
class Disagreement:
    """One cell on which the two extractions differ."""

    record_id: str
    arm: str
    column: str
    a: str | None
    b: str | None
    line_a: int
    line_b: int


@dataclass(frozen=True)
class Reconciliation:
    """The comparison of extraction ``a`` with extraction ``b``."""

    a: str
    b: str
    disagreements: tuple[Disagreement, ...]
    #: (record_id, arm, line) of rows in one file only.
    only_a: tuple[tuple[str, str, int], ...]
    only_b: tuple[tuple[str, str, int], ...]
    columns_only_a: tuple[str, ...] = ()
    columns_only_b: tuple[str, ...] = ()
    compared: int = 0

    @property
    def agree(self) -> bool:
        """True when nothing differs."""
        return not (
            self.disagreements
            or self.only_a
            or self.only_b
            or self.columns_only_a
            or self.columns_only_b
        )


def number(text: object) -> float | None:
    """Return a cell's finite number as a spreadsheet reads it, or None.

    See :func:`metafuse.data.numbers.parse_number`.
    """
    try:
        return parse_number(str(text))
    except ValueError:
        return None


def same_value(a: object, b: object) -> bool:
    """Return True if two cells say the same.

    Both empty, equal numbers, or equal text up to runs of whitespace.
    """
    ta = "" if a is None else " ".join(str(a).split())
    tb = "" if b is None else " ".join(str(b).split())
    ta = "" if ta in MISSING_TEXTS else ta
    tb = "" if tb in MISSING_TEXTS else tb
    if ta == tb:
        return True
    na, nb = number(ta), number(tb)
    return na is not None and nb is not None and na == nb


def _rows(path: Path) -> tuple[dict[Key, tuple[int, dict[str, str | None]]], list[str]]:
    try:
        table = read_table(path)
    except DataError as err:
        raise ReconcileError(str(err)) from None
    columns = list(table.frame.columns)
    for col in KEY[:1]:
        if col not in columns:
            raise ReconcileError(f"{path}:1: {col}: missing required column")
    rows: dict[Key, tuple[int, dict[str, str | None]]] = {}
    for line, r in zip(table.lines, table.frame.to_dict("records"), strict=True):
        key = (str(r.get("record_id") or ""), str(r.get("arm") or ""))
        if not key[0]:
            raise ReconcileError(f"{path}:{line}: record_id: missing value")
        if key in rows:
            raise ReconcileError(
                f"{path}:{line}: record_id: {key[0]!r} ({key[1] or 'contrast'}) is also on "
                f"line {rows[key][0]}"
            )
        cells = {c: unescape(r[c]) for c in columns}
        for column, cell in cells.items():
            if cell and looks_like_python_number(cell) and number(cell) is None:
                try:
                    parse_number(cell)
                except ValueError as err:
                    raise ReconcileError(f"{path}:{line}: {column}: {err}") from None
        rows[key] = (line, cells)
    return rows, columns


def reconcile(a: str | Path, b: str | Path, ignore: Collection[str] = ()) -> Reconciliation:
    """Compare two extractions (see the module docstring); ``ignore`` names columns to skip."""
    rows_a, cols_a = _rows(Path(a))
    rows_b, cols_b = _rows(Path(b))
    skip = NOT_COMPARED | set(ignore)
    common = [c for c in cols_a if c in cols_b and c not in KEY and c not in skip]
    found = []
    for key, (line_a, ra) in rows_a.items():
        if key not in rows_b:
            continue
        line_b, rb = rows_b[key]
        found += [
            Disagreement(*key, col, ra[col], rb[col], line_a, line_b)
            for col in common
            if not same_value(ra[col], rb[col])
        ]
    return Reconciliation(
        a=str(a),
        b=str(b),
        disagreements=tuple(found),
        only_a=tuple((*k, v[0]) for k, v in rows_a.items() if k not in rows_b),
        only_b=tuple((*k, v[0]) for k, v in rows_b.items() if k not in rows_a),
        columns_only_a=tuple(c for c in cols_a if c not in cols_b and c not in skip),
        columns_only_b=tuple(c for c in cols_b if c not in cols_a and c not in skip),
        compared=len(common),
    )


def format_reconciliation(r: Reconciliation) -> str:
    """One line per difference: record, column, the value in each file with its line."""

    def arm(value: str) -> str:
        return f" ({value})" if value else ""

    def shown(value: str | None) -> str:
        return "(empty)" if value is None else repr(value)

    lines = [
        f"{d.record_id}{arm(d.arm)}: {d.column}: A {shown(d.a)} ({r.a}:{d.line_a}) vs "
        f"B {shown(d.b)} ({r.b}:{d.line_b})"
        for d in r.disagreements
    ]
    lines += [f"{rid}{arm(a)}: only in A ({r.a}:{line})" for rid, a, line in r.only_a]
    lines += [f"{rid}{arm(a)}: only in B ({r.b}:{line})" for rid, a, line in r.only_b]
    lines += [f"column {c}: only in A ({r.a})" for c in r.columns_only_a]
    lines += [f"column {c}: only in B ({r.b})" for c in r.columns_only_b]
    if r.agree:
        lines.append(f"{r.a} and {r.b} agree ({r.compared} columns compared)")
    else:
        lines.append(
            f"{r.a} and {r.b} disagree: {len(r.disagreements)} values, {len(r.only_a)} rows "
            f"only in A, {len(r.only_b)} only in B"
        )
    return "\n".join(lines)
