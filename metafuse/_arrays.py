"""Array type aliases shared by the package."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
ArrayLike = npt.ArrayLike


def as_float(x: ArrayLike) -> FloatArray:
    """``x`` as a float64 array."""
    return np.asarray(x, dtype=np.float64)
