"""Deriving analysable numbers from what trials report, as the Cochrane Handbook prescribes.

Every derived number in ``studies/`` is computed by one of these functions at load time (the CSV
holds the reported inputs and the name of the derivation), never typed in by hand.

References
----------
Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing estimates of
    effect. Cochrane Handbook for Systematic Reviews of Interventions, version 6.4 (2023),
    sections 6.5.2.2 (SD from SE or CI), 6.5.2.3 (from t or P values), 6.5.2.8 (change-from-
    baseline SDs), 6.5.2.10 (combining groups); 6.3.1 (SE of a ratio from its CI).
Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation from the
    sample size, median, range and/or interquartile range. BMC Med Res Methodol 14:135.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

from scipy import stats

LEVEL = 0.95
#: Below this total sample size the Handbook uses the t distribution for SDs from CIs (6.5.2.2).
T_DISTRIBUTION_BELOW = 60


@dataclass(frozen=True)
class Derived:
    """A derived number and whether it is approximate (rounded counts, median-based means)."""

    value: float
    approximate: bool = False


def _z(level: float = LEVEL) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def sd_from_se(se: float, n: float) -> float:
    """SD of one group's mean from its standard error: ``SD = SE * sqrt(n)`` (Handbook 6.5.2.2)."""
    _positive(se=se, n=n)
    return se * math.sqrt(n)


def sd_from_ci(ci_low: float, ci_high: float, n: float, level: float = LEVEL) -> float:
    """SD of one group's mean from the CI of that mean (Handbook 6.5.2.2).

    ``SD = sqrt(n) (upper - lower) / (2 q)`` with ``q`` the normal quantile (3.92/2 for 95%), or the
    t quantile with n - 1 df when n < 60, as the Handbook advises for small samples.
    """
    _positive(n=n)
    _ordered(ci_low, ci_high)
    q = float(stats.t.ppf(0.5 + level / 2, n - 1)) if n < T_DISTRIBUTION_BELOW else _z(level)
    return math.sqrt(n) * (ci_high - ci_low) / (2 * q)


def se_from_ci(
    ci_low: float, ci_high: float, *, ratio: bool = False, level: float = LEVEL
) -> float:
    """SE of a difference (or of the log of a ratio) from its CI: ``(upper - lower) / (2 z)``.

    For ratios the limits are log-transformed first (Handbook 6.3.1 and 6.5.2.3).
    """
    _ordered(ci_low, ci_high)
    if ratio:
        _positive(ci_low=ci_low, ci_high=ci_high)
        ci_low, ci_high = math.log(ci_low), math.log(ci_high)
    return (ci_high - ci_low) / (2 * _z(level))


def se_from_p(estimate: float, p: float, *, n_total: float | None = None) -> float:
    """SE of a mean difference from its two-sided P value (Handbook 6.5.2.3).

    Uses the t distribution with ``n_total - 2`` df when ``n_total`` is given, else the normal.
    """
    if not 0 < p < 1:
        raise ValueError(f"P value must lie strictly between 0 and 1, got {p}")
    q = stats.t.isf(p / 2, n_total - 2) if n_total is not None else stats.norm.isf(p / 2)
    return abs(estimate) / float(q)


def sd_from_mean_difference_se(se: float, n_exp: float, n_ctrl: float) -> float:
    """Common within-group SD from the SE of a mean difference (Handbook 6.5.2.3).

    ``SD = SE / sqrt(1/n1 + 1/n2)``: the same SD is then used for both groups.
    """
    _positive(se=se, n_exp=n_exp, n_ctrl=n_ctrl)
    return se / math.sqrt(1 / n_exp + 1 / n_ctrl)


def count_from_percent(percent: float, n: float) -> Derived:
    """Number of events from a percentage of ``n``, rounded to the nearest whole number.

    Always approximate: the rounding of the published percentage makes the count uncertain.
    """
    _positive(n=n)
    if not 0 <= percent <= 100:
        raise ValueError(f"percentage must lie in [0, 100], got {percent}")
    return Derived(value=float(round(percent * n / 100)), approximate=True)


def change_sd(sd_baseline: float, sd_final: float, correlation: float) -> float:
    """SD of change from baseline (Handbook 6.5.2.8):

    ``sqrt(SD_b^2 + SD_f^2 - 2 r SD_b SD_f)``; ``r`` must come from a source (the same or a
    similar trial), stated in the record.
    """
    if not -1 <= correlation <= 1:
        raise ValueError(f"correlation must lie in [-1, 1], got {correlation}")
    return math.sqrt(sd_baseline**2 + sd_final**2 - 2 * correlation * sd_baseline * sd_final)


