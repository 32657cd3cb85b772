"""Effect sizes of two-arm event counts over person-time: incidence rate ratio and difference.

Zero events (``to="only0"``): ``add`` is added to both arms' event counts of a study with no
events in an arm; person-time is unchanged (metafor's ``escalc`` for IRR and IRD).

References
----------
Rothman KJ, Greenland S, Lash TL (2008). Modern Epidemiology, 3rd ed., chapter 14 (rate ratios and
    differences and their variances).
"""

from __future__ import annotations

import numpy as np

from metafuse._arrays import ArrayLike, FloatArray, as_float
from metafuse.effects.binary import DEFAULT_ADD, DEFAULT_TO, CorrectWhen, correction


def corrected_events(
    events_exp: ArrayLike,
    events_ctrl: ArrayLike,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
) -> tuple[FloatArray, FloatArray]:
    """Event counts after the continuity correction (tables with a zero count, or as ``to``)."""
    x1, x2 = as_float(events_exp), as_float(events_ctrl)
    inc = correction((x1 == 0) | (x2 == 0), add=add, to=to)
    return x1 + inc, x2 + inc


def incidence_rate_ratio(
    events_exp: ArrayLike,
    time_exp: ArrayLike,
    events_ctrl: ArrayLike,
    time_ctrl: ArrayLike,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
) -> tuple[FloatArray, FloatArray]:
    """Log incidence rate ratio ``log(x1/t1) - log(x2/t2)`` with variance ``1/x1 + 1/x2``."""
    x1, x2 = corrected_events(events_exp, events_ctrl, add=add, to=to)
    t1, t2 = as_float(time_exp), as_float(time_ctrl)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x1 / t1) - np.log(x2 / t2), 1 / x1 + 1 / x2


def log_incidence_rate(
    events: ArrayLike, time: ArrayLike, *, add: float = DEFAULT_ADD, to: CorrectWhen = DEFAULT_TO
) -> tuple[FloatArray, FloatArray]:
    """Log incidence rate of one group, ``log(x / t)``, with variance ``1/x`` (``x`` Poisson).

    Log incidence rate of one group, ``log(x / t)``, with variance ``1/x`` (``x`` Poisson); ``add``
    goes to a zero count (``to="only0"``; metafor's ``escalc(measure="IRLN")``).
    """
    x, t = as_float(events), as_float(time)
    x = x + correction(x == 0, add=add, to=to)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / t), 1 / x


def incidence_rate_difference(
    events_exp: ArrayLike,
    time_exp: ArrayLike,
    events_ctrl: ArrayLike,
    time_ctrl: ArrayLike,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
) -> tuple[FloatArray, FloatArray]:
    """Incidence rate difference ``x1/t1 - x2/t2`` with variance ``x1/t1^2 + x2/t2^2``."""
    x1, x2 = corrected_events(events_exp, events_ctrl, add=add, to=to)
    t1, t2 = as_float(time_exp), as_float(time_ctrl)
    return x1 / t1 - x2 / t2, x1 / t1**2 + x2 / t2**2
