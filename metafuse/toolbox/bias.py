"""Small-study effects: Egger's and Peters' tests and the rank correlation test.

Small-study effects: Egger's and Peters' regression tests and the rank correlation test, as
metafor's ``regtest(model="lm")`` and ``ranktest`` compute them.

These tests have little power with few studies; GRADE and the Cochrane Handbook advise against
them below 10 studies (Handbook 13.3.5.4), which callers should respect. A test whose statistic
is undefined (no spread in precision, or identical effects) is reported as not estimable, never as
an infinite statistic.

References
----------
Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a simple,
    graphical test. BMJ 315:629-634.
Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2006). Comparison of two methods to detect
    publication bias in meta-analysis. JAMA 295:676-680.
Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for publication
    bias. Biometrics 50:1088-1101.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from metafuse._arrays import FloatArray
from metafuse.engine.inverse_variance import t_quantile
from metafuse.engine.mixed import fit_mixed
from metafuse.measures import BINARY_MEASURES, TABLE_METHODS
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, used_effects
from metafuse.toolbox.bias_results import RankTest, RegressionTest, SlopeTest

#: Relative spread of a predictor below which a regression test is not estimable.
NO_SPREAD = 1e-10


def weighted_slope_test(y: FloatArray, v: FloatArray, predictor: FloatArray) -> dict[str, Any]:
    """Test the slope of the weighted regression of ``y`` on ``predictor`` (weights 1/v) with t.

    Parameters
    ----------
    y, v : numpy.ndarray
        Effects and sampling variances.
    predictor : numpy.ndarray
        The regressor.

    Returns
    -------
    dict
        ``statistic``, ``df`` (k - 2), ``pval`` and ``slope``; ``statistic`` and ``pval`` are
        None, with a ``note``, when the slope or its standard error is not defined.
    """
    k = len(y)
    w = 1.0 / v
    X = np.column_stack([np.ones(k), predictor])
    xtwx = X.T @ (X * w[:, None])
    spread = np.ptp(predictor) / max(float(np.max(np.abs(predictor))), 1e-300)
    if spread < NO_SPREAD or np.linalg.cond(xtwx) > 1e14:
        return {
            "statistic": None,
            "df": k - 2,
            "pval": None,
            "slope": None,
            "note": "not estimable: the predictor does not vary between studies",
        }
    beta = np.linalg.solve(xtwx, X.T @ (w * y))
    resid = y - X @ beta
    s2 = float(np.sum(w * resid**2)) / (k - 2)
    se = float(np.sqrt(s2 * np.linalg.inv(xtwx)[1, 1]))
    if not se > 0:
        return {
            "statistic": None,
            "df": k - 2,
            "pval": None,
            "slope": float(beta[1]),
            "note": "not estimable: the effects lie exactly on a line (no residual variation)",
        }
    t = float(beta[1] / se)
    return {
        "statistic": t,
        "df": k - 2,
        "pval": float(2 * special.stdtr(k - 2, -abs(t))),
        "slope": float(beta[1]),
    }


def _effects(data: Any, measure: str | None, options: dict[str, Any]):
    result = as_result(data, measure, "FE", False, **options)
    labels, y, v = used_effects(result)
    return result, labels, y, v


def egger_test(
    data: PooledResult | pd.DataFrame, measure: str | None = None, **options: Any
) -> SlopeTest:
    """Egger's regression test for funnel-plot asymmetry (metafor's ``regtest(model = "lm")``).

    The weighted regression of ``yi`` on ``sei`` (weights ``1/vi``) with a multiplicative
    dispersion; the slope is tested with t on k - 2 degrees of freedom. Use it with 10 or more
    studies (Cochrane Handbook 13.3.5.4).

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).

    Returns
    -------
    SlopeTest
        ``statistic`` (t of the slope), ``df``, ``pval`` and ``slope``; not estimable (None,
        with a ``note``) when the standard errors do not vary.

    Raises
    ------
    ValueError
        With fewer than 3 studies.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a
    simple, graphical test. BMJ 315:629-634.
    """
    _, _, y, v = _effects(data, measure, options)
    if len(y) < 3:
        raise ValueError("Egger's test needs at least 3 studies")
    return SlopeTest("Egger's test", len(y), **weighted_slope_test(y, v, np.sqrt(v)))


def peters_test(
    data: PooledResult | pd.DataFrame, measure: str | None = None, **options: Any
) -> SlopeTest:
    """Peters' regression test for binary outcomes (``regtest(model = "lm", predictor = "ninv")``).

    The weighted regression of ``yi`` on ``1/n`` (total sample size), weights ``1/vi``.

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).

    Returns
    -------
    SlopeTest
        ``statistic``, ``df``, ``pval`` and ``slope``, as :func:`egger_test`.

    Raises
    ------
    ValueError
        For other than RR, OR or RD, or fewer than 3 studies.

    References
    ----------
    Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2006). Comparison of two methods to
    detect publication bias in meta-analysis. JAMA 295:676-680.
    """
    result, _, y, v = _effects(data, measure, options)
    if result.measure not in BINARY_MEASURES:
        raise ValueError("Peters' test is for binary outcomes (RR, OR, RD)")
    if len(y) < 3:
        raise ValueError("Peters' test needs at least 3 studies")
    used = [s for s in result.studies if s.yi is not None]
    n = np.array([s.data["n_exp"] + s.data["n_ctrl"] for s in used])
    return SlopeTest("Peters' test", len(y), **weighted_slope_test(y, v, 1 / n))


def rank_test(
    data: PooledResult | pd.DataFrame, measure: str | None = None, **options: Any
) -> RankTest:
    """Begg and Mazumdar's rank correlation test (metafor's ``ranktest``).

    Kendall's tau between the standardised effects ``(yi - mu_FE) / sqrt(vi - var(mu_FE))`` and
    ``vi``; the exact P without ties, else the normal approximation with the tie correction
    (R's ``cor.test``).

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).

    Returns
    -------
    RankTest
        ``tau`` and ``pval``; None, with a ``note``, when either variable does not vary.

    Raises
    ------
    ValueError
        With fewer than 3 studies.

    References
    ----------
    Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for
    publication bias. Biometrics 50:1088-1101.
    """
    _, _, y, v = _effects(data, measure, options)
    if len(y) < 3:
        raise ValueError("the rank test needs at least 3 studies")
    w = 1 / v
    theta = np.sum(w * y) / w.sum()
    ystar = (y - theta) / np.sqrt(v - 1 / w.sum())
    if np.ptp(ystar) == 0 or np.ptp(v) == 0:
        return RankTest(
            len(y), None, None, "not estimable: the effects or their variances do not vary"
        )
    ties = len(np.unique(ystar)) < len(ystar) or len(np.unique(v)) < len(v)
    from scipy import stats  # here, not at import (0.3 s)

    res = stats.kendalltau(ystar, v, method="asymptotic" if ties else "exact")
    return RankTest(len(y), float(res.statistic), float(res.pvalue))


#: Predictors of the regression test (metafor's ``regtest(predictor=)``).
PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtninv")
#: Predictors that tend to 0 as precision grows: the intercept is then the limit estimate.
LIMIT_PREDICTORS = ("sei", "vi", "ninv", "sqrtninv")


def _sample_sizes(result: PooledResult) -> FloatArray:
    used = [s for s in result.studies if s.yi is not None]
    sizes = []
    for s in used:
        if "n_exp" in s.data and "n_ctrl" in s.data:
            sizes.append(s.data["n_exp"] + s.data["n_ctrl"])
        elif "n" in s.data:
            sizes.append(s.data["n"])
        else:
            raise ValueError(
                "the ni, ninv and sqrtninv predictors need sample sizes (n_exp and n_ctrl, or n)"
            )
    return np.asarray(sizes, dtype=np.float64)


def regression_test(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    *,
    model: str = "rma",
    predictor: str = "sei",
    level: float = 0.95,
    sample_sizes: Any = None,
    **options: Any,
) -> RegressionTest:
    """Regression test for funnel-plot asymmetry (metafor's ``regtest``).

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).
    model : {"rma", "lm"}, optional
        ``rma``: the meta-regression of the effects on ``predictor`` with the pooled result's
        model (its tau^2 estimator; Knapp-Hartung with HKSJ), a z (or t) test of the slope.
        ``lm``: weighted least squares (weights ``1/vi``) with a multiplicative dispersion,
        Egger's original test, t with k - 2 df.
    predictor : {"sei", "vi", "ni", "ninv", "sqrtninv"}, optional
        The standard error (Egger et al. 1997), the variance, the total sample size (Macaskill
        et al. 2001), its inverse (Peters et al. 2006) or the inverse's square root.
    level : float, optional
        Coverage of the limit estimate's confidence interval.
    sample_sizes : array_like, optional
        One total sample size per estimable study for ``ni``, ``ninv`` and ``sqrtninv``
        (default: the studies' arm sizes).

    Returns
    -------
    RegressionTest
        The slope's test (``statistic``, ``df``, ``pval``, ``slope``, ``slope_se``) and the
        limit estimate ``est`` (the intercept: the effect of a study of infinite precision) with
        ``ci_low`` and ``ci_high`` (None for ``ni``, which does not tend to 0 with precision, as
        in metafor).
    """
    if model not in ("rma", "lm"):
        raise ValueError(f"model must be rma or lm, got {model!r}")
    if predictor not in PREDICTORS:
        raise ValueError(f"predictor must be one of {', '.join(PREDICTORS)}, got {predictor!r}")
    result = as_result(data, measure, "REML", False, **options)
    _, y, v = used_effects(result)
    k = len(y)
    if k < 3:
        raise ValueError("the regression test needs at least 3 studies")
    x = {"sei": lambda: np.sqrt(v), "vi": lambda: v}.get(predictor, lambda: None)()
    if x is None:
        n = (
            _sample_sizes(result)
            if sample_sizes is None
            else np.asarray(sample_sizes, dtype=np.float64)
        )
        if n.shape != (k,) or not (np.isfinite(n).all() and (n > 0).all()):
            raise ValueError(f"give one positive sample size per estimable study ({k})")
        x = {"ni": n, "ninv": 1 / n, "sqrtninv": 1 / np.sqrt(n)}[predictor]
    X = np.column_stack([np.ones(k), x])
    if model == "lm":
        out = _wls_test(y, v, X, level)
    else:
        method = result.method if result.method not in TABLE_METHODS else "FE"
        fit = fit_mixed(y, v, X, method, hksj=result.hksj, level=level)
        out = {
            "statistic": float(fit.statistic[1]),
            "df": fit.df,
            "pval": float(fit.pval[1]),
            "slope": float(fit.coef[1]),
            "slope_se": float(fit.se[1]),
            "est": float(fit.coef[0]),
            "ci_low": float(fit.ci_low[0]),
            "ci_high": float(fit.ci_high[0]),
        }
    if predictor not in LIMIT_PREDICTORS:
        out |= {"est": None, "ci_low": None, "ci_high": None}
    return RegressionTest(**out, model=model, predictor=predictor)


def _wls_test(y: FloatArray, v: FloatArray, X: FloatArray, level: float) -> dict[str, Any]:
    """Weighted least squares with an estimated dispersion: t tests with k - 2 df."""
    k = len(y)
    w = 1 / v
    xtwx = X.T @ (X * w[:, None])
    beta = np.linalg.solve(xtwx, X.T @ (w * y))
    s2 = float(np.sum(w * (y - X @ beta) ** 2)) / (k - 2)
    se = np.sqrt(s2 * np.diag(np.linalg.inv(xtwx)))
    if not se[1] > 0:
        raise ValueError("the regression test is not estimable: no residual variation")
    t = float(beta[1] / se[1])
    q = float(t_quantile(level, k - 2))
    return {
        "statistic": t,
        "df": k - 2,
        "pval": float(2 * special.stdtr(k - 2, -abs(t))),
        "slope": float(beta[1]),
        "slope_se": float(se[1]),
        "est": float(beta[0]),
        "ci_low": float(beta[0] - q * se[0]),
        "ci_high": float(beta[0] + q * se[0]),
    }
