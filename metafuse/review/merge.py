"""Merging a filled gap template into ``outcomes.csv`` (``metafuse merge TEMPLATE STUDIES``).

A template row whose numbers (:data:`~metafuse.review.template.VALUE_COLUMNS`) are all empty stays
a gap and is skipped. A filled row is added as a new row, or, when its ``record_id`` and ``arm``
are those of an existing row, fills that row's empty cells (a number already there is never
changed: a correction of a published number is an edit of outcomes.csv by hand). A filled row
needs ``source_id``, ``location`` and ``quote``. The merged outcomes.csv is then validated with
every check of ``metafuse validate`` in a scratch copy of the studies folder; every problem is
reported against the template row (or outcomes.csv row) it comes from, and outcomes.csv is
written, atomically, only when there is none. Unchanged rows keep their bytes.

A merge adds no record twice: a new row repeating an existing (or another new) row's report,
outcome, time point, arm and numbers is an error, as is a missing-value word (``nan``, ``NA``)
in a number cell, and a mean given without its SD (or an SD without its mean) and no derivation.
Cells written from the template keep the guard that makes formula-looking text inert
(:func:`metafuse.files.csv_cell`): ``'=cmd`` stays ``'=cmd`` in outcomes.csv.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from metafuse.data.csv import MISSING_TEXTS, read_table
from metafuse.exceptions import DataError, SpecError
from metafuse.files import csv_cell, read_regular_bytes, write_text_atomic
from metafuse.review.reconcile import number, same_value
from metafuse.review.records import validate_studies
from metafuse.review.schema import FILES, Problem
from metafuse.review.template import HELPER_COLUMNS, SOURCE_COLUMNS, VALUE_COLUMNS, unescape
from metafuse.review.vocabulary import FILE_NAME, Window, load_review

Row = dict[str, str | None]
#: Columns a fill may replace in an existing row (the new source shows the whole row).
REPLACEABLE = frozenset({*SOURCE_COLUMNS, "weak", "caveat"})
#: Number columns of outcomes.csv (a missing-value word in them is an error in a template).
NUMBER_COLUMNS = ("timepoint_months", "n", "mean", "sd", "events", "estimate", "ci_low", "ci_high")
#: What makes two rows the same record: report, outcome, time point, arm and every number.
SAME_RECORD = ("report_id", "outcome", "timepoint_months", "data_type", "arm", "n", "mean", "sd",
               "events", "measure", "estimate", "ci_low", "ci_high")  # fmt: skip


def _inert(row: Row) -> Row:
    """Return a template row's cells as they are written to outcomes.csv (formula guard kept)."""
    return {c: (None if v is None else csv_cell(v)) for c, v in row.items()}


def _same_record(a: Row, b: Row) -> bool:
    numbers = [c for c in SAME_RECORD[5:] if a.get(c) or b.get(c)]
    return bool(numbers) and all(same_value(a.get(c), b.get(c)) for c in SAME_RECORD)


@dataclass(frozen=True)
class Change:
    """One template row that changes outcomes.csv: a new row, or empty cells filled."""

    template_line: int
    record_id: str
    arm: str
    #: outcomes.csv line of the filled row (None for a new row) and the cells filled.
    outcomes_line: int | None = None
    filled: tuple[str, ...] = ()
    #: Source, weak and caveat cells of a filled row that the merge changes.
    replaced: tuple[str, ...] = ()


@dataclass(frozen=True)
class Merge:
    """What merging a template would do, and every problem that stops it."""

    template: Path
    outcomes: Path
    text: str
    original: bytes
    changes: tuple[Change, ...] = ()
    skipped: int = 0
    problems: tuple[Problem, ...] = field(default=())

    @property
    def errors(self) -> list[Problem]:
        """The problems that are errors (not warnings)."""
        return [p for p in self.problems if not p.warning]


def row_texts(text: str) -> list[tuple[list[str], str]]:
    """Each CSV record of ``text`` with the exact text it was read from."""
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    out = []
    for row in csv.reader(lines()):
        out.append((row, "".join(consumed)))
        consumed.clear()
    return out


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _key(row: Row) -> tuple[str, str]:
    return str(row.get("record_id") or ""), str(row.get("arm") or "")


