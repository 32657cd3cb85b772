"""The checks :func:`metafuse.pool_many` makes of its arguments.

The checks :func:`metafuse.pool_many` makes of its arguments, each failing with one ``ValueError``
that says what is wrong and where (never a numpy traceback or warning).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from metafuse._arrays import BoolArray, FloatArray
from metafuse.measures import TABLE_METHODS, normalise_method
from metafuse.model import GENERALISED_Q_METHODS

#: Accepted variances and effect sizes: within these bounds every power and sum the estimators
#: form (up to ``w^3 r^2`` with ``w = 1/v``) stays a finite double; beyond them lie only
#: subnormal, tiny or overflowing values.
VARIANCE_RANGE: Final = (1e-60, 1e60)
EFFECT_LIMIT: Final = 1e60
#: Methods that need what pool_many does not take.
NEEDS_WEIGHTS: Final = GENERALISED_Q_METHODS


def batch_method(method: object) -> str:
    """Check the method code (``FE`` or a tau^2 estimator); refuse 2x2-table or weighted ones."""
    if not isinstance(method, str):
        raise ValueError(f"method must be a name such as 'REML' or 'DL', got {method!r}")
    if method.strip().upper() in TABLE_METHODS:
        raise ValueError(
            f"{method} pools 2x2 tables; pool_many takes effect sizes (FE or a "
            "random-effects method)"
        )
    code = normalise_method(method, "GEN")
    if code in NEEDS_WEIGHTS:
        raise ValueError(f"{code} needs user weights, which pool_many does not take")
    return code


def flag(value: object, name: str) -> bool:
    """Return a True/False option (a string such as 'no' would otherwise read as True)."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _numbers(values: npt.ArrayLike, name: str) -> FloatArray:
    """``values`` as a float64 array, refusing text, booleans, complex numbers and ragged lists."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a rectangular array of numbers ({exc})") from None
    kind = arr.dtype.kind
    if kind == "O":
        odd = [x for x in arr.flat if not _is_real(x)][:1]
        if odd:
            raise ValueError(f"{name} must hold numbers only; found {odd[0]!r}")
        return arr.astype(np.float64)
    if kind not in "iuf":
        what = {"U": "text", "S": "bytes", "b": "booleans", "c": "complex numbers"}
        example = f" such as {arr.flat[0]!r}" if arr.size else ""
        raise ValueError(f"{name} must hold numbers, not {what.get(kind, arr.dtype)}{example}")
    return arr.astype(np.float64)


def _is_real(x: object) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(
        x, bool | np.bool_
    )


def _mask(mask: npt.ArrayLike | None, shape: tuple[int, ...]) -> BoolArray | None:
    if mask is None:
        return None
    arr = np.asarray(mask)
    if arr.dtype.kind in "iu" and arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError("mask must hold booleans (or 0/1)")
    if arr.dtype.kind not in "biu":
        raise ValueError(f"mask must hold booleans, not {arr.dtype}")
    try:
        return np.broadcast_to(arr.astype(bool), shape)
    except ValueError:
        raise ValueError(
            f"mask of shape {arr.shape} does not fit yi and vi of shape {shape}"
        ) from None


def _position(flat: BoolArray, lead: tuple[int, ...]) -> str:
    """Where the first True of ``flat`` (m, k) lies in the caller's shape."""
    row, col = (int(i) for i in np.argwhere(flat)[0])
    return str((*index_of(row, lead), col)) if lead else f"study {col}"


def index_of(row: int, lead: tuple[int, ...]) -> tuple[int, ...]:
    """Return the caller's index of flat row ``row``."""
    return tuple(int(i) for i in np.unravel_index(row, lead))


def batch_arrays(
    yi: npt.ArrayLike, vi: npt.ArrayLike, mask: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray, BoolArray | None, tuple[int, ...]]:
    """``yi``, ``vi`` and ``mask`` as 2-D ``(m, k)`` arrays, and the caller's leading shape."""
    y, v = _numbers(yi, "yi"), _numbers(vi, "vi")
    if y.ndim == 0 or y.shape != v.shape:
        raise ValueError(
            f"yi and vi need the same shape with the studies on the last axis, got {y.shape} "
            f"and {v.shape}"
        )
    lead, k = y.shape[:-1], y.shape[-1]
    if k == 0 or y.size == 0:
        raise ValueError(f"yi and vi hold no meta-analysis with studies (shape {y.shape})")
    m = _mask(mask, y.shape)
    y2, v2 = y.reshape(-1, k), v.reshape(-1, k)
    m2 = None if m is None else m.reshape(-1, k)
    empty = ~m2.any(axis=1) if m2 is not None else np.zeros(len(y2), dtype=bool)
    if empty.any():
        where = index_of(int(np.flatnonzero(empty)[0]), lead)
        raise ValueError(
            f"every meta-analysis needs at least one study in the mask; {where} has none"
        )
    used = np.ones(y2.shape, dtype=bool) if m2 is None else m2
    with np.errstate(invalid="ignore"):
        bad = used & ~(np.isfinite(y2) & np.isfinite(v2) & (v2 > 0))
        if bad.any():
            raise ValueError(
                "yi and vi must be finite with vi > 0 where the mask is set; not at "
                + _position(bad, lead)
            )
        low, high = VARIANCE_RANGE
        bad = used & ((v2 < low) | (v2 > high))
        if bad.any():
            at = tuple(np.argwhere(bad)[0])
            raise ValueError(
                f"vi must lie between {low:g} and {high:g} (subnormal, tiny or overflowing "
                f"variances cannot be pooled in double precision); {v2[at]:g} at "
                + _position(bad, lead)
            )
        bad = used & (np.abs(y2) > EFFECT_LIMIT)
        if bad.any():
            at = tuple(np.argwhere(bad)[0])
            raise ValueError(
                f"yi must lie within +/-{EFFECT_LIMIT:g}; {y2[at]:g} at " + _position(bad, lead)
            )
    return y2, v2, m2, lead
