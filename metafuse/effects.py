"""Study-level effect sizes and their sampling variances, from arm-level data.

All functions are vectorised over studies (and over any leading batch axes) and return the effect on
the analysis scale: log risk ratio and log odds ratio for ratio measures. They mirror
metafor's ``escalc`` (Viechtbauer 2010) so that results can be checked against it.

Zero cells (inverse-variance methods): by default 0.5 is added to every cell of a 2x2 table that
has a zero cell (``add=0.5, to="only0"``), as RevMan and metafor do; a study with no events, or only
events, in both arms is not estimable for RR and OR (``drop00=True``) and is kept for RD (Cochrane
Handbook 5.1, sections 16.9.2 and 16.9.3).
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from metafuse.measures import LEVEL

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
CorrectWhen = Literal["only0", "all", "if0all", "none"]

#: Amount added to each cell of a 2x2 table with a zero cell (Haldane-Anscombe correction).
DEFAULT_ADD: Final = 0.5
#: Which tables are corrected: "only0" (tables with a zero cell), "all", "if0all" (all tables when
#: any table has a zero cell) or "none".
DEFAULT_TO: Final[CorrectWhen] = "only0"


def _as_float(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def double_zero(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike
) -> npt.NDArray[np.bool_]:
    """True for studies with no events in both arms, or only events in both arms."""
    a, n1, c, n2 = map(_as_float, (events_exp, n_exp, events_ctrl, n_ctrl))
    return ((a == 0) & (c == 0)) | ((a == n1) & (c == n2))


def continuity_corrected_cells(
    events_exp: ArrayLike,
    n_exp: ArrayLike,
    events_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
    ignore: npt.NDArray[np.bool_] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The four cells (a, b, c, d) of each 2x2 table after the continuity correction.

    ``a``/``b`` are events/non-events in the experimental arm, ``c``/``d`` in the control arm.
    For "if0all" the rule looks along the last axis (the studies of one meta-analysis); studies
    flagged in ``ignore`` (dropped double-zero studies) do not trigger it.
    """
    a, n1, c, n2 = map(_as_float, (events_exp, n_exp, events_ctrl, n_ctrl))
    b, d = n1 - a, n2 - c
    if to == "none" or add == 0:
        return a, b, c, d
    if to == "all":
        mask = np.ones_like(a, dtype=bool)
    elif to in ("only0", "if0all"):
        mask = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        if ignore is not None:
            mask = mask & ~ignore
        if to == "if0all":
            mask = np.broadcast_to(mask.any(axis=-1, keepdims=True), mask.shape)
    else:
        raise ValueError(
            f"unknown continuity-correction rule to={to!r}; use only0, all, if0all or none"
        )
    inc = np.where(mask, add, 0.0)
    return a + inc, b + inc, c + inc, d + inc


