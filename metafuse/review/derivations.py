"""Deriving analysable numbers from what trials report, as the Cochrane Handbook prescribes.

Every derived number of the records is computed by one of these functions at load time (the CSV
holds the reported inputs and the name of the derivation, applied by
:mod:`metafuse.review.derive`), never typed in by hand. Medians with ranges or quartiles are
converted by :mod:`metafuse.review.medians` (Wan 2014, Luo 2018, Shi 2020), re-exported here.

References
----------
Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing estimates of
    effect. Cochrane Handbook for Systematic Reviews of Interventions, version 6.4 (2023),
    sections 6.5.2.2 (SD from SE or CI), 6.5.2.3 (from t or P values), 6.5.2.8 (change-from-
    baseline SDs), 6.5.2.10 (combining groups); 6.3.1 (SE of a ratio from its CI). Version 5.1
    (2011), section 7.7.3.3 (the worked t and P example) and 16.1.3 (imputing missing SDs).
Furukawa TA, Barbui C, Cipriani A, Brambilla P, Watanabe N (2006). Imputing missing standard
    deviations in meta-analyses can provide accurate results. J Clin Epidemiol 59:7-10.
Wan X, Wang W, Liu J, Tong T (2014). BMC Med Res Methodol 14:135. Luo D, Wan X, Liu J, Tong T
    (2018). Stat Methods Med Res 27:1785-1805. Shi J, Luo D, Weng H, et al. (2020). Res Synth
    Methods 11:641-654 (see :mod:`metafuse.review.medians`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import special

from metafuse.review.derivation_text import (
    ARGUMENTS,
    Arguments,
    derivation_name,
    number_of,
    parse_derivation,
)
from metafuse.review.medians import (
    Derived,
    five_numbers,
    luo_mean_from_five_numbers,
    luo_mean_from_median_iqr,
    luo_mean_from_median_range,
    mean_sd_from_median_iqr,
    mean_sd_from_median_range,
    median_iqr,
    median_range,
    shi_sd_from_five_numbers,
)

LEVEL = 0.95
#: Below this total sample size the Handbook uses the t distribution for SDs from CIs (6.5.2.2).
T_DISTRIBUTION_BELOW = 60


def _z(level: float = LEVEL) -> float:
    # scipy.special's quantiles are the ones scipy.stats' norm and t call (the same bits), without
    # importing scipy.stats for every build that derives a number
    return float(special.ndtri(0.5 + level / 2))


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
    q = float(special.stdtrit(n - 1, 0.5 + level / 2)) if n < T_DISTRIBUTION_BELOW else _z(level)
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
    if estimate == 0:
        raise ValueError("an estimate of 0 gives no SE from its P value")
    if n_total is not None and not n_total > 2:
        raise ValueError(f"n_total must be > 2, got {n_total}")
    q = -special.stdtrit(n_total - 2, p / 2) if n_total is not None else -special.ndtri(p / 2)
    return abs(estimate) / float(q)


def se_from_t(estimate: float, t: float) -> float:
    """SE of a mean difference from its t statistic.

    ``SE = |MD| / |t|`` (Handbook 6.5.2.3; 5.1 section 7.7.3.3: MD 3.8 with t = 2.78 gives SE =
    1.37).
    """
    if not (math.isfinite(t) and t != 0):
        raise ValueError(f"t must be a non-zero number, got {t}")
    if estimate == 0:
        raise ValueError("an estimate of 0 gives no SE from its t statistic")
    return abs(estimate) / abs(t)


def sd_from_p(mean_difference: float, p: float, n_exp: float, n_ctrl: float) -> float:
    """Return the common within-group SD from a mean difference and its P value.

    Common within-group SD from a mean difference and its two-sided P value from a t test (Handbook
    6.5.2.3): t with ``n_exp + n_ctrl - 2`` df, ``SE = |MD| / t``, then
    :func:`sd_from_mean_difference_se`.
    """
    _positive(n_exp=n_exp, n_ctrl=n_ctrl)
    se = se_from_p(mean_difference, p, n_total=n_exp + n_ctrl)
    return sd_from_mean_difference_se(se, n_exp, n_ctrl)


def sd_from_t(mean_difference: float, t: float, n_exp: float, n_ctrl: float) -> float:
    """Return the common within-group SD from a mean difference and its t statistic.

    Common within-group SD from a mean difference and its t statistic (Handbook 6.5.2.3): ``SE =
    |MD| / |t|``, then :func:`sd_from_mean_difference_se`.
    """
    return sd_from_mean_difference_se(se_from_t(mean_difference, t), n_exp, n_ctrl)


def ci_from_se(estimate: float, se: float, level: float = LEVEL) -> tuple[float, float]:
    """Return the normal-theory CI ``estimate -/+ z SE`` of a difference.

    The normal-theory CI ``estimate -/+ z SE`` of a difference (Handbook 6.5.2.3 read backwards),
    which pooling turns back into the same SE.
    """
    _positive(se=se)
    z = _z(level)
    return estimate - z * se, estimate + z * se


def sd_from_mean_difference_se(se: float, n_exp: float, n_ctrl: float) -> float:
    """Return the common within-group SD from the SE of a mean difference.

    Common within-group SD from the SE of a mean difference (Handbook 6.5.2.3).

    ``SD = SE / sqrt(1/n1 + 1/n2)``: the same SD is then used for both groups.
    """
    _positive(se=se, n_exp=n_exp, n_ctrl=n_ctrl)
    return se / math.sqrt(1 / n_exp + 1 / n_ctrl)


def count_from_percent(percent: float, n: float) -> Derived:
    """Return the number of events from a percentage of ``n``.

    Number of events from a percentage of ``n``, rounded to the nearest whole number.

    Always approximate: the rounding of the published percentage makes the count uncertain. The
    denominator must be stated by the source as a whole number of participants (a record's ``n``,
    which :mod:`metafuse.review.derive` also requires its quote to show), never itself derived.
    """
    _positive(n=n)
    if n != math.floor(n):
        raise ValueError(f"the denominator must be a whole number of participants, got {n:g}")
    if not 0 <= percent <= 100:
        raise ValueError(f"percentage must lie in [0, 100], got {percent}")
    return Derived(value=float(round(percent * n / 100)), approximate=True)


def change_sd(sd_baseline: float, sd_final: float, correlation: float) -> float:
    """Return the SD of change from baseline (Handbook 6.5.2.8).

    SD of change from baseline (Handbook 6.5.2.8):

    ``sqrt(SD_b^2 + SD_f^2 - 2 r SD_b SD_f)``; ``r`` must come from a source (the same or a
    similar trial), stated in the record.
    """
    if not -1 <= correlation <= 1:
        raise ValueError(f"correlation must lie in [-1, 1], got {correlation}")
    _positive(sd_baseline=sd_baseline, sd_final=sd_final)
    return math.sqrt(sd_baseline**2 + sd_final**2 - 2 * correlation * sd_baseline * sd_final)


def sd_borrowed(sd: float) -> Derived:
    """Return an SD borrowed from another trial on the same scale (always approximate).

    An SD borrowed from another trial on the same scale, for a trial that reports none (Furukawa et
    al. 2006; Handbook 5.1 section 16.1.3): always approximate, and every analysis that uses one is
    repeated without it (``<analysis>_without_borrowed_sd``).
    """
    _positive(sd=sd)
    return Derived(sd, approximate=True)


def combine_groups(
    n1: float, mean1: float, sd1: float, n2: float, mean2: float, sd2: float
) -> tuple[float, float, float]:
    """Combine two arms into one (Handbook 6.5.2.10, Table 6.5.a): ``(n, mean, sd)``.

    Used for multi-arm trials whose two active arms (e.g. two doses of one drug) are compared
    together against one control arm.
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