class _Builder:
    """Collects the changes and the template-level problems of one merge."""

    def __init__(
        self, template: Path, outcomes: Path, columns: list[str], windows: Mapping[str, Window]
    ) -> None:
        self.template, self.outcomes, self.columns = str(template), str(outcomes), columns
        self.windows = windows
        #: Template lines of filled rows without their source (checked as if it were given).
        self.unsourced: set[int] = set()
        self.problems: list[Problem] = []
        self.changes: list[Change] = []
        self.added: list[tuple[int, Row]] = []
        self.replaced: dict[int, tuple[int, Row]] = {}
        self.skipped = 0
        #: (file, line, row) of every row a new record must not repeat.
        self.records: list[tuple[str, int, Row]] = []

    def problem(self, line: int, column: str, message: str, warning: bool = False) -> None:
        self.problems.append(Problem(self.template, line, column, message, warning))

    def sourced(self, line: int, row: Row) -> None:
        lacking = [col for col in SOURCE_COLUMNS if not row.get(col)]
        if lacking:
            self.unsourced.add(line)
            self.problem(
                line,
                lacking[0],
                "a filled value needs its source_id, location and quote "
                f"(missing: {', '.join(lacking)})",
            )

    def numbers(self, line: int, row: Row, merged: Row) -> None:
        """Check that number cells hold numbers (or nothing) and that a mean comes with its SD."""
        for col in NUMBER_COLUMNS:
            value = row.get(col)
            if value and value.strip() in MISSING_TEXTS:
                self.problem(line, col, f"{value!r}: write the number, or leave the cell "
                             "empty when the source has none")  # fmt: skip
        if merged.get("derivation") or merged.get("data_type") != "arm":
            return
        for given, other in (("mean", "sd"), ("sd", "mean")):
            if row.get(given) and not merged.get(other):
                self.problem(line, other, f"a {given} needs its {other} (or a derivation giving "
                             "it); leave both empty if the source has none")  # fmt: skip

    def repeats(self, line: int, row: Row) -> None:
        """Return a new row must not repeat a record already there (or already added)."""
        for file, other_line, other in self.records:
            if _same_record(row, other):
                self.problem(line, "record_id", f"repeats {other.get('record_id')!r} "
                             f"({file}:{other_line}): same report, outcome, time point, arm "
                             "and numbers; a record is entered once")  # fmt: skip
                break
        self.records.append((self.template, line, row))

    def when(self, line: int, row: Row, window: Window | None) -> None:
        """Warn when a new record's time point is not in the window of its template row."""
        months = number(row.get("timepoint_months"))
        if window is None or window.is_longest:
            return
        if months is None or not window.contains(months):
            self.problem(
                line,
                "timepoint_months",
                f"{row.get('timepoint_months') or 'no time point'} is outside the template "
                f"row's window {window.key} ({window.label}); the record counts where its time "
                "point falls",
                warning=True,
            )

    def new(self, line: int, row: Row) -> None:
        if not any(row.get(c) for c in VALUE_COLUMNS):
            self.skipped += 1
            if any(row.get(c) for c in SOURCE_COLUMNS):
                self.problem(line, "source_id", "a source but no number: left as a gap", True)
            return
        self.sourced(line, row)
        self.numbers(line, row, row)
        self.repeats(line, row)
        self.when(line, row, self.windows.get(str(row.get("window"))))
        self.added.append((line, _inert(row)))
        self.changes.append(Change(line, *_key(row)))

    def fill(self, line: int, row: Row, index: int, old_line: int, old: Row) -> None:
        filled = tuple(c for c in VALUE_COLUMNS if not old.get(c) and row.get(c))
        if not filled:
            self.skipped += 1
            return
        self.sourced(line, row)
        merged = dict(old)
        inert = _inert(row)
        for col in self.columns:
            if col in REPLACEABLE or not old.get(col):
                merged[col] = inert.get(col)
            elif not same_value(old.get(col), row.get(col)):
                self.problem(
                    line,
                    col,
                    f"would change {old.get(col)!r} ({self.outcomes}:{old_line}) to "
                    f"{row.get(col) or '(empty)'!r}; a template only fills empty cells",
                )
        before = (old.get("source_id"), old.get("location"))
        if before[0] and before != (row.get("source_id"), row.get("location")):
            note = f"numbers first recorded from {old['source_id']} ({old.get('location')})"
            merged["caveat"] = "; ".join(p for p in (row.get("caveat"), note) if p)
        self.numbers(line, {c: row.get(c) for c in filled},
                     {c: row.get(c) or old.get(c) for c in self.columns})  # fmt: skip
        self.replaced[index] = (line, merged)
        replaced = tuple(
            c for c in self.columns if c in REPLACEABLE and (old.get(c) or "") != (merged[c] or "")
        )
        self.changes.append(Change(line, *_key(row), old_line, filled, replaced))


def _read_template(path: Path, columns: list[str]) -> tuple[list[tuple[int, Row]], list[Problem]]:
    try:
        table = read_table(path)
    except DataError as err:
        return [], [Problem(str(path), err.line() or 0, "", err.message)]
    header = list(table.frame.columns)
    problems = [
        Problem(str(path), 1, c, "missing required column") for c in columns if c not in header
    ]
    problems += [
        Problem(str(path), 1, c, "unknown column")
        for c in header
        if c not in columns and c not in HELPER_COLUMNS
    ]
    keep = [*columns, *(c for c in HELPER_COLUMNS if c in header)]
    rows = [
        (line, {c: unescape(r.get(c)) for c in keep})
        for line, r in zip(table.lines, table.frame.to_dict("records"), strict=True)
    ]
    return rows, problems


def _cells(row: Row, columns: list[str], unsourced: bool) -> list[str]:
    """Return a row's cells, with a stand-in source where its source was already reported.

    A row's cells; a row already reported for lacking its source gets a stand-in source so that
    every other check still runs on it (such a merge is never written).
    """
    return [
        row.get(c) or ("(no source)" if unsourced and c in SOURCE_COLUMNS else "") for c in columns
    ]


