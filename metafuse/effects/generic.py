"""Generic inverse variance: an effect with its standard error, or an estimate with its CI."""

from __future__ import annotations

from typing import Final

import numpy as np
from scipy import special

from metafuse._arrays import ArrayLike, FloatArray, as_float

#: Coverage of the CIs that generic rows give.
LEVEL: Final = 0.95


def from_confidence_interval(
    estimate: ArrayLike,
    ci_low: ArrayLike,
    ci_high: ArrayLike,
    *,
    ratio: bool = False,
    level: float = LEVEL,
) -> tuple[FloatArray, FloatArray]:
    """Effect and standard error ``(yi, sei)`` from an estimate and its confidence interval.

    For ratio measures (``ratio=True``) the estimate and limits are on the ratio scale and are
    log-transformed first. ``sei = (upper - lower) / (2 z)``, with ``z = 1.959964`` for a 95% CI
    (Cochrane Handbook, version 6, section 6.3.1 and 6.5.2.3).
    """
    est, lo, hi = map(as_float, (estimate, ci_low, ci_high))
    if ratio:
        est, lo, hi = np.log(est), np.log(lo), np.log(hi)
    z = special.ndtri(0.5 + level / 2)
    return est, (hi - lo) / (2 * z)
