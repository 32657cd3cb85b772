"""Single-arm proportions: logit and Freeman-Tukey double arcsine, with back-transformations.

References
----------
Freeman MF, Tukey JW (1950). Transformations related to the angular and the square root. Ann Math
    Stat 21:607-611.
Miller JJ (1978). The inverse of the Freeman-Tukey double arcsine transformation. Am Stat 32:138.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from metafuse._arrays import ArrayLike, FloatArray, as_float
from metafuse.effects.binary import DEFAULT_ADD, DEFAULT_TO, correction

if TYPE_CHECKING:
    from metafuse.effects.binary import CorrectWhen


def proportion_logit(
    events: ArrayLike, n: ArrayLike, *, add: float = DEFAULT_ADD, to: CorrectWhen = DEFAULT_TO
) -> tuple[FloatArray, FloatArray]:
    """Logit of a single-arm proportion, ``log(x / (n - x))``, variance ``1/x + 1/(n - x)``.

    With ``to="only0"`` (default) ``add`` is added to events and non-events when either is 0
    (metafor's ``escalc(measure="PLO")``).
    """
    x, nn = as_float(events), as_float(n)
    y = nn - x
    inc = correction((x == 0) | (y == 0), add=add, to=to)
    x, y = x + inc, y + inc
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / y), 1 / x + 1 / y


def proportion_freeman_tukey(events: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Freeman-Tukey double arcsine of a proportion and its variance ``1 / (4n + 2)``.

    ``t = (asin(sqrt(x / (n + 1))) + asin(sqrt((x + 1) / (n + 1)))) / 2`` (Freeman & Tukey 1950;
    metafor's ``escalc(measure="PFT")``, which halves the sum).
    """
    x, nn = as_float(events), as_float(n)
    t = 0.5 * (np.arcsin(np.sqrt(x / (nn + 1))) + np.arcsin(np.sqrt((x + 1) / (nn + 1))))
    return t, 1 / (4 * nn + 2)


def inverse_freeman_tukey(t: ArrayLike, n_harmonic: float) -> FloatArray:
    """Back-transform a Freeman-Tukey value to a proportion (Miller 1978, Am Stat 32:138).

    ``p = (1 - sign(cos 2t) sqrt(1 - (sin 2t + (sin 2t - 1/sin 2t)/n)^2)) / 2`` with ``n`` the
    harmonic mean of the study sizes; values beyond the transforms of 0 and 1 map to 0 and 1.
    """
    t = as_float(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * t)
        p = 0.5 * (1 - np.sign(np.cos(2 * t)) * np.sqrt(1 - (s + (s - 1 / s) / n_harmonic) ** 2))
    upper = proportion_freeman_tukey(n_harmonic, n_harmonic)[0]
    lower = proportion_freeman_tukey(0.0, n_harmonic)[0]
    return np.where(t > upper, 1.0, np.where(t < lower, 0.0, p))
