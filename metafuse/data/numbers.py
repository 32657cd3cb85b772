"""Numbers as a spreadsheet reads them, the one rule every reader of a user's file applies.

Numbers as a spreadsheet reads them, the one rule every reader of a user's file applies (study CSVs
for ``pool``, the studies files for ``validate``, ``reconcile``, ``merge``, RevMan files).

A number is ASCII digits with one optional sign, at most one decimal point and an optional exponent:
``12``, ``-0.5``, ``.5``, ``12.``, ``1.2e-3``. Python's ``float`` accepts more (``1_000``, full-
width ``１２``, Arabic-Indic ``١٢`` and every other Unicode digit, ``inf``, ``nan``), and a
spreadsheet or R would read none of those as the same number, so each is refused with its reason.
"""

from __future__ import annotations

import math
import re
from typing import Final

#: A number as a spreadsheet reads it (ASCII only: ``\\d`` is 0-9 here).
NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def is_number(text: str) -> bool:
    """Return True if ``text`` (surrounding spaces ignored) is a number in this module's sense."""
    return NUMBER.fullmatch(text.strip()) is not None


def looks_like_python_number(text: str) -> bool:
    """Return True if Python's ``float`` reads ``text`` as a number written with digits.

    ``1_000`` and ``١٢`` are such numbers; ``inf`` is not.
    """
    try:
        float(text)
    except ValueError:
        return False
    return any(c.isdigit() for c in text)


def parse_number(text: str) -> float:
    """Return the finite number written in ``text`` (surrounding spaces ignored).

    Raises ``ValueError`` with a reason that names the text: ``not a number: '1_000' (no digit
    separators: write 1000)``, ``not a number: '١٢' (digits must be 0-9)``, ``not a finite number:
    '1e999'``.
    """
    stripped = text.strip()
    if NUMBER.fullmatch(stripped) is None:
        raise ValueError(f"not a number: {text!r}{_why(stripped)}")
    value = float(stripped)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def _why(text: str) -> str:
    if any(c.isdigit() and not c.isascii() for c in text):
        return " (digits must be 0-9)"
    if "_" in text and looks_like_python_number(text):
        return f" (no digit separators: write {text.replace('_', '')})"
    return ""
