"""Standard errors of tau^2 estimates, as metafor's ``rma.uni`` reports them (``se.tau2``).

Moment estimators of the generalised-Q family, ``tau2 = (Q_a - c) / d``, have
``Var(Q_a) = 2 tr((P_a S)^2)`` with ``S = diag(v + tau2)`` evaluated at the estimate, so
``se = sqrt(2 tr((P_a S)^2)) / d`` (DerSimonian & Kacker 2007): DL (``a = 1/v``, ``d = tr P_a``),
HE (``a = 1``, ``d = k - p``), HS (``a = 1/v``, ``d = sum a``; HSk times ``k/(k - p)``), SJ
(``a = 1/(v + tau2_0)``, times ``tau2_0 / (k - p)``), GENQ and the two-step estimators. ML and
REML use the inverse expected information, ``sqrt(2 / sum w^2)`` and ``sqrt(2 / tr(PP))``;
Paule-Mandel, EB and PMM ``sqrt(2 k^2 / (k - p)) / sum w`` (Viechtbauer 2010, metafor).
"""

from __future__ import annotations

import numpy as np

from metafuse._arrays import FloatArray
from metafuse.engine.problem import Problem, fit_weighted, trace_p, trace_pp
from metafuse.engine.tau2 import genq, sj_start


def _projection(problem: Problem, a: FloatArray) -> FloatArray:
    """``P_a = A - A X (X'AX)^-1 X'A`` as (m, k, k) matrices."""
    fit = fit_weighted(problem, np.where(problem.mask, a, 0.0))
    k = problem.y.shape[-1]
    X = np.ones((problem.m, k, 1)) if problem.X is None else problem.X
    ax = fit.w[..., None] * X
    return fit.w[:, :, None] * np.eye(k) - np.einsum("mkp,mpq,mlq->mkl", ax, fit.inverse, ax)


#: Above this many cells (m k^2), Var(Q) is computed without forming the k x k matrices P_a.
PROJECTION_CELLS = 2**22


def _q_variance(problem: Problem, a: FloatArray, tau2: FloatArray) -> FloatArray:
    """``2 tr((P_a S)^2)`` with ``S = diag(v + tau2)`` (masked studies have 0 in S)."""
    k = problem.y.shape[-1]
    if problem.m * k * k > PROJECTION_CELLS:
        return _q_variance_factored(problem, a, tau2)
    p = _projection(problem, a)
    s = np.where(problem.mask, problem.v + tau2[:, None], 0.0)
    return 2.0 * np.einsum("mij,mi,mj->m", p**2, s, s)


def _q_variance_factored(problem: Problem, a: FloatArray, tau2: FloatArray) -> FloatArray:
    """Return the same ``2 tr((P_a S)^2)`` in O(k p^2) memory.

    The same ``2 tr((P_a S)^2)`` in O(k p^2) memory: with ``u_i = a_i x_i`` and ``M = (X'AX)^-1``,
    ``P_ij = a_i [i = j] - u_i' M u_j``, so ``sum_ij P_ij^2 s_i s_j = sum a^2 s^2 - 2 sum a s^2 u'Mu
    + tr(M B M B)`` with ``B = sum s u u'``.
    """
    fit = fit_weighted(problem, np.where(problem.mask, a, 0.0))
    k = problem.y.shape[-1]
    X = np.ones((problem.m, k, 1)) if problem.X is None else problem.X
    s = np.where(problem.mask, problem.v + tau2[:, None], 0.0)
    u = fit.w[..., None] * X
    umu = np.einsum("mkp,mpq,mkq->mk", u, fit.inverse, u)
    mb = fit.inverse @ np.einsum("mk,mkp,mkq->mpq", s, u, u)
    diagonal = (fit.w**2 * s**2).sum(axis=-1) - 2.0 * (fit.w * s**2 * umu).sum(axis=-1)
    return 2.0 * (diagonal + np.einsum("mpq,mqp->m", mb, mb))


def tau2_standard_error(
    problem: Problem, method: str, tau2: FloatArray, weights: FloatArray | None = None
) -> FloatArray:
    """``se`` of the tau^2 estimate of ``method`` (nan for FE and methods without one)."""
    k = problem.k.astype(np.float64)
    df = k - problem.p
    iv = 1.0 / problem.v
    unit = problem.unit_weights()
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("DL", "GENQ", "DL2", "CA2"):
            a = {
                "DL": iv,
                "GENQ": weights if weights is not None else iv,
                "DL2": problem.weights(genq(problem, iv)),
                "CA2": problem.weights(genq(problem, unit)),
            }[method]
            a = np.broadcast_to(a, problem.y.shape)
            fit = fit_weighted(problem, np.where(problem.mask, a, 0.0))
            return np.sqrt(_q_variance(problem, a, tau2)) / trace_p(problem, fit)
        if method == "HE":
            return np.sqrt(_q_variance(problem, unit, tau2)) / df
        if method in ("HS", "HSK"):
            factor = k / df if method == "HSK" else 1.0
            sw = np.where(problem.mask, iv, 0.0).sum(axis=-1)
            return factor * np.sqrt(_q_variance(problem, iv, tau2)) / sw
        if method == "SJ":
            t0 = sj_start(problem)
            return t0 / df * np.sqrt(_q_variance(problem, problem.weights(t0), tau2))
        fit = fit_weighted(problem, problem.weights(tau2))
        if method == "ML":
            return np.sqrt(2.0 / (fit.w**2).sum(axis=-1))
        if method == "REML":
            return np.sqrt(2.0 / trace_pp(problem, fit))
        if method in ("PM", "EB", "PMM"):
            return np.sqrt(2.0 * k**2 / df) / fit.w.sum(axis=-1)
    return np.full(problem.m, np.nan)
