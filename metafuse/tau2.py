"""Estimators of the between-study variance tau^2 in the random-effects model.

Each estimator is a numpy function of the effect sizes ``yi`` and sampling variances ``vi``, arrays
whose last axis holds the studies of one meta-analysis; any leading axes are independent
meta-analyses (a batch), fitted together without per-study or per-analysis Python loops.

The estimators reproduce metafor's ``rma.uni`` (Viechtbauer 2010) definitions for the
intercept-only model. Iterative estimators (ML, REML, PM/EB) never fail on valid input: they use
Fisher scoring with step halving from metafor's starting value and, where that does not converge,
a bracketing root finder on the estimating equation (safeguarded Newton-bisection). tau^2 is never
negative.

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
Hedges LV (1983). A random effects model for effect sizes. Psychol Bull 93:388-395.
Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis, 2nd ed. Sage.
Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl Bur Stand 87:377-385.
Morris CN (1983). Parametric empirical Bayes inference. J Am Stat Assoc 78:47-55.
Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for meta-analysis.
    J R Stat Soc C 54:367-384.
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the random-effects
    model. J Educ Behav Stat 30:261-293.
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
    Stat Med 26:37-52.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Score = Callable[[FloatArray], tuple[FloatArray, FloatArray]]

#: Fisher scoring: at most this many iterations before the bracketing fallback takes over
#: (metafor's default maxiter).
MAX_SCORING_ITERATIONS: Final = 100
#: Convergence: the change in tau^2 is below ABS_TOL + REL_TOL * tau^2. Far tighter than metafor's
#: default threshold (1e-5), so that our values are the exact root to about 12 significant digits.
REL_TOL: Final = 1e-12
ABS_TOL: Final = 1e-15
#: Log-likelihoods closer than this (relative) are ties; a tie with tau^2 = 0 is resolved to 0.
LL_TIE: Final = 1e-13
#: Bisection steps of the bracketing fallback; 200 halvings shrink any bracket below REL_TOL.
MAX_BRACKET_ITERATIONS: Final = 400


@dataclass(frozen=True)
class Tau2Fit:
    """tau^2 estimates with how they were obtained (arrays of the batch shape)."""

    tau2: FloatArray
    #: True where Fisher scoring did not converge and the bracketing root finder gave the answer.
    used_fallback: BoolArray
    #: True where the final value satisfies its estimating equation (or boundary condition).
    converged: BoolArray


def _k(yi: FloatArray) -> int:
    return int(yi.shape[-1])


def _weighted_mean(yi: FloatArray, w: FloatArray) -> FloatArray:
    return (w * yi).sum(axis=-1) / w.sum(axis=-1)


def generalised_q(yi: FloatArray, vi: FloatArray, tau2: FloatArray | float = 0.0) -> FloatArray:
    """Generalised Cochran's Q: ``sum w (y - mu_w)^2`` with ``w = 1/(v + tau2)``.

    With ``tau2 = 0`` this is Cochran's Q (Cochran 1954).
    """
    t = np.asarray(tau2, dtype=np.float64)[..., None]
    w = 1.0 / (vi + t)
    mu = _weighted_mean(yi, w)
    return (w * (yi - mu[..., None]) ** 2).sum(axis=-1)


def tau2_dl(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """DerSimonian-Laird moment estimator, truncated at zero (DerSimonian & Laird 1986)."""
    k = _k(yi)
    w = 1.0 / vi
    sw = w.sum(axis=-1)
    c = sw - (w**2).sum(axis=-1) / sw
    q = generalised_q(yi, vi)
    return np.maximum(0.0, (q - (k - 1)) / c)


def tau2_he(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Hedges' unweighted method-of-moments estimator, truncated at zero (Hedges 1983).

    ``tau2 = sum (y - ybar)^2 / (k - 1) - mean(v)``.
    """
    k = _k(yi)
    ss = ((yi - yi.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    return np.maximum(0.0, ss / (k - 1) - vi.mean(axis=-1))


def tau2_sj(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Sidik-Jonkman estimator (Sidik & Jonkman 2005), started at ``sum (y - ybar)^2 / k``.

    ``tau2 = tau2_0 * Q(tau2_0) / (k - 1)``, where ``Q(tau2_0)`` is the generalised Q.
    """
    k = _k(yi)
    tau2_0 = ((yi - yi.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1) / k
    return np.maximum(0.0, tau2_0 * generalised_q(yi, vi, tau2_0) / (k - 1))


def tau2_hs(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Hunter-Schmidt estimator, ``(Q - k) / sum w``, truncated at zero (Hunter & Schmidt 2004).

    As defined in metafor (Viechtbauer et al. 2015, Res Synth Methods 6:306-322).
    """
    k = _k(yi)
    w = 1.0 / vi
    return np.maximum(0.0, (generalised_q(yi, vi) - k) / w.sum(axis=-1))


# --- estimating equations: (score u, positive slope information) as functions of tau^2 ----------


def _moments(yi: FloatArray, vi: FloatArray, t: FloatArray):
    w = 1.0 / (vi + t[..., None])
    sw = w.sum(axis=-1)
    mu = (w * yi).sum(axis=-1) / sw
    r2 = (yi - mu[..., None]) ** 2
    return w, sw, r2


def _reml_score(yi: FloatArray, vi: FloatArray) -> Score:
    def score(t: FloatArray) -> tuple[FloatArray, FloatArray]:
        w, sw, r2 = _moments(yi, vi, t)
        sw2 = (w**2).sum(axis=-1)
        u = (w**2 * r2).sum(axis=-1) - (sw - sw2 / sw)
        info = sw2 - 2 * (w**3).sum(axis=-1) / sw + (sw2 / sw) ** 2
        return u, info

    return score


def _ml_score(yi: FloatArray, vi: FloatArray) -> Score:
    def score(t: FloatArray) -> tuple[FloatArray, FloatArray]:
        w, sw, r2 = _moments(yi, vi, t)
        return (w**2 * r2).sum(axis=-1) - sw, (w**2).sum(axis=-1)

    return score


def _q_score(yi: FloatArray, vi: FloatArray, target: FloatArray | float) -> Score:
    """Generalised Q minus its target; Newton slope ``-dQ/dtau2 = sum w^2 (y - mu)^2``."""

    def score(t: FloatArray) -> tuple[FloatArray, FloatArray]:
        w, _, r2 = _moments(yi, vi, t)
        return (w * r2).sum(axis=-1) - target, (w**2 * r2).sum(axis=-1)

    return score


def _log_likelihood(yi: FloatArray, vi: FloatArray, t: FloatArray, *, reml: bool) -> FloatArray:
    w, sw, r2 = _moments(yi, vi, t)
    ll = -0.5 * np.log(vi + t[..., None]).sum(axis=-1) - 0.5 * (w * r2).sum(axis=-1)
    return ll - 0.5 * np.log(sw) if reml else ll


# --- solvers ------------------------------------------------------------------------------------


def _fisher_scoring(score: Score, start: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Fisher scoring ``t <- t + u/I`` with step halving to keep ``t >= 0`` (as metafor does)."""
    t = start.copy()
    done = np.zeros(t.shape, dtype=bool)
    for _ in range(MAX_SCORING_ITERATIONS):
        u, info = score(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(done, 0.0, u / info)
        bad = ~np.isfinite(step)
        step = np.where(bad, 0.0, step)
        # step halving: a step that would make tau^2 negative is halved until it does not
        for _ in range(64):
            negative = t + step < 0
            if not negative.any():
                break
            step = np.where(negative, step / 2, step)
        new = np.maximum(t + step, 0.0)
        small = np.abs(new - t) <= ABS_TOL + REL_TOL * new
        t = np.where(done, t, new)
        done |= small & ~bad
        if done.all():
            break
    return t, done


def _bracket_root(
    score: Score, active: BoolArray, start: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Root of a score that is positive at 0 and negative for large tau^2 (where ``active``).

    Safeguarded Newton-bisection: the bracket [lo, hi] always contains a sign change; a Newton
    step is taken when it falls inside the bracket and the bracket has halved since the last
    check, bisection otherwise, so the bracket at least halves every two steps. Entries that are not
    active, or whose score at 0 is already <= 0, return 0.
    """
    shape = start.shape
    lo = np.zeros(shape)
    u0, _ = score(lo)
    need = active & (u0 > 0)
    hi = np.where(need, np.maximum(1.0, 2.0 * start), 0.0)
    # expand the upper end until the score is negative there
    for _ in range(2100):
        u_hi, _ = score(np.where(need, hi, 1.0))
        grow = need & (u_hi > 0) & np.isfinite(hi)
        if not grow.any():
            break
        lo = np.where(grow, hi, lo)
        hi = np.where(grow, hi * 4.0, hi)
    x = np.where(need, 0.5 * (lo + hi), 0.0)
    converged = ~need
    reference = hi - lo  # bracket width the next step must halve, or else bisect
    for _ in range(MAX_BRACKET_ITERATIONS):
        u, info = score(np.where(need, x, 1.0))
        pos = u > 0
        lo = np.where(need & pos, x, lo)
        hi = np.where(need & ~pos, x, hi)
        width = hi - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x + u / info
        # Newton only while it lands inside the bracket and the bracket keeps halving
        # (rtsafe's safeguard, Press et al., Numerical Recipes 9.4); bisection otherwise
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        halving = width <= 0.5 * reference
        new = np.where(inside & halving, newton, 0.5 * (lo + hi))
        reference = np.where(halving | ~inside, width, reference)
        tiny_step = inside & (np.abs(newton - x) <= ABS_TOL + REL_TOL * np.abs(x))
        converged |= need & ((width <= ABS_TOL + REL_TOL * hi) | (u == 0) | tiny_step)
        x = np.where(need & tiny_step, newton, x)
        x = np.where(need & ~converged, new, x)
        if converged.all():
            break
    return np.where(need, x, 0.0), converged


def _solve_likelihood(yi: FloatArray, vi: FloatArray, *, reml: bool) -> Tau2Fit:
    score = _reml_score(yi, vi) if reml else _ml_score(yi, vi)
    start = tau2_he(yi, vi)  # metafor's default starting value
    t, done = _fisher_scoring(score, start)
    fallback = ~done
    if fallback.any():
        t_b, conv_b = _bracket_root(score, fallback, np.where(fallback, start, 0.0))
        t = np.where(fallback, t_b, t)
        done = np.where(fallback, conv_b, done)
    # like metafor's ll0check: the boundary tau^2 = 0 wins when its likelihood is at least as high
    # (to rounding), which also turns an iterate creeping towards the boundary into an exact 0
    zero = np.zeros_like(t)
    ll_hat = _log_likelihood(yi, vi, t, reml=reml)
    ll_zero = _log_likelihood(yi, vi, zero, reml=reml)
    t = np.where(ll_zero >= ll_hat - LL_TIE * np.maximum(1.0, np.abs(ll_hat)), 0.0, t)
    return Tau2Fit(tau2=t, used_fallback=fallback, converged=done)


def fit_tau2_reml(yi: FloatArray, vi: FloatArray) -> Tau2Fit:
    """Restricted maximum likelihood (Viechtbauer 2005), with convergence diagnostics."""
    return _solve_likelihood(np.asarray(yi, float), np.asarray(vi, float), reml=True)


def fit_tau2_ml(yi: FloatArray, vi: FloatArray) -> Tau2Fit:
    """Maximum likelihood (Viechtbauer 2005), with convergence diagnostics."""
    return _solve_likelihood(np.asarray(yi, float), np.asarray(vi, float), reml=False)


def fit_tau2_pm(yi: FloatArray, vi: FloatArray) -> Tau2Fit:
    """Paule-Mandel: the tau^2 at which the generalised Q equals k - 1 (0 if Q(0) < k - 1)."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    active = np.ones(yi.shape[:-1], dtype=bool)
    t, conv = _bracket_root(_q_score(yi, vi, _k(yi) - 1), active, tau2_dl(yi, vi))
    return Tau2Fit(tau2=t, used_fallback=np.ones_like(active), converged=conv)


def tau2_reml(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Restricted maximum-likelihood estimator of tau^2 (Viechtbauer 2005)."""
    return fit_tau2_reml(yi, vi).tau2


def tau2_ml(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Maximum-likelihood estimator of tau^2 (Viechtbauer 2005)."""
    return fit_tau2_ml(yi, vi).tau2


def tau2_pm(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Paule-Mandel estimator of tau^2 (Paule & Mandel 1982)."""
    return fit_tau2_pm(yi, vi).tau2


def tau2_eb(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Empirical Bayes estimator of tau^2 (Morris 1983; Berkey et al. 1995).

    Its estimating equation, ``sum w [k/(k-1) (y - mu)^2 - v - tau2] = 0``, rearranges to
    ``Q(tau2) = k - 1`` in the intercept-only model, so it equals the Paule-Mandel estimate
    (Viechtbauer 2005, section 2.6).
    """
    return tau2_pm(yi, vi)


#: tau^2 estimator for each random-effects method code.
ESTIMATORS: Final[dict[str, Callable[[FloatArray, FloatArray], FloatArray]]] = {
    "DL": tau2_dl,
    "HE": tau2_he,
    "SJ": tau2_sj,
    "HS": tau2_hs,
    "PM": tau2_pm,
    "EB": tau2_eb,
    "ML": tau2_ml,
    "REML": tau2_reml,
}


def q_profile_ci(
    yi: FloatArray, vi: FloatArray, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007).

    The limits are the tau^2 values at which the generalised Q equals the upper and lower
    ``(1 - level)/2`` quantiles of chi^2 with ``k - 1`` degrees of freedom; a limit is 0 when Q(0)
    already lies below its quantile.
    """
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    df = _k(yi) - 1
    alpha = 1 - level
    active = np.ones(yi.shape[:-1], dtype=bool)
    start = tau2_dl(yi, vi)
    lower, _ = _bracket_root(_q_score(yi, vi, stats.chi2.ppf(1 - alpha / 2, df)), active, start)
    upper, _ = _bracket_root(_q_score(yi, vi, stats.chi2.ppf(alpha / 2, df)), active, start)
    return lower, upper
