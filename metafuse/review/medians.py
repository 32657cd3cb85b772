"""Sample mean and SD from a median with its range, interquartile range or both.

Sample mean and SD from a median with its range, interquartile range or both (the five-number
summary), for trials that print medians.

Scenarios as in the papers: S1 = {minimum ``a``, median ``m``, maximum ``b``; n}, S2 = {first
quartile ``q1``, ``m``, third quartile ``q3``; n}, S3 = all five numbers. Every estimate assumes a
roughly normal distribution and is flagged approximate. The combination metafor's
``conv.fivenum`` uses by default (Luo means; Wan SDs for S1 and S2, Shi SD for S3) is what the
records' ``median_range``, ``median_iqr`` and ``five_numbers`` derivations compute.

``xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25))`` and ``eta(n) = 2 Phi^-1((0.75 n - 0.125) /
(n + 0.25))`` are Wan et al.'s approximations of the expected range and interquartile range of
n standard normal values, used for every n as metafor does (Wan et al.'s Table 1 lists exact
values of xi for n <= 50, which differ in the third decimal, e.g. 4.086 against 4.081 at n = 30).

References
----------
Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation from the
    sample size, median, range and/or interquartile range. BMC Med Res Methodol 14:135.
Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the sample size,
    median, mid-range, and/or mid-quartile range. Stat Methods Med Res 27:1785-1805.
Shi J, Luo D, Weng H, et al. (2020). Optimally estimating the sample standard deviation from the
    five-number summary. Res Synth Methods 11:641-654.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special


@dataclass(frozen=True)
class Derived:
    """A derived number and whether it is approximate (rounded counts, median-based means)."""

    value: float
    approximate: bool = False


def _check_n(n: float) -> None:
    if not n > 0:
        raise ValueError(f"n must be > 0, got {n}")


def _ordered(names: str, *values: float) -> None:
    if any(not math.isfinite(v) for v in values) or list(values) != sorted(values):
        shown = ", ".join(f"{v:g}" for v in values)
        raise ValueError(f"need {names}, got {shown}")


def xi(n: float) -> float:
    """Return Wan et al.'s (2014) expected range of n standard normal values.

    Wan et al. (2014): ``2 Phi^-1((n - 0.375) / (n + 0.25))``, the expected range of n standard
    normal values (Blom's approximation).
    """
    _check_n(n)
    return 2 * float(special.ndtri((n - 0.375) / (n + 0.25)))


def eta(n: float) -> float:
    """Return Wan et al.'s (2014) expected interquartile range of n standard normal values.

    Wan et al. (2014): ``2 Phi^-1((0.75 n - 0.125) / (n + 0.25))``, the expected interquartile range
    of n standard normal values.
    """
    _check_n(n)
    return 2 * float(special.ndtri((0.75 * n - 0.125) / (n + 0.25)))


def mean_sd_from_median_iqr(
    q1: float, median: float, q3: float, n: float
) -> tuple[Derived, Derived]:
    """Mean and SD from median and interquartile range (Wan et al. 2014, scenario C3 = S2).

    ``mean = (q1 + m + q3) / 3``; ``SD = (q3 - q1) / eta(n)``. Both approximate.
    """
    _check_n(n)
    _ordered("q1 <= median <= q3", q1, median, q3)
    return Derived((q1 + median + q3) / 3, True), Derived((q3 - q1) / eta(n), True)


def mean_sd_from_median_range(
    minimum: float, median: float, maximum: float, n: float
) -> tuple[Derived, Derived]:
    """Mean and SD from median and range (Wan et al. 2014, scenario C1 = S1).

    ``mean = (a + 2m + b) / 4``; ``SD = (b - a) / xi(n)``. Both approximate.
    """
    _check_n(n)
    _ordered("min <= median <= max", minimum, median, maximum)
    return Derived((minimum + 2 * median + maximum) / 4, True), Derived(
        (maximum - minimum) / xi(n), True
    )


def luo_mean_from_median_range(minimum: float, median: float, maximum: float, n: float) -> Derived:
    """Mean from median and range (Luo et al. 2018, scenario S1).

    ``mean = w (a + b) / 2 + (1 - w) m`` with ``w = 4 / (4 + n^0.75)``.
    """
    _check_n(n)
    _ordered("min <= median <= max", minimum, median, maximum)
    w = 4 / (4 + n**0.75)
    return Derived(w * (minimum + maximum) / 2 + (1 - w) * median, True)


def luo_mean_from_median_iqr(q1: float, median: float, q3: float, n: float) -> Derived:
    """Mean from median and interquartile range (Luo et al. 2018, scenario S2).

    ``mean = w (q1 + q3) / 2 + (1 - w) m`` with ``w = 0.7 + 0.39 / n``.
    """
    _check_n(n)
    _ordered("q1 <= median <= q3", q1, median, q3)
    w = 0.7 + 0.39 / n
    return Derived(w * (q1 + q3) / 2 + (1 - w) * median, True)


def luo_mean_from_five_numbers(
    minimum: float, q1: float, median: float, q3: float, maximum: float, n: float
) -> Derived:
    """Mean from the five-number summary (Luo et al. 2018, scenario S3).

    ``mean = w1 (a + b) / 2 + w2 (q1 + q3) / 2 + (1 - w1 - w2) m`` with
    ``w1 = 2.2 / (2.2 + n^0.75)`` and ``w2 = 0.7 - 0.72 / n^0.55``.
    """
    _check_n(n)
    _ordered("min <= q1 <= median <= q3 <= max", minimum, q1, median, q3, maximum)
    w1 = 2.2 / (2.2 + n**0.75)
    w2 = 0.7 - 0.72 / n**0.55
    return Derived(w1 * (minimum + maximum) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * median, True)


def shi_sd_from_five_numbers(
    minimum: float, q1: float, median: float, q3: float, maximum: float, n: float
) -> Derived:
    """SD from the five-number summary (Shi et al. 2020, scenario S3).

    ``SD = w (b - a) / xi(n) + (1 - w) (q3 - q1) / eta(n)`` with ``w = 1 / (1 + 0.07 n^0.6)``.
    """
    _check_n(n)
    _ordered("min <= q1 <= median <= q3 <= max", minimum, q1, median, q3, maximum)
    w = 1 / (1 + 0.07 * n**0.6)
    return Derived(w * (maximum - minimum) / xi(n) + (1 - w) * (q3 - q1) / eta(n), True)


def median_range(minimum: float, median: float, maximum: float, n: float) -> tuple[float, float]:
    """(mean, SD) from median and range: Luo et al. (2018) S1 mean, Wan et al. (2014) C1 SD."""
    mean = luo_mean_from_median_range(minimum, median, maximum, n).value
    return mean, mean_sd_from_median_range(minimum, median, maximum, n)[1].value


def median_iqr(q1: float, median: float, q3: float, n: float) -> tuple[float, float]:
    """(mean, SD) from median and IQR: Luo et al. (2018) S2 mean, Wan et al. (2014) C3 SD."""
    mean = luo_mean_from_median_iqr(q1, median, q3, n).value
    return mean, mean_sd_from_median_iqr(q1, median, q3, n)[1].value


def five_numbers(
    minimum: float, q1: float, median: float, q3: float, maximum: float, n: float
) -> tuple[float, float]:
    """(mean, SD) from the five-number summary: Luo et al. (2018) S3 mean, Shi et al. (2020) SD."""
    return (
        luo_mean_from_five_numbers(minimum, q1, median, q3, maximum, n).value,
        shi_sd_from_five_numbers(minimum, q1, median, q3, maximum, n).value,
    )
