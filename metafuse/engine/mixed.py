"""Mixed-effects meta-regression as metafor's ``rma.uni(yi, vi, mods = ...)`` fits it.

Mixed-effects meta-regression ``y = X b + u + e``, ``u ~ N(0, tau^2)``, ``e ~ N(0, v)``, fitted as
metafor's ``rma.uni(yi, vi, mods = ...)`` does, with the engine's tau^2 estimators (the same code as
the intercept-only model) and the one Knapp-Hartung rule.

References
----------
Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and interpreted?
    Stat Med 21:1559-1573.
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. Stat Med 22:2693-2710.
Viechtbauer W (2010). J Stat Softw 36(3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from metafuse._arrays import BoolArray, FloatArray
from metafuse._deprecation import renamed
from metafuse.engine.inverse_variance import hksj_scale, wald_test
from metafuse.engine.problem import Problem, fit_weighted
from metafuse.engine.tau2 import estimate_tau2


@dataclass(frozen=True)
class MixedFit:
    """A fitted (mixed-effects) meta-regression on the analysis scale."""

    names: tuple[str, ...]
    coef: FloatArray
    #: Covariance matrix of the coefficients (Knapp-Hartung scaled under ``hksj``).
    vcov: FloatArray
    se: FloatArray
    statistic: FloatArray
    pval: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    df: int | None
    tau2: float
    QE: float
    QE_pval: float
    QM: float
    QM_df: tuple[int, int | None]
    QM_pval: float
    k: int


def tau2_mixed(
    y: FloatArray, v: FloatArray, X: FloatArray, method: str, **options: object
) -> float:
    """tau^2 of a mixed-effects model with design ``X`` (metafor's definitions)."""
    if method in ("FE", "EE"):
        return 0.0
    return float(estimate_tau2(Problem.of(y, v, X=X), method, **options).tau2[0])


def omnibus_test(
    coef: FloatArray, vcov: FloatArray, df: int | None
) -> tuple[float, tuple[int, int | None], float]:
    """Wald test of all coefficients but the intercept: chi^2(m), or F(m, df) (Knapp-Hartung)."""
    m = len(coef) - 1
    if m <= 0:
        return float("nan"), (0, df), float("nan")
    b, V = coef[1:], vcov[1:, 1:]
    qm = float(b @ np.linalg.solve(V, b))
    if df is None:
        return qm, (m, None), float(special.chdtrc(m, qm))
    return qm / m, (m, df), float(special.fdtrc(m, df, qm / m))


def fit_mixed(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    method: str = "REML",
    hksj: bool = False,
    names: Sequence[str] | None = None,
    level: float = 0.95,
    weights: FloatArray | None = None,
    tau2_options: dict[str, object] | None = None,
    *,
    knha: bool | None = None,
) -> MixedFit:
    """Fit ``y ~ X`` with sampling variances ``v`` (first column of ``X`` the intercept).

    ``weights`` are user weights ``a`` of the coefficients (metafor's ``weights``):
    ``b = (X'AX)^-1 X'Ay`` with covariance ``(X'AX)^-1 X'A(V + tau2)AX (X'AX)^-1``.
    """
    hksj = renamed("knha", knha, "hksj", hksj)
    y, v, X = (np.asarray(a, dtype=np.float64) for a in (y, v, X))
    k, p = X.shape
    if k <= p:
        raise ValueError(f"{k} studies cannot estimate {p} coefficients")
    if np.linalg.matrix_rank(X) < p:
        raise ValueError("the moderators are collinear (the design matrix is not of full rank)")
    tau2 = tau2_mixed(y, v, X, method, **(tau2_options or {}))
    problem = Problem.of(y, v, X=X)
    fit = fit_weighted(problem, problem.weights(np.array([tau2])))
    coef, vcov = fit.beta[0], fit.inverse[0].copy()
    if weights is not None:
        a = np.asarray(weights, dtype=np.float64)
        bread = np.linalg.inv(X.T @ (X * a[:, None]))
        coef = bread @ (X.T @ (a * y))
        vcov = bread @ (X.T * (a**2 * (v + tau2))) @ X @ bread
    df = None
    if hksj:
        vcov = vcov * float(hksj_scale(fit.q, np.array([k - p], dtype=float))[0])
        df = k - p
    se = np.sqrt(np.diag(vcov))
    dfs = None if df is None else np.full(p, float(df))
    stat, pval, lo, hi = wald_test(coef, se, dfs, level)
    qe = max(0.0, float(fit_weighted(problem, problem.weights(0.0)).q[0]))
    qm, qm_df, qm_p = omnibus_test(coef, vcov, df)
    return MixedFit(
        names=tuple(names) if names is not None else tuple(f"x{j}" for j in range(p)),
        coef=coef,
        vcov=vcov,
        se=se,
        statistic=stat,
        pval=pval,
        ci_low=lo,
        ci_high=hi,
        df=df,
        tau2=tau2,
        QE=qe,
        QE_pval=float(special.chdtrc(k - p, qe)),
        QM=qm,
        QM_df=qm_df,
        QM_pval=qm_p,
        k=k,
    )


@dataclass(frozen=True)
class BatchMixedFit:
    """Many meta-regressions fitted at once (arrays with a leading batch axis).

    Coefficients, standard errors, Wald statistics (z, or t under Knapp-Hartung), tau^2 and the
    omnibus statistic QM of many meta-regressions at once (arrays with a leading batch axis).
    """

    coef: FloatArray
    se: FloatArray
    statistic: FloatArray
    tau2: FloatArray
    QM: FloatArray
    #: (m, p, p) covariances (Knapp-Hartung scaled) and the scale factors (1 without hksj).
    vcov: FloatArray
    scale: FloatArray
    #: Residual heterogeneity statistic (Q with tau^2 = 0) of each fit.
    QE: FloatArray


def fit_mixed_many(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    method: str = "REML",
    hksj: bool = False,
    mask: BoolArray | None = None,
    *,
    knha: bool | None = None,
) -> BatchMixedFit:
    """Fit ``y[i] ~ X[i]`` for each row ``i``: :func:`fit_mixed`, vectorised.

    Fit ``y[i] ~ X[i]`` for each row ``i`` (``X`` of shape (m, k, p); ``mask`` leaves studies out);
    the same model as :func:`fit_mixed`, vectorised (permutation tests refit thousands of permuted
    designs, influence diagnostics every leave-one-out model).
    """
    hksj = renamed("knha", knha, "hksj", hksj)
    problem = Problem.of(y, v, mask=mask, X=X)
    fixed = method in ("FE", "EE")
    tau2 = np.zeros(problem.m) if fixed else estimate_tau2(problem, method).tau2
    fit = fit_weighted(problem, problem.weights(tau2))
    vcov = fit.inverse.copy()
    p = problem.p
    scale = np.ones(problem.m)
    if hksj:
        scale = hksj_scale(fit.q, (problem.k - p).astype(np.float64))
        vcov = vcov * scale[:, None, None]
    se = np.sqrt(np.einsum("mpp->mp", vcov))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = fit.beta / se
        b = fit.beta[:, 1:]
        qm = np.einsum("mp,mp->m", b, np.linalg.solve(vcov[:, 1:, 1:], b[..., None])[..., 0])
    if hksj and p > 1:
        qm = qm / (p - 1)
    qe = np.maximum(fit_weighted(problem, problem.weights(0.0)).q, 0.0)
    return BatchMixedFit(
        coef=fit.beta, se=se, statistic=stat, tau2=tau2, QM=qm, vcov=vcov, scale=scale, QE=qe
    )
