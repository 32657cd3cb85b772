"""Reading the derivation a record names: ``name`` or ``name(key=number, ...)``.

A record's ``derivation`` cell names one of the derivations of :mod:`metafuse.review.derivations`
with the inputs its source prints; this module reads that text safely (Python's :mod:`ast`, no
evaluation) and checks the keyword arguments each derivation takes.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping

#: Longest derivation text accepted (a call with a few keyword numbers is far shorter).
MAX_DERIVATION_CHARS = 300

#: A derivation's keyword arguments: the inputs as the source prints them.
Arguments = Mapping[str, float | str]


def number_of(kw: Arguments, key: str) -> float:
    """Return the number given for ``key`` in a derivation's arguments."""
    value = kw[key]
    if not isinstance(value, float):
        raise ValueError(f"{key} must be a number")
    return value


#: Keyword arguments of each derivation: (required, optional).
ARGUMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "flip_contrast": ((), ()),
    "ci_from_p": (("p",), ("n_total",)),
    "ci_from_t": (("t",), ()),
    "sd_from_se": (("se",), ()),
    "sd_from_ci": (("ci_low", "ci_high"), ()),
    "count_from_percent": (("percent",), ()),
    "change_sd": (("sd_baseline", "sd_final", "correlation"), ()),
    "median_range": (("minimum", "median", "maximum"), ()),
    "median_iqr": (("q1", "median", "q3"), ()),
    "five_numbers": (("minimum", "q1", "median", "q3", "maximum"), ()),
    "sd_from_p": (("p",), ()),
    "sd_from_t": (("t",), ()),
    "sd_borrowed": (("record",), ("arm",)),
    "ratio_from_reduction": (("percent", "low", "high"), ()),
}
#: Arguments given as quoted text (a record id, an arm); every other argument is a number.
TEXT_ARGUMENTS = frozenset({"record", "arm"})


def _argument(key: str, node: ast.expr, text: str) -> float | str:
    if key in TEXT_ARGUMENTS:
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            raise ValueError(f"derivation {text!r}: {key} must be quoted text")
        return node.value.strip()
    return _number(node, text)


def _number(node: ast.expr, text: str) -> float:
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    inner = node.operand if negative else node  # type: ignore[attr-defined]
    if (
        not isinstance(inner, ast.Constant)
        or isinstance(inner.value, bool)
        or not isinstance(inner.value, int | float)
    ):
        raise ValueError(f"derivation {text!r}: arguments must be key=number")
    value = -float(inner.value) if negative else float(inner.value)
    if not math.isfinite(value):
        raise ValueError(f"derivation {text!r}: arguments must be finite numbers")
    return value


def parse_derivation(text: str) -> tuple[str, dict[str, float | str]]:
    """Parse ``name`` or ``name(key=number, ...)`` naming a derivation of this module."""
    source = str(text).strip()
    if len(source) > MAX_DERIVATION_CHARS:
        raise ValueError(
            f"derivation too long ({len(source)} characters; at most {MAX_DERIVATION_CHARS})"
        )
    try:
        node = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(f"cannot read derivation {source[:60]!r}") from None
    if isinstance(node, ast.Name):
        name, keywords = node.id, []
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        name, keywords = node.func.id, node.keywords
        if any(kw.arg is None for kw in keywords):
            raise ValueError(f"derivation {source!r}: arguments must be key=number")
    else:
        raise ValueError(f"cannot read derivation {source[:60]!r}")
    if name not in ARGUMENTS:
        raise ValueError(f"unknown derivation {name!r}; known: {', '.join(sorted(ARGUMENTS))}")
    required, optional = ARGUMENTS[name]
    kwargs = {str(kw.arg): _argument(str(kw.arg), kw.value, source) for kw in keywords}
    unknown = sorted(set(kwargs) - set(required) - set(optional))
    lacking = [k for k in required if k not in kwargs]
    if unknown or lacking:
        wanted = ", ".join([*required, *(f"{k} (optional)" for k in optional)]) or "no arguments"
        raise ValueError(f"derivation {source!r}: {name} takes {wanted}")
    return name, kwargs


def derivation_name(text: object) -> str | None:
    """Return the name of the derivation a record's ``derivation`` cell names.

    The name of the derivation a record's ``derivation`` cell names (None when empty or unreadable).
    """
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return parse_derivation(text)[0]
    except ValueError:
        return None
