"""Small-study effects: Egger's and Peters' regression tests, the rank correlation test, and
trim-and-fill, as metafor's ``regtest(model="lm")``, ``ranktest`` and ``trimfill`` compute them.

These tests have little power with few studies; GRADE and the Cochrane Handbook advise against
them below 10 studies (Handbook 13.3.5.4), which callers should respect.

References
----------
Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a simple,
    graphical test. BMJ 315:629-634.
Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2006). Comparison of two methods to detect
    publication bias in meta-analysis. JAMA 295:676-680.
Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for publication
    bias. Biometrics 50:1088-1101.
Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from metafuse.exceptions import ExcludedStudyWarning
from metafuse.measures import BINARY_MEASURES, normalise_method
from metafuse.pooling import pool, pool_effects
from metafuse.regression import fit_mixed
from metafuse.results import PooledResult


def _effects(data: pd.DataFrame, measure: str, **options: Any):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedStudyWarning)
        res = pool(data, measure, "FE", **options)
    used = [s for s in res.studies if s.yi is not None]
    return res, used, np.array([s.yi for s in used]), np.array([s.sei**2 for s in used])


def _weighted_slope_test(y: np.ndarray, v: np.ndarray, predictor: np.ndarray) -> dict[str, float]:
    import statsmodels.api as sm

    X = np.column_stack([np.ones_like(y), predictor])
    fit = sm.WLS(y, X, weights=1 / v).fit()
    return {
        "statistic": float(fit.tvalues[1]),
        "df": int(fit.df_resid),
        "pval": float(fit.pvalues[1]),
    }


def egger_test(data: pd.DataFrame, measure: str, **options: Any) -> dict[str, float]:
    """Egger's regression test: weighted regression of ``yi`` on ``sei`` (weights ``1/vi``).

    Returns ``statistic`` (t of the slope), ``df`` (k - 2) and ``pval``; metafor's
    ``regtest(model = "lm")``.
    """
    _, _, y, v = _effects(data, measure, **options)
    if len(y) < 3:
        raise ValueError("Egger's test needs at least 3 studies")
    return _weighted_slope_test(y, v, np.sqrt(v))


def peters_test(data: pd.DataFrame, measure: str, **options: Any) -> dict[str, float]:
    """Peters' test for binary outcomes: weighted regression of ``yi`` on ``1/n`` (total sample
    size), weights ``1/vi``; metafor's ``regtest(model = "lm", predictor = "ninv")``."""
    if measure.upper() not in BINARY_MEASURES:
        raise ValueError("Peters' test is for binary outcomes (RR, OR, RD)")
    _, used, y, v = _effects(data, measure, **options)
    if len(y) < 3:
        raise ValueError("Peters' test needs at least 3 studies")
    n = np.array([s.data["n_exp"] + s.data["n_ctrl"] for s in used])
    return _weighted_slope_test(y, v, 1 / n)


def rank_test(data: pd.DataFrame, measure: str, **options: Any) -> dict[str, float]:
    """Begg and Mazumdar's rank correlation test: Kendall's tau between standardised effects
    ``(yi - mu_FE) / sqrt(vi - var(mu_FE))`` and ``vi``; exact P without ties, else the normal
    approximation with tie correction (metafor's ``ranktest``, R's ``cor.test``).

    Returns ``tau`` and ``pval``.
    """
    _, _, y, v = _effects(data, measure, **options)
    if len(y) < 3:
        raise ValueError("the rank test needs at least 3 studies")
    w = 1 / v
    theta = np.sum(w * y) / w.sum()
    ystar = (y - theta) / np.sqrt(v - 1 / w.sum())
    ties = len(np.unique(ystar)) < len(ystar) or len(np.unique(v)) < len(v)
    res = stats.kendalltau(ystar, v, method="asymptotic" if ties else "exact")
    return {"tau": float(res.statistic), "pval": float(res.pvalue)}


@dataclass(frozen=True)
class TrimFillResult:
    """A trim-and-fill analysis: the model fitted to observed plus filled studies."""

    result: PooledResult
    #: Estimated number of missing studies, and its standard error.
    k0: int
    se_k0: float
    #: Side on which studies were filled ("left" or "right").
    side: str
    #: Labels of the filled studies (``Filled 1``, ...), marked for the funnel plot.
    filled: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The :func:`metafuse.pool` keys of the filled model plus ``k0`` and ``side``."""
        return {**self.result.to_dict(), "k0": self.k0, "side": self.side}


def trim_and_fill(
    data: pd.DataFrame,
    measure: str,
    method: str = "FE",
    estimator: str = "L0",
    side: str | None = None,
    **options: Any,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill with the L0 or R0 estimator (metafor's ``trimfill``).

    The side is estimated, unless given, from the sign of the slope of ``yi`` on ``sei`` in a
    (mixed-effects) meta-regression with ``method``. Studies are trimmed iteratively until the
    number missing (``k0``) is stable, then mirrored about the trimmed estimate and the model is
    refitted with ``method`` to observed plus filled studies.
    """
    method = normalise_method(method, "GEN")
    estimator = estimator.upper()
    if estimator not in ("L0", "R0"):
        raise ValueError("estimator must be L0 or R0")
    _, used, y_obs, v_obs = _effects(data, measure, **options)
    k = len(y_obs)
    if k < 3:
        raise ValueError("trim-and-fill needs at least 3 studies")
    if side is None:
        slope = fit_mixed(y_obs, v_obs, np.column_stack([np.ones(k), np.sqrt(v_obs)]), method)
        side = "right" if slope.coef[1] < 0 else "left"
    if side not in ("left", "right"):
        raise ValueError("side must be left or right")
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * y_obs, kind="stable")
    y, v = sign * y_obs[order], v_obs[order]
    k0, previous, iterations = 0, -1, 0
    beta, se_k0 = 0.0, 0.0
    while k0 != previous:
        previous = k0
        iterations += 1
        if iterations > 100:
            raise ValueError("trim-and-fill did not converge in 100 iterations")
        trimmed = pool_effects(
            [str(i) for i in range(k - k0)], y[: k - k0], v[: k - k0], measure, method
        )
        beta = float(trimmed.estimate)
        centred = y - beta
        ranks = stats.rankdata(np.abs(centred), method="ordinal")
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            k0_raw = (k - np.max(-signed[signed < 0], initial=0)) - 1
            se_k0 = float(np.sqrt(2 * max(0, k0_raw) + 2))
        else:
            sr = float(np.sum(signed[signed > 0]))
            k0_raw = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24
            se_k0 = float(4 * np.sqrt(var_sr) / (2 * k - 1))
        k0 = max(0, int(np.round(k0_raw + 0.0)))
        se_k0 = max(0.0, se_k0)
    labels = [s.study for s in used]
    if k0 == 0:
        final = pool_effects(
            labels, y_obs, v_obs, measure, method, data_rows=[dict(s.data) for s in used]
        )
        return TrimFillResult(final, 0, se_k0, side, ())
    mirrored = sign * (2 * beta - y[k - k0 :])
    filled = tuple(f"Filled {i + 1}" for i in range(k0))
    y_all = np.concatenate([y_obs, mirrored])
    v_all = np.concatenate([v_obs, v[k - k0 :]])
    added = [
        {"yi": float(a), "sei": float(np.sqrt(b))}
        for a, b in zip(mirrored, v[k - k0 :], strict=True)
    ]
    rows = [dict(s.data) for s in used] + added
    final = pool_effects(labels + list(filled), y_all, v_all, measure, method, data_rows=rows)
    return TrimFillResult(final, k0, se_k0, side, filled)