def _compose(
    text: str, columns: list[str], b: _Builder, lines: tuple[int, ...]
) -> tuple[str, list[tuple[str, int]]]:
    """Return the merged outcomes.csv and, per data row, the (file, line) it comes from."""
    spans = row_texts(text)
    parts = [spans[0][1]] if spans else []
    origin: list[tuple[str, int]] = []
    i = 0
    for row, raw in spans[1:]:
        if len(row) <= 1 and not "".join(row).strip():
            parts.append(raw)  # a blank line, kept
            continue
        if i in b.replaced:
            line, merged = b.replaced[i]
            parts.append(_csv_line(_cells(merged, columns, line in b.unsourced)))
            origin.append((b.template, line))
        else:
            parts.append(raw)
            origin.append((b.outcomes, lines[i]))
        i += 1
    if parts and not parts[-1].endswith(("\n", "\r")):
        parts[-1] += "\n"
    for line, new in b.added:
        parts.append(_csv_line(_cells(new, columns, line in b.unsourced)))
        origin.append((b.template, line))
    return "".join(parts), origin


def _validate(
    studies: Path, text: str, origin: list[tuple[str, int]], template: str
) -> list[Problem]:
    """Return every problem of the studies folder with the merged outcomes.csv.

    Every problem of the studies folder with the merged outcomes.csv, located at its origin
    (warnings only for the template's rows).
    """
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / (studies.name or "records")
        scratch.mkdir()
        for name in (*(f"{n}.csv" for n in FILES), FILE_NAME):
            if (studies / name).is_file():
                shutil.copyfile(studies / name, scratch / name)
        merged = scratch / "outcomes.csv"
        merged.write_bytes(text.encode("utf-8"))
        try:
            by_line = {line: i for i, line in enumerate(read_table(merged).lines)}
        except DataError:
            by_line = {}
        for p in validate_studies(scratch):
            file = p.file.replace(str(scratch), str(studies))
            line = p.line
            if p.file == str(merged) and p.line in by_line:
                file, line = origin[by_line[p.line]]
            if p.warning and file != template:
                continue
            message = p.message.replace(str(scratch), str(studies))
            out.append(Problem(file, line, p.column, message, p.warning))
    return out


def plan_merge(template: str | Path, studies: str | Path) -> Merge:
    """Check a filled template against a studies folder.

    Nothing is written (see :func:`write_merge`).
    """
    template, studies = Path(template), Path(studies)
    outcomes = studies / "outcomes.csv"
    try:
        table = read_table(outcomes)
        original = read_regular_bytes(outcomes)
    except (DataError, OSError) as err:
        where = err.line() or 0 if isinstance(err, DataError) else 0
        message = err.message if isinstance(err, DataError) else str(err)
        return Merge(
            template, outcomes, "", b"", problems=(Problem(str(outcomes), where, "", message),)
        )
    columns = list(table.frame.columns)
    rows, problems = _read_template(template, columns)
    if problems:
        return Merge(template, outcomes, "", original, problems=tuple(problems))
    existing = {
        _key(r): (i, line, r)
        for i, (line, r) in enumerate(zip(table.lines, table.frame.to_dict("records"), strict=True))
    }
    try:
        windows = load_review(studies).windows
    except SpecError:
        windows = {}  # validation reports the broken review.toml
    b = _Builder(template, outcomes, columns, windows)
    b.records = [(str(outcomes), line, r) for _i, line, r in existing.values()]
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows:
        key = _key(row)
        if key in seen:
            b.problem(
                line,
                "record_id",
                f"{key[0]!r} ({key[1] or 'contrast'}) is also on line {seen[key]} of the template",
            )
            continue
        seen[key] = line
        if key in existing:
            b.fill(line, row, *existing[key])
        else:
            b.new(line, row)
    text = original.decode("utf-8-sig")
    merged, origin = _compose(text, columns, b, table.lines)
    found = list(b.problems)
    if b.changes:
        found += [
            p
            for p in _validate(studies, merged, origin, str(template))
            if not (
                p.file == str(template) and p.line in b.unsourced and p.column in SOURCE_COLUMNS
            )
        ]
    return Merge(
        template,
        outcomes,
        merged if b.changes else text,
        original,
        tuple(b.changes),
        b.skipped,
        tuple(sorted(set(found))),
    )


def write_merge(merge: Merge) -> Path:
    """Write the merged outcomes.csv atomically.

    Write the merged outcomes.csv atomically (only a merge without errors, and only if outcomes.csv
    has not changed since it was checked).
    """
    if merge.errors:
        raise ValueError(f"{merge.template}: the template has problems; nothing merged")
    if read_regular_bytes(merge.outcomes) != merge.original:
        raise ValueError(f"{merge.outcomes}: changed since the merge was checked; merge again")
    return write_text_atomic(merge.outcomes, merge.text)
