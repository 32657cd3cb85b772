"""Bounds of the parameters of priors and of a minimal important difference, and their checks.

A prior's scale or location outside these bounds is refused with a message that names the range:
a scale of 1e300 or 1e-300 would otherwise end in an overflow or a prior that is in effect a point
mass.
"""

from __future__ import annotations

import math
from typing import Final

#: Range of a prior's scale or SD on the analysis scale (tau's half-normal, half-Cauchy and half-t
#: scales, mu's normal SD). Beyond it a prior is in effect a point mass or flat, and the posterior
#: is not computed reliably: the quadrature grid of :mod:`metafuse.bayes.nnhm` starts from the
#: prior median of tau (a half-normal scale of 1e10 on log risk ratios of four trials gives a
#: posterior median of tau of 0.01 where every scale from 10 to 1e8 gives 0.30); an SD of 1e-300
#: divides by zero.
SCALE_RANGE: Final = (1e-6, 1e6)
#: Largest magnitude of a location on the analysis scale (mu's prior mean, a MID).
MAX_LOCATION: Final = 1e6
#: Range of the mean of log tau^2 of a log-normal prior: a prior median of tau within
#: :data:`SCALE_RANGE` (``exp(1e300)`` overflows).
LOG_TAU2_MEAN_RANGE: Final = (2 * math.log(SCALE_RANGE[0]), 2 * math.log(SCALE_RANGE[1]))
#: Largest SD of log tau^2 (the empirical priors have 1.0-2.8; an SD of 10 spreads 95% of the
#: prior over 17 orders of magnitude of tau).
MAX_LOG_TAU2_SD: Final = 10.0
#: Fewest degrees of freedom of a half-t prior (scipy's t quantiles do not converge near 0.001;
#: below 1 the tail is already heavier than the Cauchy's).
MIN_DF: Final = 0.1


def positive_number(name: str, value: float) -> float:
    """Return ``value`` as a float when it is positive and finite, else raise a ValueError."""
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def number_within(name: str, value: float, low: float, high: float) -> float:
    """Return ``value`` when it lies in [low, high], else raise a ValueError naming the range."""
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        where = f"at least {low:.3g}" if high == math.inf else f"between {low:.3g} and {high:.3g}"
        raise ValueError(f"{name} must be {where}, got {value!r}")
    return value


def prior_scale(name: str, value: float) -> float:
    """Return a prior's scale or SD when it is positive and within :data:`SCALE_RANGE`."""
    return number_within(name, positive_number(name, value), *SCALE_RANGE)


def checked_mid(mid: float | None) -> float | None:
    """Return a minimal important difference on the analysis scale.

    A minimal important difference on the analysis scale: positive, at most :data:`MAX_LOCATION`
    (None stays None).
    """
    if mid is None:
        return None
    if not (math.isfinite(mid) and mid > 0):
        raise ValueError(f"mid must be a positive number on the analysis scale, got {mid!r}")
    return number_within("mid", mid, 0.0, MAX_LOCATION)
