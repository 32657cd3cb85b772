"""Reading study CSV files as text, each value checked rather than guessed by a parser.

Reading study CSV files as text, so that every value is checked by :mod:`metafuse.data.validate`
rather than guessed by a parser.

Unreadable, binary, oversized, non-regular (FIFO, device) or malformed files raise
:class:`~metafuse.exceptions.DataError` naming the file (and line). Input files are never
modified.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from metafuse.exceptions import DataError
from metafuse.files import MAX_BYTES, read_regular_bytes

#: Cell texts that mean "missing" in a numeric column (R writes NA). A text column keeps them:
#: a study may be called "NA".
MISSING_TEXTS: Final = frozenset({"", "NA", "N/A", "na", "n/a", "NaN", "nan", "null", "NULL"})


@dataclass(frozen=True)
class Table:
    """A CSV file read as text: the cells (empty as None), its path and each row's line."""

    frame: pd.DataFrame
    source: str
    lines: tuple[int, ...]

    def locate(self, error: DataError) -> DataError:
        """Return the same error, located in this file (with the line number of each data row)."""
        return error.with_source(self.source, self.lines)


def read_bytes_checked(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> bytes:
    """Return the bytes of a regular file, refusing FIFOs, devices, folders and oversized files.

    See :func:`metafuse.files.read_regular_bytes`.
    """
    return read_regular_bytes(path, max_bytes=max_bytes)


def decode_text(raw: bytes, source: str) -> str:
    """UTF-8 text (a BOM is dropped); NUL bytes or invalid UTF-8 are errors naming the file."""
    if b"\x00" in raw:
        raise DataError("binary file (contains NUL bytes), not CSV text", source=source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(
            f"not UTF-8 text (invalid byte at offset {err.start})", source=source
        ) from None


#: Data rows read at most: no meta-analysis has two million studies; a longer file is a wrong
#: file (participant-level data, a log) and would take gigabytes to pool (every study is an
#: object of the result), so it is refused before anything is computed.
MAX_ROWS: Final = 2_000_000
#: Distinct cell texts shared per column (a number column of a million rows holds a few hundred
#: distinct texts: one string object each, not a million); beyond this many, a column (labels)
#: is read without sharing.
SHARED_TEXTS: Final = 4096


def _columns(reader: Any, names: list[str], src: str) -> tuple[list[list[str | None]], list[int]]:
    """Return the body of a CSV, column by column.

    The body of a CSV, column by column (stripped cells, empty as None), and the line of each row;
    blank lines skipped, a row of the wrong width an error naming its line.
    """
    columns: list[list[str | None]] = [[] for _ in names]
    shared: list[dict[str, str] | None] = [{} for _ in names]
    lines: list[int] = []
    width = len(names)
    try:
        for row in reader:
            if len(row) <= 1 and not "".join(row).strip():
                continue  # a blank line
            if len(lines) >= MAX_ROWS:
                raise DataError(
                    f"more than {MAX_ROWS:,} data rows: not a table of studies (the limit of "
                    "a study CSV)",
                    source=src,
                )
            if len(row) != width:
                raise DataError(
                    f"malformed CSV: expected {width} fields as in the header, found {len(row)}",
                    row=0,
                    source=src,
                    lines=[reader.line_num],
                )
            for j, cell in enumerate(row):
                text = cell.strip()
                cache = shared[j]
                if text and cache is not None:
                    text = cache.setdefault(text, text)
                    if len(cache) > SHARED_TEXTS:
                        shared[j] = None
                columns[j].append(text or None)
            lines.append(reader.line_num)
    except csv.Error as err:
        raise DataError(f"malformed CSV: {err}", source=src) from None
    return columns, lines


def read_table(path: str | os.PathLike[str]) -> Table:
    """Read a CSV file as a :class:`Table` of stripped strings (empty cells as None).

    Raises :class:`DataError` (naming the file) for a missing, unreadable, non-regular, oversized,
    binary, non-UTF-8, empty or malformed file (a row with more or fewer fields than the header,
    as a truncated file has), or a header with empty or duplicated column names. Blank lines are
    skipped, and line numbers in errors count them, as an editor does.
    """
    src = str(Path(path))
    raw = read_bytes_checked(path)
    text = decode_text(raw, src)  # checks the whole file is UTF-8 text
    if not text or text.isspace():
        raise DataError("empty file (no header row)", source=src)
    del text  # read again as a stream: a StringIO would hold four bytes per character
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline=""))
    try:
        names = [h.strip() for h in next(reader)]
    except csv.Error as err:
        raise DataError(f"malformed CSV: {err}", source=src) from None
    for j, name in enumerate(names):
        if not name:
            raise DataError(f"header: column {j + 1} has no name", source=src)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"header: duplicated column name {dupes[0]!r}", source=src)
    columns, body_lines = _columns(reader, names, src)
    frame = pd.DataFrame(
        {name: cells for name, cells in zip(names, columns, strict=True)}, dtype=object
    )
    return Table(frame=frame, source=src, lines=tuple(body_lines))
