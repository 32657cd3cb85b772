"""Further inference on a pooled result.

Confidence intervals for tau^2 (Q-profile and profile likelihood), BLUPs of the study effects, and
the Henmi-Copas interval.

References
----------
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
    Stat Med 26:37-52 (Q-profile; profile likelihood).
Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In: The Handbook of Research
    Synthesis and Meta-Analysis, 2nd ed., chapter 16 (empirical Bayes estimates of study effects).
Henmi M, Copas JB (2010). Confidence intervals for random effects meta-analysis and robustness to
    publication bias. Stat Med 29:2969-2983.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from metafuse._arrays import FloatArray
from metafuse.engine.inverse_variance import normal_quantile, t_quantile
from metafuse.engine.problem import Problem, log_likelihood
from metafuse.engine.tau2 import GENERALISED_Q_METHODS, tau2_interval
from metafuse.result_protocol import ResultMixin, short
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import estimator_weights, used_effects


@dataclass(frozen=True, repr=False)
class HeterogeneityInterval(ResultMixin):
    """tau^2, tau, I^2 (percent) and H^2, each as (estimate, ci_low, ci_high)."""

    title = "Confidence interval for the heterogeneity"

    tau2: tuple[float, float, float]
    tau: tuple[float, float, float]
    I2: tuple[float, float, float]
    H2: tuple[float, float, float]
    type: str
    level: float

    def to_dict(self) -> dict[str, Any]:
        """Each quantity as [estimate, ci_low, ci_high], with the type and level."""
        return {
            "tau2": list(self.tau2),
            "tau": list(self.tau),
            "I2": list(self.I2),
            "H2": list(self.H2),
            "type": self.type,
            "level": self.level,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: estimate, ci_low, ci_high."""
        rows = {"tau^2": self.tau2, "tau": self.tau, "I^2 (%)": self.I2, "H^2": self.H2}
        return pd.DataFrame(
            rows.values(), index=list(rows), columns=["estimate", "ci_low", "ci_high"]
        )

    def _headline(self) -> str:
        est, lo, hi = self.tau2
        kind = {"QP": "Q-profile", "GENQ": "generalised Q", "PL": "profile likelihood"}.get(
            self.type, self.type
        )
        return f"tau^2 = {short(est)} [{100 * self.level:g}% CI {short(lo)}, {short(hi)}] ({kind})"

    def _table(self) -> pd.DataFrame:
        return self.to_frame().reset_index(names="quantity")


def _profile_limits(problem: Problem, tau2: float, reml: bool, level: float) -> tuple[float, float]:
    """Return the profile-likelihood limits of tau^2.

    tau^2 where twice the drop of the (restricted) log-likelihood from its maximum equals the
    chi^2(1) quantile (0 when the drop at 0 is smaller).
    """
    from scipy import optimize  # here, not at import (scipy.optimize: 0.2 s)

    crit = float(special.chdtri(1, 1 - level)) / 2

    def drop(t: float) -> float:
        return float(best - log_likelihood(problem, np.array([t]), reml=reml)[0]) - crit

    best = float(log_likelihood(problem, np.array([tau2]), reml=reml)[0])
    lower = 0.0 if drop(0.0) <= 0 else optimize.brentq(drop, 0.0, tau2, xtol=1e-14, rtol=1e-13)
    upper_end = max(tau2, 1e-8) * 2
    while drop(upper_end) < 0:
        upper_end *= 2
    upper = optimize.brentq(drop, tau2, upper_end, xtol=1e-14, rtol=1e-13)
    return lower, upper


