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
from typing import Final

import pandas as pd

from metafuse.exceptions import DataError

#: Cell texts that mean "missing" in a numeric column (R writes NA). A text column keeps them:
#: a study may be called "NA".
MISSING_TEXTS: Final = frozenset({"", "NA", "N/A", "na", "n/a", "NaN", "nan", "null", "NULL"})
#: Files larger than this are refused (a meta-analysis CSV is kilobytes; this stops a runaway
#: read of a wrong file).
MAX_BYTES: Final = 64 * 1024 * 1024


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
    """Return the bytes of a regular file, refusing FIFOs, devices, folders and oversized files."""
    p = Path(path)
    src = str(p)
    try:
        info = p.stat()
    except OSError as err:
        raise DataError(f"cannot read file: {err.strerror or err}", source=src) from None
    import stat

    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise DataError(f"cannot read file: {kind}", source=src)
    if info.st_size > max_bytes:
        raise DataError(
            f"file too large ({info.st_size:,} bytes; the limit is {max_bytes:,})", source=src
        )
    try:
        with p.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as err:
        raise DataError(f"cannot read file: {err.strerror or err}", source=src) from None
    if len(raw) > max_bytes:
        raise DataError(f"file too large (the limit is {max_bytes:,} bytes)", source=src)
    return raw


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


def read_table(path: str | os.PathLike[str]) -> Table:
    """Read a CSV file as a :class:`Table` of stripped strings (empty cells as None).

    Raises :class:`DataError` (naming the file) for a missing, unreadable, non-regular, oversized,
    binary, non-UTF-8, empty or malformed file (a row with more or fewer fields than the header,
    as a truncated file has), or a header with empty or duplicated column names. Blank lines are
    skipped, and line numbers in errors count them, as an editor does.
    """
    src = str(Path(path))
    text = decode_text(read_bytes_checked(path), src)
    if not text.strip():
        raise DataError("empty file (no header row)", source=src)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as err:
        raise DataError(f"malformed CSV: {err}", source=src) from None
    names = [h.strip() for h in rows[0]]
    for j, name in enumerate(names):
        if not name:
            raise DataError(f"header: column {j + 1} has no name", source=src)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"header: duplicated column name {dupes[0]!r}", source=src)
    body, body_lines = [], []
    for row, line in zip(rows[1:], lines[1:], strict=True):
        if len(row) <= 1 and not "".join(row).strip():
            continue  # a blank line
        if len(row) != len(names):
            raise DataError(
                f"malformed CSV: expected {len(names)} fields as in the header, found {len(row)}",
                row=0,
                source=src,
                lines=[line],
            )
        body.append([cell.strip() or None for cell in row])
        body_lines.append(line)
    frame = pd.DataFrame(body, columns=names, dtype=object)
    return Table(frame=frame, source=src, lines=tuple(body_lines))