def two_by_two(
    measure: str,
    events_exp: ArrayLike,
    n_exp: ArrayLike,
    events_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
    drop00: bool | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Effect sizes ``(yi, vi)`` for RR (log), OR (log) or RD from 2x2 counts.

    Studies that are not estimable (double-zero studies under ``drop00``) get ``nan``.
    ``drop00=None`` means True for RR and OR and False for RD.

    Notes
    -----
    log RR: ``log(a/n1) - log(c/n2)`` with variance ``1/a - 1/n1 + 1/c - 1/n2``;
    log OR: ``log(a d / (b c))`` with variance ``1/a + 1/b + 1/c + 1/d``;
    RD: ``a/n1 - c/n2`` with variance ``p1(1-p1)/n1 + p2(1-p2)/n2`` (large-sample, metafor's "LS").
    See Deeks & Higgins (2010), Statistical algorithms in Review Manager 5, and metafor's escalc.
    """
    if drop00 is None:
        drop00 = measure in ("RR", "OR")
    dz = double_zero(events_exp, n_exp, events_ctrl, n_ctrl) if drop00 else None
    a, b, c, d = continuity_corrected_cells(
        events_exp, n_exp, events_ctrl, n_ctrl, add=add, to=to, ignore=dz
    )
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(a / n1) - np.log(c / n2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "OR":
            yi = np.log(a * d) - np.log(b * c)
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RD":
            p1, p2 = a / n1, c / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:
            raise ValueError(f"{measure} is not a 2x2-table measure")
    if dz is not None:
        yi = np.where(dz, np.nan, yi)
        vi = np.where(dz, np.nan, vi)
    return yi, vi


def risk_ratio(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike, **zero_cells
) -> tuple[FloatArray, FloatArray]:
    """Log risk ratios and their variances (see :func:`two_by_two`)."""
    return two_by_two("RR", events_exp, n_exp, events_ctrl, n_ctrl, **zero_cells)


def odds_ratio(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike, **zero_cells
) -> tuple[FloatArray, FloatArray]:
    """Log odds ratios and their variances (see :func:`two_by_two`)."""
    return two_by_two("OR", events_exp, n_exp, events_ctrl, n_ctrl, **zero_cells)


def risk_difference(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike, **zero_cells
) -> tuple[FloatArray, FloatArray]:
    """Risk differences and their variances (see :func:`two_by_two`)."""
    return two_by_two("RD", events_exp, n_exp, events_ctrl, n_ctrl, **zero_cells)


def mean_difference(
    mean_exp: ArrayLike,
    sd_exp: ArrayLike,
    n_exp: ArrayLike,
    mean_ctrl: ArrayLike,
    sd_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Raw mean differences with variance ``sd1^2/n1 + sd2^2/n2`` (unequal variances).

    Reference: Deeks & Higgins (2010), Statistical algorithms in Review Manager 5, section 2.1.
    """
    m1, s1, n1, m2, s2, n2 = map(_as_float, (mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl))
    return m1 - m2, s1**2 / n1 + s2**2 / n2


def hedges_correction(df: ArrayLike) -> FloatArray:
    """Exact small-sample bias correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)).

    Hedges (1981), J Educ Stat 6:107-128, equation 6e; ``nan`` for ``m <= 1``.
    """
    m = _as_float(df)
    with np.errstate(invalid="ignore"):
        out = np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


def standardized_mean_difference(
    mean_exp: ArrayLike,
    sd_exp: ArrayLike,
    n_exp: ArrayLike,
    mean_ctrl: ArrayLike,
    sd_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Hedges' g (bias-corrected SMD with pooled SD) and its large-sample variance.

    ``g = J(n1+n2-2) (m1-m2)/s_pooled``; ``var = 1/n1 + 1/n2 + g^2 / (2 (n1+n2))``, which is
    metafor's default (``vtype="LS"``). Hedges (1981); Hedges & Olkin (1985), chapter 5.
    """
    m1, s1, n1, m2, s2, n2 = map(_as_float, (mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl))
    df = n1 + n2 - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
        g = hedges_correction(df) * (m1 - m2) / sp
        vi = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    return g, vi


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
    est, lo, hi = map(_as_float, (estimate, ci_low, ci_high))
    if ratio:
        est, lo, hi = np.log(est), np.log(lo), np.log(hi)
    z = stats.norm.ppf(0.5 + level / 2)
    return est, (hi - lo) / (2 * z)


def proportion_logit(
    events: ArrayLike, n: ArrayLike, *, add: float = DEFAULT_ADD, to: CorrectWhen = DEFAULT_TO
) -> tuple[FloatArray, FloatArray]:
    """Logit of a single-arm proportion, ``log(x / (n - x))``, variance ``1/x + 1/(n - x)``.

    With ``to="only0"`` (default) ``add`` is added to events and non-events when either is 0
    (metafor's ``escalc(measure="PLO")``).
    """
    x, nn = _as_float(events), _as_float(n)
    y = nn - x
    if to == "all":
        mask = np.ones_like(x, dtype=bool)
    elif to in ("only0", "if0all"):
        mask = (x == 0) | (y == 0)
        if to == "if0all":
            mask = np.broadcast_to(mask.any(axis=-1, keepdims=True), mask.shape)
    elif to == "none":
        mask = np.zeros_like(x, dtype=bool)
    else:
        raise ValueError(f"unknown continuity-correction rule to={to!r}")
    inc = np.where(mask, add, 0.0)
    x, y = x + inc, y + inc
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / y), 1 / x + 1 / y


def proportion_freeman_tukey(events: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Freeman-Tukey double arcsine of a proportion and its variance ``1 / (4n + 2)``.

    ``t = (asin(sqrt(x / (n + 1))) + asin(sqrt((x + 1) / (n + 1)))) / 2`` (Freeman & Tukey 1950;
    metafor's ``escalc(measure="PFT")``, which halves the sum).
    """
    x, nn = _as_float(events), _as_float(n)
    t = 0.5 * (np.arcsin(np.sqrt(x / (nn + 1))) + np.arcsin(np.sqrt((x + 1) / (nn + 1))))
    return t, 1 / (4 * nn + 2)


def inverse_freeman_tukey(t: ArrayLike, n_harmonic: float) -> FloatArray:
    """Back-transform a Freeman-Tukey value to a proportion (Miller 1978, Am Stat 32:138).

    ``p = (1 - sign(cos 2t) sqrt(1 - (sin 2t + (sin 2t - 1/sin 2t)/n)^2)) / 2`` with ``n`` the
    harmonic mean of the study sizes; values beyond the transforms of 0 and 1 map to 0 and 1.
    """
    t = _as_float(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * t)
        p = 0.5 * (1 - np.sign(np.cos(2 * t)) * np.sqrt(1 - (s + (s - 1 / s) / n_harmonic) ** 2))
    upper = proportion_freeman_tukey(n_harmonic, n_harmonic)[0]
    lower = proportion_freeman_tukey(0.0, n_harmonic)[0]
    return np.where(t > upper, 1.0, np.where(t < lower, 0.0, p))
