"""The median-unbiased generalised Q estimator of tau^2 (metafor's ``method="GENQM"``).

The generalised Q statistic with weights ``a``, ``Q_a = (y - X b_a)' A (y - X b_a)`` with
``b_a = (X'AX)^-1 X'Ay``, is a quadratic form ``y' M y`` with ``M = A - AX(X'AX)^-1 X'A``; for a
given tau^2 it is distributed as ``sum_j lambda_j chi^2_1``, the ``lambda_j`` being the
eigenvalues of ``S^1/2 M S^1/2`` with ``S = diag(v + tau^2)``. GENQM is the tau^2 at which the
observed ``Q_a`` is the median of that distribution (0 when it lies below the median at 0).
The distribution function is computed by Imhof's inversion formula.

References
----------
Imhof JP (1961). Computing the distribution of quadratic forms in normal variables. Biometrika
    48:419-426.
DerSimonian R, Kacker R (2007). Random-effects model for meta-analysis of clinical trials: an
    update. Contemp Clin Trials 28:105-114 (the generalised Q with arbitrary weights).
metafor's help page (?rma.uni) describes GENQM, attributing it to Viechtbauer (2021).
Jackson D (2013). Confidence intervals for the between-study variance in random effects
    meta-analysis using generalised Cochran heterogeneity statistics. Res Synth Methods 4:220-229.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import integrate, optimize

from metafuse._arrays import FloatArray


def weighted_chi2_sf(x: float, weights: FloatArray) -> float:
    """Return P(sum_j w_j chi^2_1 > x) by Imhof's (1961) inversion formula.

    P(sum_j w_j chi^2_1 > x) for non-negative ``weights``, by Imhof's (1961) inversion formula. Its
    integrand is ``sin(c(u) - x u / 2) / (u rho(u))`` with ``c`` slowly varying; on [1, inf) it is
    split into cosine and sine parts integrated by QUADPACK's Fourier-integral routine (QAWF), which
    handles the slow, oscillating decay exactly instead of truncating it.
    """
    lam = np.asarray(weights, dtype=np.float64)
    top = float(lam.max(initial=0.0))
    lam = lam[lam > 1e-14 * max(top, 1e-300)]
    if lam.size == 0 or x <= 0:
        return 0.0 if (lam.size == 0 and x >= 0) else 1.0
    lam, x = lam / top, x / top  # scale: largest weight 1
    omega = 0.5 * x

    def c(u: float) -> float:
        return 0.5 * float(np.sum(np.arctan(lam * u)))

    def amplitude(u: float) -> float:
        return math.exp(-0.25 * float(np.sum(np.log1p((lam * u) ** 2)))) / u

    def whole(u: float) -> float:
        if u == 0.0:
            return 0.5 * (float(lam.sum()) - x)
        return math.sin(c(u) - omega * u) * amplitude(u)

    options = {"limlst": 200, "limit": 200, "epsabs": 1e-14}
    with warnings.catch_warnings():
        # far in the tails (P ~ 1e-16) QAWF reports cycles it cannot refine; the value is 0 there
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        head = integrate.quad(whole, 0.0, 1.0, limit=200, epsabs=1e-14, epsrel=1e-12)[0]
        tail_cos = integrate.quad(
            lambda u: math.sin(c(u)) * amplitude(u), 1.0, np.inf, weight="cos", wvar=omega,
            **options,
        )[0]  # fmt: skip
        tail_sin = integrate.quad(
            lambda u: math.cos(c(u)) * amplitude(u), 1.0, np.inf, weight="sin", wvar=omega,
            **options,
        )[0]  # fmt: skip
    return min(1.0, max(0.0, 0.5 + (head + tail_cos - tail_sin) / math.pi))


def _q_matrix(X: FloatArray, a: FloatArray) -> FloatArray:
    """``M = A - AX(X'AX)^-1 X'A``: ``Q_a = y' M y``."""
    ax = X * a[:, None]
    return np.diag(a) - ax @ np.linalg.solve(X.T @ ax, ax.T)


def _tau2_at_tail(y: FloatArray, v: FloatArray, m: FloatArray, prob: float) -> float:
    """Solve for the tau^2 where the observed ``Q_a = y' M y`` has upper-tail probability ``prob``.

    The tau^2 at which the observed ``Q_a = y' M y`` has upper-tail probability ``prob`` under the
    model (0 where it already has at least ``prob`` at tau^2 = 0).

    ``P(Q_a > q_obs)`` grows with tau^2 (every eigenvalue of ``S^1/2 M S^1/2`` does).
    """
    q_obs = float(y @ m @ y)

    def gap(tau2: float) -> float:
        s = np.sqrt(v + tau2)
        lam = np.linalg.eigvalsh(s[:, None] * m * s[None, :])
        return weighted_chi2_sf(q_obs, np.clip(lam, 0.0, None)) - prob

    if gap(0.0) >= 0.0:
        return 0.0
    hi = max(float(np.var(y)), float(v.mean()), 1e-8)
    while gap(hi) < 0.0:
        hi *= 4.0
        if hi > 1e12 * max(float(v.max()), 1.0):
            raise ValueError("generalised Q: no root (Q is unbounded in tau^2)")
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-14, rtol=1e-12))


def tau2_genqm_one(y: FloatArray, v: FloatArray, X: FloatArray, a: FloatArray) -> float:
    """GENQM for one meta-analysis (studies on the axis, ``X`` its design).

    GENQM for one meta-analysis (studies on the axis, ``X`` its design): the tau^2 at which the
    observed Q_a is the median of its distribution.
    """
    return _tau2_at_tail(y, v, _q_matrix(X, a), 0.5)


def genq_interval_one(
    y: FloatArray, v: FloatArray, X: FloatArray, a: FloatArray, level: float
) -> tuple[float, float]:
    """Generalised Q confidence interval for tau^2 (Jackson 2013, Res Synth Methods 4:220-229.

    Generalised Q confidence interval for tau^2 (Jackson 2013, Res Synth Methods 4:220-229;
    metafor's ``confint()`` of a GENQ or GENQM fit): the tau^2 values at which the observed ``Q_a``
    has upper-tail probability ``(1 - level)/2`` (lower limit) and ``(1 + level)/2`` (upper limit);
    a limit is 0 where that probability is already reached at 0.
    """
    m = _q_matrix(X, a)
    alpha = 1.0 - level
    return _tau2_at_tail(y, v, m, alpha / 2), _tau2_at_tail(y, v, m, 1.0 - alpha / 2)
