"""Writing outputs atomically and deterministically, with inert CSV cells.

Writing outputs: atomically, deterministically, with permissions as the umask says, and CSV cells
that a spreadsheet cannot run as formulas.

Outputs are written to a temporary file in the target folder and renamed into place, so that a
failure never leaves a half-written file. JSON has sorted keys and no NaN; CSV cells that begin
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed with ``'`` (OWASP's rule
against CSV injection), except plain numbers such as ``-0.5``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

#: Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    The file gets the mode a normal ``open()`` would give it (0666 minus the umask).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    r"""Write ``text`` (UTF-8, ``\n`` line ends) to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def to_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, 2-space indent, trailing newline, no NaN or infinity."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def csv_cell(value: Any) -> str:
    """Return a cell as text, with formula-looking text made inert (numbers left as they are)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.match(text):
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    r"""Return CSV text (``\n`` line ends) with every cell passed through :func:`csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return buffer.getvalue()


def frame_to_csv(frame: Any, float_format: str | None = None) -> str:
    """Return a pandas DataFrame as CSV through :func:`to_csv` (floats with ``float_format``)."""

    def fmt(x: Any) -> Any:
        if isinstance(x, float) and float_format is not None:
            return format(x, float_format)
        return x

    return to_csv(
        list(frame.columns), ([fmt(x) for x in row] for row in frame.itertuples(index=False))
    )