def mean_sd_from_median_iqr(
    q1: float, median: float, q3: float, n: float
) -> tuple[Derived, Derived]:
    """Mean and SD from median and interquartile range (Wan et al. 2014, scenario C3).

    ``mean = (q1 + m + q3) / 3``; ``SD = (q3 - q1) / (2 Phi^-1((0.75 n - 0.125) / (n + 0.25)))``.
    Both are approximate (they assume a roughly normal distribution).
    """
    _positive(n=n)
    if not q1 <= median <= q3:
        raise ValueError(f"need q1 <= median <= q3, got {q1}, {median}, {q3}")
    xi = 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    return Derived((q1 + median + q3) / 3, True), Derived((q3 - q1) / float(xi), True)


def mean_sd_from_median_range(
    minimum: float, median: float, maximum: float, n: float
) -> tuple[Derived, Derived]:
    """Mean and SD from median and range (Wan et al. 2014, scenario C1).

    ``mean = (a + 2m + b) / 4``; ``SD = (b - a) / (2 Phi^-1((n - 0.375) / (n + 0.25)))``.
    """
    _positive(n=n)
    if not minimum <= median <= maximum:
        raise ValueError(f"need min <= median <= max, got {minimum}, {median}, {maximum}")
    xi = 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))
    return Derived((minimum + 2 * median + maximum) / 4, True), Derived(
        (maximum - minimum) / float(xi), True
    )


def combine_groups(
    n1: float, mean1: float, sd1: float, n2: float, mean2: float, sd2: float
) -> tuple[float, float, float]:
    """Combine two arms into one (Handbook 6.5.2.10, Table 6.5.a): ``(n, mean, sd)``.

    Used for multi-arm trials whose fusion arms (e.g. instrumented and non-instrumented) are
    compared together against decompression alone.
    """
    _positive(n1=n1, n2=n2)
    n = n1 + n2
    mean = (n1 * mean1 + n2 * mean2) / n
    var = ((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2 + n1 * n2 / n * (mean1 - mean2) ** 2) / (n - 1)
    return n, mean, math.sqrt(var)


def flip_contrast(
    estimate: float, ci_low: float, ci_high: float, *, ratio: bool = False
) -> tuple[float, float, float]:
    """Reverse a contrast reported as control minus experimental (or control / experimental).

    Differences change sign and swap limits; ratios are inverted and swap limits.
    """
    _ordered(ci_low, ci_high)
    if ratio:
        _positive(estimate=estimate, ci_low=ci_low, ci_high=ci_high)
        return 1 / estimate, 1 / ci_high, 1 / ci_low
    return -estimate, -ci_high, -ci_low


def _positive(**values: float) -> None:
    for name, v in values.items():
        if not v > 0:
            raise ValueError(f"{name} must be > 0, got {v}")


def _ordered(lo: float, hi: float) -> None:
    if not lo < hi:
        raise ValueError(f"CI lower limit {lo} must be below the upper limit {hi}")


#: Derivations that studies/ records may name in their ``derivation`` column.
DERIVATIONS = {
    f.__name__: f
    for f in (
        sd_from_se,
        sd_from_ci,
        se_from_ci,
        se_from_p,
        sd_from_mean_difference_se,
        count_from_percent,
        change_sd,
        mean_sd_from_median_iqr,
        mean_sd_from_median_range,
        combine_groups,
        flip_contrast,
    )
}


# --- naming a derivation in a record ------------------------------------------------------------

#: Longest derivation text accepted (a call with a few keyword numbers is far shorter).
MAX_DERIVATION_CHARS = 300

#: Derivations for arm rows: the column each fills, computed from the row's n and the inputs given.
ARM_DERIVATIONS = {
    "sd_from_se": ("sd", lambda n, kw: sd_from_se(kw["se"], n)),
    "sd_from_ci": ("sd", lambda n, kw: sd_from_ci(kw["ci_low"], kw["ci_high"], n)),
    "count_from_percent": ("events", lambda n, kw: count_from_percent(kw["percent"], n).value),
}
#: Derivations of contrast rows.
CONTRAST_DERIVATIONS = ("flip_contrast",)


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


def parse_derivation(text: str) -> tuple[str, dict[str, float]]:
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
        name, kwargs = node.id, {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        name = node.func.id
        if any(kw.arg is None for kw in node.keywords):
            raise ValueError(f"derivation {source!r}: arguments must be key=number")
        kwargs = {str(kw.arg): _number(kw.value, source) for kw in node.keywords}
    else:
        raise ValueError(f"cannot read derivation {source[:60]!r}")
    if name not in ARM_DERIVATIONS and name not in CONTRAST_DERIVATIONS:
        known = ", ".join(sorted({*ARM_DERIVATIONS, *CONTRAST_DERIVATIONS}))
        raise ValueError(f"unknown derivation {name!r}; known: {known}")
    return name, kwargs


__all__ = [
    "ARM_DERIVATIONS",
    "DERIVATIONS",
    "Derived",
    "change_sd",
    "combine_groups",
    "count_from_percent",
    "flip_contrast",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "parse_derivation",
    "sd_from_ci",
    "sd_from_mean_difference_se",
    "sd_from_se",
    "se_from_ci",
    "se_from_p",
]
