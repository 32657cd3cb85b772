"""The inverse-variance model.

Fixed (common) effect or random effects, for a batch of meta-analyses at once, with the one HKSJ
rule, heterogeneity statistics and prediction intervals.

References
----------
DerSimonian R, Laird N (1986). Control Clin Trials 7:177-188.
Hartung J, Knapp G (2001). Stat Med 20:3875-3889; Sidik K, Jonkman JN (2002). Stat Med
    21:3153-3159 (HKSJ: t with k - p df and a rescaled standard error).
Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). J R Stat Soc A 172:137-159 (prediction interval
    with t(k - 2)).
Viechtbauer W (2007). Stat Med 26:37-52 (Q-profile CI for tau^2).
Viechtbauer W (2010). J Stat Softw 36(3) (metafor: z-based prediction interval by default,
    unweighted estimation with ``weighted=FALSE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import special

from metafuse.engine.heterogeneity import heterogeneity
from metafuse.engine.problem import BoolArray, FloatArray, Problem
from metafuse.engine.tau2 import Tau2Fit, estimate_tau2, tau2_interval
from metafuse.model import FIXED_METHODS, GENERALISED_Q_METHODS, PredictionKind
from metafuse.model import PREDICTION_KINDS as PREDICTION_KINDS  # prediction-interval kinds

#: HKSJ: at or below this weighted residual sum of squares the scale factor is 0 (metafor's rule,
#: .Machine$double.eps).
HKSJ_RSS_EPS: Final = float(np.finfo(np.float64).eps)


def normal_quantile(level: float) -> float:
    """Two-sided critical value of the normal distribution for ``level``."""
    return float(special.ndtri(0.5 + level / 2))


def t_quantile(level: float, df: npt.ArrayLike) -> FloatArray:
    """Two-sided critical value of t with ``df`` degrees of freedom (nan where df < 1)."""
    d = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(d >= 1, special.stdtrit(np.maximum(d, 1.0), 0.5 + level / 2), np.nan)


def hksj_scale(rss: FloatArray, df: FloatArray) -> FloatArray:
    """Return the Knapp-Hartung variance factor ``rss / df``, 0 when ``rss`` is numerically 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rss <= HKSJ_RSS_EPS, 0.0, rss / df)