def tau2_confint(
    result: PooledResult, type: str | None = None, level: float | None = None
) -> HeterogeneityInterval:
    """Confidence interval for tau^2 (and tau, I^2, H^2) (metafor's ``confint``).

    Parameters
    ----------
    result : PooledResult
        A random-effects result.
    type : {"QP", "GENQ", "PL"}, optional
        Q-profile (any estimator), generalised Q (GENQ and GENQM fits; Jackson 2013) or profile
        likelihood (ML and REML). Default: the fit's own, GENQ for GENQ/GENQM fits, QP
        otherwise.
    level : float, optional
        Coverage (default: the result's).

    Returns
    -------
    HeterogeneityInterval
        tau^2, tau, I^2 (percent) and H^2, each with its interval.

    Raises
    ------
    ValueError
        For a fixed-effect model, PL with another estimator than ML or REML, or GENQ with
        another fit than GENQ or GENQM.

    References
    ----------
    Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
    meta-analysis. Stat Med 26:37-52. Jackson D, Turner R, Rhodes K, Viechtbauer W (2014).
    Methods for calculating confidence and credible intervals for the residual between-study
    variance in random effects meta-regression models. BMC Med Res Methodol 14:103.
    """
    if not result.is_random or result.tau2 is None:
        raise ValueError("a CI for tau^2 needs a random-effects model")
    level = result.level if level is None else level
    genq_fit = result.method in GENERALISED_Q_METHODS
    if type is None:
        type = "GENQ" if genq_fit else "QP"
    _, y, v = used_effects(result)
    problem = Problem.of(y, v)
    if type in ("QP", "GENQ"):
        if type == "GENQ" and not genq_fit:
            raise ValueError("the generalised Q interval (GENQ) needs a GENQ or GENQM fit")
        method = result.method if type == "GENQ" else "QP"
        lo_arr, hi_arr = tau2_interval(problem, method, level, estimator_weights(result))
        lo, hi = float(lo_arr[0]), float(hi_arr[0])
    elif type == "PL":
        if result.method not in ("ML", "REML"):
            raise ValueError("profile-likelihood CIs need an ML or REML model")
        lo, hi = _profile_limits(problem, result.tau2, result.method == "REML", level)
    else:
        raise ValueError("type must be QP, GENQ or PL")
    w = 1.0 / v
    s2 = (len(y) - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())

    def triple(fn: Any) -> tuple[float, float, float]:
        return (float(fn(result.tau2)), float(fn(lo)), float(fn(hi)))

    return HeterogeneityInterval(
        triple(float),
        triple(np.sqrt),
        triple(lambda t: 100 * t / (t + s2)),
        triple(lambda t: t / s2 + 1),
        type,
        level,
    )


