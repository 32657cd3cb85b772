"""Files in and out, safely.

Inputs read only from regular files of bounded size; outputs written atomically,
deterministically, with permissions as the umask says, and CSV cells that a spreadsheet cannot
run as formulas.

Every input a user names is opened through :func:`read_regular_bytes`: a FIFO, a device, a socket
or a folder is refused (reading a FIFO would block forever, ``/dev/zero`` would never end), and so
is a file over the size limit. Outputs are written to a temporary file in the target folder and
renamed into place, so that a failure never leaves a half-written file. JSON has sorted keys and
no NaN; CSV cells that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are
prefixed with ``'`` (OWASP's rule against CSV injection), except plain numbers such as ``-0.5``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from metafuse.exceptions import DataError

#: Input files larger than this are refused (a meta-analysis CSV or a RevMan review is kilobytes
#: to a few megabytes; the limit stops a runaway read of a wrong file).
MAX_BYTES: Final = 64 * 1024 * 1024

#: Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _kind(mode: int) -> str | None:
    """Return what a non-regular file is ("a folder", "a FIFO", ...), None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> bytes:
    """Return the bytes of the regular file at ``path`` (symlinks followed), never blocking.

    Raises :class:`~metafuse.exceptions.DataError` naming the file when it is missing or unreadable,
    not a regular file (a folder, FIFO, device or socket: these are checked before and after
    opening, which is done without blocking) or larger than ``max_bytes``.
    """
    src = str(Path(path))

    def refuse(reason: str) -> DataError:
        return DataError(f"cannot read file: {reason}", source=src)

    try:
        kind = _kind(os.stat(path).st_mode)
        if kind is not None:
            raise refuse(f"{kind}, not a regular file" if kind != "a folder" else kind)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise refuse(err.strerror or str(err)) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:  # swapped in since the check above
            raise refuse(f"{kind}, not a regular file")
        if info.st_size > max_bytes:
            raise DataError(
                f"file too large ({info.st_size:,} bytes; the limit is {max_bytes:,})", source=src
            )
        try:
            raw = _read_at_most(fh, max_bytes + 1, info.st_size + 1)
        except OSError as err:
            raise refuse(err.strerror or str(err)) from None
    if len(raw) > max_bytes:
        raise DataError(f"file too large (the limit is {max_bytes:,} bytes)", source=src)
    return raw


def _read_at_most(fh: Any, limit: int, first: int) -> bytes:
    """Up to ``limit`` bytes, asking for ``first`` bytes first (the file's size + 1.

    Up to ``limit`` bytes, asking for ``first`` bytes first (the file's size + 1: one read for a
    file that does not grow; no buffer of ``limit`` bytes is allocated up front).
    """
    chunks: list[bytes] = []
    total, want = 0, min(first, limit)
    while total < limit:
        chunk = fh.read(min(want, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        want = 1 << 20
    return b"".join(chunks)


def read_regular_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> str:
    """UTF-8 text of a regular file (see :func:`read_regular_bytes`).

    UTF-8 text of a regular file (see :func:`read_regular_bytes`); invalid UTF-8 is a
    :class:`~metafuse.exceptions.DataError` naming the byte offset.
    """
    raw = read_regular_bytes(path, max_bytes=max_bytes)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(
            f"not UTF-8 text (invalid byte at offset {err.start})", source=str(Path(path))
        ) from None


def current_umask() -> int:
    """Return the process's umask (read by setting it, and set back at once)."""
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
        os.chmod(tmp, 0o666 & ~current_umask())
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
