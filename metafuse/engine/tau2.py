"""Estimators of the between-study variance tau^2, each written once for any design.

Every estimator takes a :class:`~metafuse.engine.problem.Problem` (a batch of meta-analyses with
an intercept-only or a meta-regression design, ragged through a mask) and returns a
:class:`Tau2Fit` of per-row arrays. The definitions are metafor's (``rma.uni``; Viechtbauer 2010),
so that results can be checked against it; tau^2 is never negative.

Moment estimators share one formula, the generalised-Q estimator of DerSimonian & Kacker (2007)
with weights ``a``: ``tau2 = (Q_a - tr(P_a V)) / tr(P_a)``; DerSimonian-Laird is ``a = 1/v``,
Hedges (HE/CA) ``a = 1``, and the two-step estimators use ``a = 1/(v + tau2_first)``.
Paule-Mandel/empirical Bayes solve ``Q(tau2) = k - p``, whose root is unique, by safeguarded
Newton-bisection. ML and REML take the global maximum of the (restricted) likelihood over the whole
admissible range (:func:`~metafuse.engine.solvers.likelihood_maximum`): the likelihood can have
several local maxima (e.g. the cumulative meta-analysis of Lau et al. 1992), and an iteration from
one start can stop at the lower one.

References
----------
DerSimonian R, Laird N (1986). Control Clin Trials 7:177-188.
DerSimonian R, Kacker R (2007). Random-effects model for meta-analysis of clinical trials: an
    update. Contemp Clin Trials 28:105-114 (generalised Q, two-step estimators).
Hedges LV (1983). Psychol Bull 93:388-395.
Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis, 2nd ed. Sage.
Paule RC, Mandel J (1982). J Res Natl Bur Stand 87:377-385.
Morris CN (1983). J Am Stat Assoc 78:47-55 (empirical Bayes).
Sidik K, Jonkman JN (2005). J R Stat Soc C 54:367-384.
Viechtbauer W (2005). J Educ Behav Stat 30:261-293.
Viechtbauer W, Lopez-Lopez JA, Sanchez-Meca J, Marin-Martinez F (2015). A comparison of
    procedures to test for moderators in mixed-effects meta-regression models. Psychol Methods
    20:360-374 (HS and HSk as defined in metafor).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from metafuse.engine import solvers
from metafuse.engine.problem import (
    BoolArray,
    FloatArray,
    Problem,
    fit_weighted,
    log_likelihood,
    py_squared,
    trace_p,
    trace_pp,
)

# the estimators whose CI for tau^2 is the generalised Q interval (metafor's confint default)
from metafuse.model import GENERALISED_Q_METHODS as GENERALISED_Q_METHODS


@dataclass(frozen=True)
class Tau2Fit:
    """tau^2 estimates (shape (m,)) with how they were obtained."""

    tau2: FloatArray
    #: True where the estimating equation (or the boundary condition at 0) holds.
    converged: BoolArray
    #: True where the likelihood has more than one interior local maximum (ML, REML).
    multiple_maxima: BoolArray


def _closed_form(tau2: FloatArray) -> Tau2Fit:
    m = tau2.shape[0]
    no = np.zeros(m, dtype=bool)
    return Tau2Fit(np.maximum(tau2, 0.0), np.ones(m, dtype=bool), no)


def _df(problem: Problem) -> FloatArray:
    return (problem.k - problem.p).astype(np.float64)


def genq(problem: Problem, a: FloatArray) -> FloatArray:
    """Generalised-Q moment estimator with weights ``a`` (DerSimonian & Kacker 2007, eq. 6).

    ``(Q_a - tr(P_a V)) / tr(P_a)``, truncated at 0.
    """
    fit = fit_weighted(problem, np.where(problem.mask, a, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (fit.q - trace_p(problem, fit, problem.v)) / trace_p(problem, fit)
    return np.maximum(est, 0.0)


def tau2_dl(problem: Problem) -> Tau2Fit:
    """DerSimonian-Laird: generalised Q with inverse-variance weights ``1/v``."""
    return _closed_form(genq(problem, 1.0 / problem.v))


def tau2_he(problem: Problem) -> Tau2Fit:
    """Hedges' (Cochran's ANOVA) estimator: generalised Q with unit weights."""
    return _closed_form(genq(problem, problem.unit_weights()))


def tau2_genq(problem: Problem, weights: FloatArray) -> Tau2Fit:
    """Generalised-Q estimator with user weights (metafor's ``method="GENQ"``)."""
    return _closed_form(genq(problem, np.broadcast_to(weights, problem.y.shape)))


def tau2_dl2(problem: Problem) -> Tau2Fit:
    """Two-step DerSimonian-Laird: weights ``1/(v + tau2_DL)`` (DerSimonian & Kacker 2007)."""
    first = genq(problem, 1.0 / problem.v)
    return _closed_form(genq(problem, problem.weights(first)))


def tau2_ca2(problem: Problem) -> Tau2Fit:
    """Two-step Cochran's ANOVA: weights ``1/(v + tau2_HE)`` (DerSimonian & Kacker 2007)."""
    first = genq(problem, problem.unit_weights())
    return _closed_form(genq(problem, problem.weights(first)))


def _hunter_schmidt(problem: Problem, small_sample: bool) -> FloatArray:
    fit = fit_weighted(problem, problem.weights(0.0))
    q = fit.q * (problem.k / _df(problem) if small_sample else 1.0)
    return (q - problem.k) / fit.w.sum(axis=-1)


def tau2_hs(problem: Problem) -> Tau2Fit:
    """Hunter-Schmidt: ``(Q - k) / sum w``, truncated at 0."""
    return _closed_form(_hunter_schmidt(problem, small_sample=False))


def tau2_hsk(problem: Problem) -> Tau2Fit:
    """Hunter-Schmidt with the small-sample correction: ``(Q k/(k - p) - k) / sum w``."""
    return _closed_form(_hunter_schmidt(problem, small_sample=True))


def sj_start(problem: Problem) -> FloatArray:
    """Sidik-Jonkman's default start: ``sum (y - ybar)^2 / k`` with the unweighted mean."""
    k = problem.k.astype(np.float64)
    ybar = problem.y.sum(axis=-1) / k
    ss = np.where(problem.mask, (problem.y - ybar[:, None]) ** 2, 0.0).sum(axis=-1)
    return ss / k


def tau2_sj(problem: Problem, start: FloatArray | float | None = None) -> Tau2Fit:
    """Sidik-Jonkman: ``tau2_0 Q(tau2_0) / (k - p)`` (Sidik & Jonkman 2005).

    ``start`` replaces the default start ``tau2_0`` (metafor's ``control=list(tau2.init=...)``).
    """
    t0 = sj_start(problem) if start is None else np.broadcast_to(start, (problem.m,)) * 1.0
    fit = fit_weighted(problem, problem.weights(t0))
    return _closed_form(t0 * fit.q / _df(problem))


# --- estimating equations ------------------------------------------------------------------------


def reml_score(
    problem: Problem, tau2: FloatArray, rows: np.ndarray | None = None
) -> tuple[FloatArray, FloatArray]:
    """REML score ``(Py)'(Py) - tr P`` and its expected information ``tr(PP)``."""
    fit = fit_weighted(problem, problem.weights(tau2))
    return py_squared(fit) - trace_p(problem, fit), trace_pp(problem, fit)


def ml_score(
    problem: Problem, tau2: FloatArray, rows: np.ndarray | None = None
) -> tuple[FloatArray, FloatArray]:
    """ML score ``sum w^2 r^2 - sum w`` and its expected information ``sum w^2``."""
    fit = fit_weighted(problem, problem.weights(tau2))
    return py_squared(fit) - fit.w.sum(axis=-1), (fit.w**2).sum(axis=-1)


def solve_q(
    problem: Problem, target: FloatArray, start: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Return the tau^2 at which the generalised Q equals ``target`` (0 where Q(0) <= target).

    Q decreases in tau^2 (``dQ/dtau2 = -(Py)'(Py)``), so the root is unique.
    """
    goal = np.broadcast_to(np.asarray(target, dtype=np.float64), (problem.m,))

    def score(sub: Problem, tau2: FloatArray, rows: np.ndarray) -> tuple[FloatArray, FloatArray]:
        fit = fit_weighted(sub, sub.weights(tau2))
        return fit.q - goal[rows], py_squared(fit)

    return solvers.bracket_root(problem, score, start)


def tau2_pm(problem: Problem, target: FloatArray | None = None) -> Tau2Fit:
    """Paule-Mandel: the tau^2 at which Q equals ``k - p`` (0 if Q(0) < k - p).

    ``target`` replaces ``k - p`` (e.g. the median of chi^2(k - p) for the median-unbiased
    estimator, PMM).
    """
    goal = _df(problem) if target is None else target
    t, ok = solve_q(problem, goal, genq(problem, 1.0 / problem.v))
    no = np.zeros(problem.m, dtype=bool)
    return Tau2Fit(t, ok, no)


def tau2_pmm(problem: Problem) -> Tau2Fit:
    """Median-unbiased Paule-Mandel: Q equals the median of chi^2 with ``k - p`` df."""
    from scipy import special

    return tau2_pm(problem, special.chdtri(_df(problem), 0.5))


def tau2_eb(problem: Problem) -> Tau2Fit:
    """Empirical Bayes (Morris 1983; Berkey et al. 1995).

    Its estimating equation ``sum w [k/(k-p) r^2 - v - tau2] = 0`` rearranges to
    ``Q(tau2) = k - p``, so it equals the Paule-Mandel estimate (Viechtbauer 2005, section 2.6).
    """
    return tau2_pm(problem)


def _likelihood_fit(problem: Problem, *, reml: bool) -> Tau2Fit:
    """ML or REML at the global maximum of the (restricted) likelihood in ``tau2 >= 0``."""
    score = reml_score if reml else ml_score
    df = _df(problem) if reml else problem.k.astype(np.float64)

    def loglik(sub: Problem, tau2: FloatArray) -> FloatArray:
        return log_likelihood(sub, tau2, reml=reml)

    upper = solvers.likelihood_upper_bound(problem, df)
    t, ok, maxima = solvers.likelihood_maximum(problem, score, loglik, upper)
    return Tau2Fit(tau2=t, converged=ok, multiple_maxima=maxima > 1)


def tau2_reml(problem: Problem) -> Tau2Fit:
    """Restricted maximum likelihood (Viechtbauer 2005), at the global maximum."""
    return _likelihood_fit(problem, reml=True)


def tau2_ml(problem: Problem) -> Tau2Fit:
    """Maximum likelihood (Viechtbauer 2005), at the global maximum."""
    return _likelihood_fit(problem, reml=False)


#: tau^2 estimator of each random-effects method code (arguments: the problem only).
ESTIMATORS: Final[dict[str, Callable[[Problem], Tau2Fit]]] = {
    "DL": tau2_dl,
    "HE": tau2_he,
    "SJ": tau2_sj,
    "HS": tau2_hs,
    "HSK": tau2_hsk,
    "DL2": tau2_dl2,
    "CA2": tau2_ca2,
    "PM": tau2_pm,
    "PMM": tau2_pmm,
    "EB": tau2_eb,
    "ML": tau2_ml,
    "REML": tau2_reml,
}


def estimate_tau2(problem: Problem, method: str, **options: object) -> Tau2Fit:
    """tau^2 by ``method`` (a key of :data:`ESTIMATORS`, or GENQ/GENQM with ``weights``).

    Options: ``weights`` (GENQ, GENQM), ``start`` (SJ's start value), ``tau2``: a value fixed in
    advance (metafor's ``rma(tau2=)``), used whatever the method.
    """
    if options.get("tau2") is not None:
        fixed = np.broadcast_to(np.asarray(options["tau2"], dtype=np.float64), problem.m).copy()
        if not (np.isfinite(fixed).all() and (fixed >= 0).all()):
            raise ValueError("a fixed tau^2 must be a finite number >= 0")
        return Tau2Fit(fixed, np.ones(problem.m, dtype=bool), np.zeros(problem.m, dtype=bool))
    if method in GENERALISED_Q_METHODS:
        weights = options.get("weights")
        if weights is None:
            raise ValueError(f"{method} needs weights")
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64), problem.y.shape)
        if method == "GENQ":
            return tau2_genq(problem, w)
        return _genq_median(problem, w)
    if method == "SJ" and options.get("start") is not None:
        return tau2_sj(problem, np.asarray(options["start"], dtype=np.float64))
    return ESTIMATORS[method](problem)


def _genq_median(problem: Problem, a: FloatArray) -> Tau2Fit:
    """Compute the median-unbiased generalised-Q estimator (GENQM), row by row.

    Median-unbiased generalised-Q estimator (GENQM), row by row (:mod:`metafuse.engine.genqm`).
    """
    from metafuse.engine.genqm import tau2_genqm_one

    out = np.zeros(problem.m)
    for r in range(problem.m):
        keep = problem.mask[r]
        X = np.ones((int(keep.sum()), 1)) if problem.X is None else problem.X[r][keep]
        out[r] = tau2_genqm_one(problem.y[r][keep], problem.v[r][keep], X, a[r][keep])
    ones = np.ones(problem.m, dtype=bool)
    return Tau2Fit(out, ones, np.zeros(problem.m, dtype=bool))


def q_profile_ci(problem: Problem, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007).

    The limits are the tau^2 at which the generalised Q equals the upper and lower
    ``(1 - level)/2`` quantiles of chi^2 with ``k - p`` df; a limit is 0 where Q(0) already lies
    below its quantile.
    """
    from scipy import special

    df = _df(problem)
    alpha = 1.0 - level
    start = genq(problem, 1.0 / problem.v)
    lower, _ = solve_q(problem, special.chdtri(df, alpha / 2), start)
    upper, _ = solve_q(problem, special.chdtri(df, 1 - alpha / 2), start)
    return lower, upper


def tau2_interval(
    problem: Problem, method: str, level: float = 0.95, weights: object = None
) -> tuple[FloatArray, FloatArray]:
    """Return the confidence interval for tau^2 that belongs to ``method``.

    The confidence interval for tau^2 that belongs to ``method``: the generalised Q interval
    (Jackson 2013; :func:`metafuse.engine.genqm.genq_interval_one`) for GENQ and GENQM fits, whose
    ``weights`` it needs, and the Q-profile interval (:func:`q_profile_ci`) otherwise.
    """
    if method not in GENERALISED_Q_METHODS:
        return q_profile_ci(problem, level)
    from metafuse.engine.genqm import genq_interval_one

    if weights is None:
        raise ValueError(f"the {method} interval for tau^2 needs the estimator's weights")
    a = np.broadcast_to(np.asarray(weights, dtype=np.float64), problem.y.shape)
    lower, upper = np.zeros(problem.m), np.zeros(problem.m)
    for r in range(problem.m):
        keep = problem.mask[r]
        X = np.ones((int(keep.sum()), 1)) if problem.X is None else problem.X[r][keep]
        lower[r], upper[r] = genq_interval_one(
            problem.y[r][keep], problem.v[r][keep], X, a[r][keep], level
        )
    return lower, upper