@dataclass(frozen=True, repr=False)
class StudyPredictions(ResultMixin):
    """Per-study predictions (analysis scale).

    BLUPs of the true effects, or of the random effects, with standard errors and prediction
    intervals.
    """

    study: tuple[str, ...]
    pred: FloatArray
    se: FloatArray
    pi_low: FloatArray
    pi_high: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """One row per study."""
        return pd.DataFrame(
            {
                "study": self.study,
                "pred": self.pred,
                "se": self.se,
                "pi_low": self.pi_low,
                "pi_high": self.pi_high,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Column name -> list."""
        return {k: list(v) for k, v in self.to_frame().to_dict(orient="list").items()}

    #: What is predicted: "true effects" (:func:`blup`) or "random effects" (:func:`ranef`).
    kind: str = "true effects"

    def _title(self) -> str:
        return f"Predicted {self.kind} (BLUPs)"

    def _headline(self) -> str:
        return (
            f"k={len(self.study)}: {short(float(np.min(self.pred)))} to "
            f"{short(float(np.max(self.pred)))} (analysis scale)"
        )


def _shrinkage(result: PooledResult) -> tuple[list[str], FloatArray, FloatArray, FloatArray]:
    labels, y, v = used_effects(result)
    tau2 = result.tau2 or 0.0
    return labels, y, v, tau2 / (tau2 + v)


def _crit(result: PooledResult) -> float:
    if result.df is None:
        return normal_quantile(result.level)
    return float(t_quantile(result.level, result.df))


def blup(result: PooledResult) -> StudyPredictions:
    """Best linear unbiased predictions of the true study effects (metafor's ``blup``).

    ``mu + l (y - mu)`` with ``l = tau^2/(tau^2 + v)`` and variance ``l v + (1 - l)^2 var(mu)``.

    Parameters
    ----------
    result : PooledResult
        The fitted model.

    Returns
    -------
    StudyPredictions
        Prediction, standard error and prediction interval of each study (analysis scale).

    References
    ----------
    Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In: The Handbook of
    Research Synthesis and Meta-Analysis, 2nd ed., chapter 16.
    """
    labels, y, v, lam = _shrinkage(result)
    mu, se_mu = result.estimate_se()
    pred = mu + lam * (y - mu)
    se = np.sqrt(lam * v + (1 - lam) ** 2 * se_mu**2)
    c = _crit(result)
    return StudyPredictions(tuple(labels), pred, se, pred - c * se, pred + c * se)


def ranef(result: PooledResult) -> StudyPredictions:
    """Predicted random effects ``l (y - mu)`` with variance ``l v + l^2 var(mu)`` (``ranef``).

    Parameters
    ----------
    result : PooledResult
        The fitted model.

    Returns
    -------
    StudyPredictions
        Each study's deviation from the mean, with its standard error and interval.
    """
    labels, y, v, lam = _shrinkage(result)
    mu, se_mu = result.estimate_se()
    pred = lam * (y - mu)
    se = np.sqrt(lam * v + lam**2 * se_mu**2)
    c = _crit(result)
    return StudyPredictions(
        tuple(labels), pred, se, pred - c * se, pred + c * se, kind="random effects"
    )


@dataclass(frozen=True, repr=False)
class HenmiCopas(ResultMixin):
    """The Henmi-Copas interval.

    The fixed-effect estimate with a CI that allows for heterogeneity (DerSimonian-Laird tau^2) and
    is robust to publication bias.
    """

    title = "Henmi-Copas interval"

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    level: float

    def to_dict(self) -> dict[str, Any]:
        """estimate, se, ci_low, ci_high, tau2 (DL) and level."""
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "tau2": self.tau2,
            "level": self.level,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([self.to_dict()])

    def _headline(self) -> str:
        return (
            f"{short(self.estimate)} [{100 * self.level:g}% CI {short(self.ci_low)}, "
            f"{short(self.ci_high)}] (analysis scale; DL tau^2 = {short(self.tau2)})"
        )

    def _table(self) -> None:
        return None


def henmi_copas(result: PooledResult, level: float | None = None) -> HenmiCopas:
    """Return the Henmi-Copas confidence interval of the fixed-effect estimate.

    The interval's half-width ``u0 se`` solves ``P(|R| > u0) = 1 - level`` for ``R`` built from a
    standard normal and the gamma approximation of the distribution of Q given R (Henmi and
    Copas's equations for E(Q|R) and Var(Q|R)), with DerSimonian-Laird tau^2.

    Parameters
    ----------
    result : PooledResult
        The fitted model (its effect sizes are used).
    level : float, optional
        Coverage (default: the result's).

    Returns
    -------
    HenmiCopas
        The estimate, its standard error and interval, and tau^2.

    References
    ----------
    Henmi M, Copas JB (2010). Confidence intervals for random effects meta-analysis and
    robustness to publication bias. Stat Med 29:2969-2983.
    """
    from scipy import integrate, optimize, stats  # here, not at import (0.5 s)

    level = result.level if level is None else level
    _, y, v = used_effects(result)
    k = len(y)
    if k < 2:
        raise ValueError("the Henmi-Copas interval needs at least 2 studies")
    w = 1.0 / v
    w1 = w.sum()
    w2, w3, w4 = ((w**j).sum() / w1 for j in (2, 3, 4))
    beta = float((w * y).sum() / w1)
    q = float((w * (y - beta) ** 2).sum())
    tau2 = max(0.0, (q - (k - 1)) / (w1 - w2))
    se = float(np.sqrt((tau2 * w2 + 1) / w1))
    vr = 1 + tau2 * w2
    d3 = w3 - w2**2

    def moments(r: float) -> tuple[float, float]:
        shift = r * r / vr**2 - 1 / vr
        mean = (k - 1) + tau2 * (w1 - w2) + tau2**2 * shift * d3
        var = (
            2 * (k - 1)
            + 4 * tau2 * (w1 - w2)
            + 2 * tau2**2 * (w1 * w2 - 2 * w3 + w2**2)
            + 4 * tau2**2 * shift * d3
            + 4 * tau2**3 * shift * (w4 - 2 * w2 * w3 + w2**3)
            + 2 * tau2**4 * (1 / vr**2 - 2 * r * r / vr**3) * d3**2
        )
        return mean, var

    def tail(x: float) -> float:
        def integrand(r: float) -> float:
            mean, var = moments(np.sqrt(vr) * r)
            f = (w1 / w2 - 1) * ((r / x) ** 2 - 1) + (k - 1)
            return float(stats.gamma.cdf(f, a=mean**2 / var, scale=var / mean) * stats.norm.pdf(r))

        return float(integrate.quad(integrand, x, np.inf, epsabs=1e-13, epsrel=1e-12)[0])

    t0 = optimize.brentq(lambda x: tail(x) - (1 - level) / 2, 1e-12, 2.0, xtol=1e-14, rtol=1e-13)
    u0 = float(np.sqrt(vr) * t0)
    return HenmiCopas(beta, se, beta - u0 * se, beta + u0 * se, tau2, level)