def wald_test(
    est: FloatArray, se: FloatArray, df: FloatArray | None, level: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Statistic, two-sided P and CI limits: z when ``df`` is None, else t(df) (nan df = z)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if df is None:
        crit = np.full(est.shape, normal_quantile(level))
        pval = 2.0 * special.ndtr(-np.abs(stat))
    else:
        z = np.isnan(df)
        crit = np.where(z, normal_quantile(level), t_quantile(level, df))
        tp = 2.0 * special.stdtr(np.where(z, 1.0, df), -np.abs(stat))
        pval = np.where(z, 2.0 * special.ndtr(-np.abs(stat)), tp)
    return stat, pval, est - crit * se, est + crit * se


@dataclass(frozen=True)
class InverseVarianceFit:
    """Per-row arrays (shape (m,), or (m, k) for ``weights``) of an inverse-variance model."""

    estimate: FloatArray
    se: FloatArray
    statistic: FloatArray
    pval: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    #: t degrees of freedom (nan where the z distribution is used).
    df: FloatArray
    tau2: FloatArray
    weights: FloatArray
    Q: FloatArray
    Q_pval: FloatArray
    I2: FloatArray
    I2_Q: FloatArray
    H2: FloatArray
    tau2_ci_low: FloatArray
    tau2_ci_high: FloatArray
    I2_ci_low: FloatArray
    I2_ci_high: FloatArray
    pi_low: FloatArray
    pi_high: FloatArray
    k: npt.NDArray[np.int64]
    converged: BoolArray
    tau2_fit: Tau2Fit | None


def prediction_interval(
    est: FloatArray,
    se: FloatArray,
    tau2: FloatArray,
    k: npt.NDArray[np.int64],
    kind: PredictionKind,
    level: float,
) -> tuple[FloatArray, FloatArray]:
    """``est +/- crit sqrt(tau2 + se^2)``; nan where the convention defines none."""
    nan = np.full(est.shape, np.nan)
    if kind == "none":
        return nan, nan.copy()
    if kind == "z":
        crit = np.where(k >= 2, normal_quantile(level), np.nan)
    else:
        crit = t_quantile(level, k - (2 if kind == "t(k-2)" else 1))
    half = crit * np.sqrt(tau2 + se**2)
    return est - half, est + half


def _estimation_weights(
    problem: Problem, w: FloatArray, weighted: bool, weights: npt.ArrayLike | None
) -> FloatArray:
    """Return the weights of the pooled estimate.

    Random-effects ``w``, 1 (unweighted) or the user's.
    """
    if weights is not None:
        user = np.broadcast_to(np.asarray(weights, dtype=np.float64), problem.v.shape)
        return np.where(problem.mask, user.reshape(problem.v.shape), 0.0)
    return w if weighted else problem.unit_weights()


def fit_inverse_variance(
    y: npt.ArrayLike,
    v: npt.ArrayLike,
    method: str = "REML",
    hksj: bool = False,
    *,
    level: float = 0.95,
    mask: npt.ArrayLike | None = None,
    prediction: PredictionKind = "t(k-2)",
    weighted: bool = True,
    tau2_options: dict[str, object] | None = None,
    intervals: bool = True,
    weights: npt.ArrayLike | None = None,
) -> InverseVarianceFit:
    """Fixed-effect (``FE``) or random-effects fit of ``y`` with variances ``v`` (array engine).

    The last axis holds the studies; leading axes are independent meta-analyses, ragged through
    ``mask``.

    Parameters
    ----------
    y, v : array_like
        Effect sizes and sampling variances (analysis scale).
    method : str, optional
        ``FE`` or a tau^2 estimator (:func:`~metafuse.engine.tau2.estimate_tau2`).
    hksj : bool, optional
        Multiply the variance by ``sum w (y - mu)^2 / (k - 1)`` and use t(k - 1) (metafor's
        ``test="knha"``; a single study keeps the z interval).
    level : float, optional
        Coverage of the intervals.
    mask : array_like of bool, optional
        The studies of each meta-analysis.
    prediction : {"t(k-2)", "z", "t(k-1)", "none"}, optional
        The prediction interval's reference distribution.
    weighted : bool, optional
        False estimates the effect by the unweighted mean with variance
        ``sum (v + tau2) / k^2`` (metafor's ``weighted=FALSE``).
    tau2_options : dict, optional
        Options of the tau^2 estimator (``start`` for SJ, ``weights`` for GENQ).
    intervals : bool, optional
        False skips the CI of tau^2 and I^2 (nan), the costly part of a fit, for batch work that
        does not report them. The interval is the Q-profile one, or for GENQ and GENQM fits the
        generalised Q interval (:func:`~metafuse.engine.tau2.tau2_interval`; Jackson 2013).
    weights : array_like, optional
        User weights ``a`` (metafor's ``weights``): estimate ``sum a y / sum a`` with variance
        ``sum a^2 (v + tau2) / (sum a)^2``; and the weights of the GENQ estimator.

    Returns
    -------
    InverseVarianceFit
        Arrays of the leading shape: estimate, its SE, test and intervals, tau^2 with its CI,
        heterogeneity, prediction interval and weights.
    """
    problem = Problem.of(y, v, mask)
    k = problem.k
    random = method not in FIXED_METHODS
    tau2_fit = None
    tau2 = np.zeros(problem.m)
    converged = np.ones(problem.m, dtype=bool)
    if random:
        multi = k >= 2
        if multi.any():
            rows = np.flatnonzero(multi)
            tau2_fit = estimate_tau2(problem.take(rows), method, **(tau2_options or {}))
            tau2[rows] = tau2_fit.tau2
            converged[rows] = tau2_fit.converged
    w = problem.weights(tau2)
    a = _estimation_weights(problem, w, weighted, weights)
    sa = a.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (a * problem.y).sum(axis=-1) / sa
        var = (a**2 * (problem.v + tau2[:, None])).sum(axis=-1) / sa**2
    df = np.full(problem.m, np.nan)
    if hksj:
        many = k >= 2
        # residuals around the random-effects weighted estimate, whatever the estimation weights
        mu_w = (w * problem.y).sum(axis=-1) / w.sum(axis=-1)
        resid = np.where(problem.mask, problem.y - mu_w[:, None], 0.0)
        rss = (w * resid**2).sum(axis=-1)
        scale = hksj_scale(rss, (k - 1).astype(np.float64))
        var = np.where(many, var * scale, var)
        df = np.where(many, k - 1.0, np.nan)
    se = np.sqrt(var)
    stat, pval, lo, hi = wald_test(est, se, df if hksj else None, level)
    het = heterogeneity(problem, tau2, random)
    t2_lo = t2_hi = np.full(problem.m, np.nan)
    if random and intervals and (k >= 2).any():
        rows = np.flatnonzero(k >= 2)
        t2_lo, t2_hi = np.full(problem.m, np.nan), np.full(problem.m, np.nan)
        weights_a = (tau2_options or {}).get("weights")
        if weights_a is not None and method in GENERALISED_Q_METHODS:
            weights_a = np.broadcast_to(np.asarray(weights_a, dtype=np.float64), problem.y.shape)
            weights_a = weights_a[rows]
        t2_lo[rows], t2_hi[rows] = tau2_interval(problem.take(rows), method, level, weights_a)
    i2_lo, i2_hi = het.i2_at(t2_lo), het.i2_at(t2_hi)
    pi_lo, pi_hi = prediction_interval(est, se, tau2, k, prediction if random else "none", level)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = a / sa[:, None]
    shape = problem.unbatch
    return InverseVarianceFit(
        estimate=shape(est),
        se=shape(se),
        statistic=shape(stat),
        pval=shape(pval),
        ci_low=shape(lo),
        ci_high=shape(hi),
        df=shape(df),
        tau2=shape(tau2),
        weights=share.reshape((*problem.batch_shape, problem.y.shape[-1])),
        Q=shape(het.q),
        Q_pval=shape(het.q_pval),
        I2=shape(het.i2),
        I2_Q=shape(het.i2_q),
        H2=shape(het.h2),
        tau2_ci_low=shape(t2_lo),
        tau2_ci_high=shape(t2_hi),
        I2_ci_low=shape(i2_lo),
        I2_ci_high=shape(i2_hi),
        pi_low=shape(pi_lo),
        pi_high=shape(pi_hi),
        k=k.reshape(problem.batch_shape),
        converged=converged.reshape(problem.batch_shape),
        tau2_fit=tau2_fit,
    )
