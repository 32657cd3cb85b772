"""Reading study CSV files and writing outputs atomically.

CSV files are read as text, so that every value is checked by :mod:`metafuse.inputs` rather than
guessed by a parser; unreadable, binary or malformed files raise :class:`DataError` naming the file.
Outputs are written to a temporary file in the target folder and renamed into place, so that a
failure never leaves a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from metafuse.exceptions import DataError

#: Cell texts read as missing values.
MISSING_TEXTS = ["", "NA", "N/A", "na", "n/a", "NaN", "nan", "null", "NULL"]


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV file as a DataFrame of strings (missing cells as NaN).

    Raises :class:`DataError` (naming the file) for a missing, unreadable, binary, non-UTF-8,
    empty or malformed file (a row with more or fewer fields than the header, as a truncated file
    has), or a header with empty or duplicated column names. Blank lines are skipped, and line
    numbers in errors count them, as an editor does.
    """
    p = Path(path)
    src = str(p)

    def fail(message: str) -> DataError:
        return DataError(message, source=src)

    try:
        raw = p.read_bytes()
    except OSError as err:
        raise fail(f"cannot read file: {err.strerror or err}") from None
    if b"\x00" in raw:
        raise fail("binary file (contains NUL bytes), not CSV text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise fail(f"not UTF-8 text (invalid byte at offset {err.start})") from None
    if not text.strip():
        raise fail("empty file (no header row)")
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
            raise fail(f"header: column {j + 1} has no name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise fail(f"header: duplicated column name {dupes[0]!r}")
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
        body.append([None if cell.strip() in MISSING_TEXTS else cell.strip() for cell in row])
        body_lines.append(line)
    frame = pd.DataFrame(body, columns=names, dtype=object)
    frame.attrs["source"] = src
    frame.attrs["lines"] = body_lines
    return frame


def locate(error: DataError, frame: pd.DataFrame) -> DataError:
    """Locate a :class:`DataError` raised on ``frame`` in the file it was read from."""
    source = frame.attrs.get("source")
    if source is None:
        return error
    return error.with_source(source, frame.attrs.get("lines"))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` via a temporary file and a rename."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