def ratio_from_reduction(percent: float, low: float, high: float) -> tuple[float, float, float]:
    """Return a ratio (of risks or odds) from the relative reduction a source prints in percent.

    A ratio (of risks or odds) from the relative reduction a source prints in percent, with the
    reduction's CI limits: ratio = 1 - percent / 100, CI (1 - high / 100, 1 - low / 100) (Cochrane
    Handbook 5.1, section 12.5.1: RRR = 100% x (1 - RR); the same re-expression holds for odds). A
    negative limit is an increase ('-8% to 15%' gives 0.85 to 1.08).
    """
    _ordered(low, high)
    if not low <= percent <= high:
        raise ValueError(f"reduction {percent}% lies outside its CI [{low}%, {high}%]")
    if not high < 100:
        raise ValueError(f"a reduction of {high}% or more leaves no ratio above 0")
    return 1 - percent / 100, 1 - high / 100, 1 - low / 100


def _positive(**values: float) -> None:
    for name, v in values.items():
        if not v > 0:
            raise ValueError(f"{name} must be > 0, got {v}")


def _ordered(lo: float, hi: float) -> None:
    if not lo < hi:
        raise ValueError(f"CI lower limit {lo} must be below the upper limit {hi}")


#: The derivation functions, by name (records name a derivation through :data:`ARGUMENTS`).
DERIVATIONS = {
    f.__name__: f
    for f in (
        sd_from_se,
        sd_from_ci,
        se_from_ci,
        se_from_p,
        se_from_t,
        sd_from_p,
        sd_from_t,
        ci_from_se,
        sd_from_mean_difference_se,
        count_from_percent,
        change_sd,
        sd_borrowed,
        mean_sd_from_median_iqr,
        mean_sd_from_median_range,
        luo_mean_from_median_range,
        luo_mean_from_median_iqr,
        luo_mean_from_five_numbers,
        shi_sd_from_five_numbers,
        median_range,
        median_iqr,
        five_numbers,
        combine_groups,
        flip_contrast,
        ratio_from_reduction,
    )
}


