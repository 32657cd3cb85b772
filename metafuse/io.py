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
    empty or malformed file, or a header with empty or duplicated column names.
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
    header = next(csv.reader(io.StringIO(text)))
    names = [h.strip() for h in header]
    for j, name in enumerate(names):
        if not name:
            raise fail(f"header: column {j + 1} has no name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise fail(f"header: duplicated column name {dupes[0]!r}")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=MISSING_TEXTS,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as err:
        msg = " ".join(str(err).split())
        raise fail(f"malformed CSV: {msg}") from None
    frame.columns = names
    return frame


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