#: Derivations for arm rows: the column each fills, computed from the row's n and the inputs given.
ARM_DERIVATIONS: dict[str, tuple[str, Callable[[float, Arguments], float]]] = {
    "sd_from_se": ("sd", lambda n, kw: sd_from_se(number_of(kw, "se"), n)),
    "sd_from_ci": (
        "sd",
        lambda n, kw: sd_from_ci(number_of(kw, "ci_low"), number_of(kw, "ci_high"), n),
    ),
    "count_from_percent": (
        "events",
        lambda n, kw: count_from_percent(number_of(kw, "percent"), n).value,
    ),
    "change_sd": (
        "sd",
        lambda n, kw: change_sd(
            number_of(kw, "sd_baseline"), number_of(kw, "sd_final"), number_of(kw, "correlation")
        ),
    ),
}
#: Arm-row derivations that fill both mean and SD from a median (:mod:`metafuse.review.medians`).
MEAN_SD_DERIVATIONS: dict[str, Callable[[float, Arguments], tuple[float, float]]] = {
    "median_range": lambda n, kw: median_range(
        number_of(kw, "minimum"), number_of(kw, "median"), number_of(kw, "maximum"), n
    ),
    "median_iqr": lambda n, kw: median_iqr(
        number_of(kw, "q1"), number_of(kw, "median"), number_of(kw, "q3"), n
    ),
    "five_numbers": lambda n, kw: five_numbers(
        number_of(kw, "minimum"),
        number_of(kw, "q1"),
        number_of(kw, "median"),
        number_of(kw, "q3"),
        number_of(kw, "maximum"),
        n,
    ),
}
#: Derivations named on both arm rows of a record: the common SD of the two arms from the mean
#: difference of the rows' means and the P value or t statistic the source prints for it.
PAIR_DERIVATIONS: dict[str, Callable[[float, float, float, Arguments], float]] = {
    "sd_from_p": lambda md, n1, n2, kw: sd_from_p(md, number_of(kw, "p"), n1, n2),
    "sd_from_t": lambda md, n1, n2, kw: sd_from_t(md, number_of(kw, "t"), n1, n2),
}
#: Derivations of contrast rows: reversing a ctrl-exp contrast; the CI of a mean difference
#: from its P value or t statistic.
CONTRAST_DERIVATIONS = ("flip_contrast", "ci_from_p", "ci_from_t")
#: An arm row's SD borrowed from another record on the same scale (``record=``, ``arm=``).
BORROW_DERIVATIONS = ("sd_borrowed",)
#: Derivations of published_estimates.csv rows: a ratio from a printed relative reduction.
PUBLISHED_DERIVATIONS = ("ratio_from_reduction",)
#: Derivations whose results are approximate (flagged in the loaded records).
APPROXIMATE = frozenset({"count_from_percent", "sd_borrowed", *MEAN_SD_DERIVATIONS})
__all__ = [
    "APPROXIMATE",
    "ARGUMENTS",
    "ARM_DERIVATIONS",
    "BORROW_DERIVATIONS",
    "CONTRAST_DERIVATIONS",
    "DERIVATIONS",
    "MEAN_SD_DERIVATIONS",
    "PAIR_DERIVATIONS",
    "PUBLISHED_DERIVATIONS",
    "Derived",
    "change_sd",
    "ci_from_se",
    "combine_groups",
    "count_from_percent",
    "derivation_name",
    "five_numbers",
    "flip_contrast",
    "luo_mean_from_five_numbers",
    "luo_mean_from_median_iqr",
    "luo_mean_from_median_range",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "median_iqr",
    "median_range",
    "number_of",
    "parse_derivation",
    "ratio_from_reduction",
    "sd_borrowed",
    "sd_from_ci",
    "sd_from_mean_difference_se",
    "sd_from_p",
    "sd_from_se",
    "sd_from_t",
    "se_from_ci",
    "se_from_p",
    "se_from_t",
    "shi_sd_from_five_numbers",
]
