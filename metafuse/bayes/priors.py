"""Prior distributions for the Bayesian normal-normal hierarchical model.

On the heterogeneity tau (half-normal, half-Cauchy, half-t, log-normal, and the empirical priors of
Turner et al. 2015 and Rhodes et al. 2015) and on the overall effect mu (flat or normal).

Every prior can state itself in words (for SoF footnotes and reports).

References
----------
Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package. J Stat Softw
    93(6):1-51 (half-normal, half-Cauchy priors on tau; section 2.2).
Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015). Predictive distributions for
    between-study heterogeneity and simple methods for their application in Bayesian
    meta-analysis. Stat Med 34:984-998 (Table IV: log tau^2 ~ N(m, s^2) on the log-OR scale).
Rhodes KM, Turner RM, Higgins JPT (2015). Predictive distributions were developed for the extent
    of heterogeneity in meta-analyses of continuous outcome data. J Clin Epidemiol 68:52-60
    (Table 3: log tau^2 ~ m + s t(5) on the SMD scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from metafuse._arrays import FloatArray
from metafuse.bayes.prior_bounds import (
    LOG_TAU2_MEAN_RANGE,
    MAX_LOCATION,
    MAX_LOG_TAU2_SD,
    MIN_DF,
    number_within,
    positive_number,
    prior_scale,
)
from metafuse.bayes.prior_tables import (
    RHODES_2015,
    RHODES_2015_GENERAL,
    RHODES_COMPARISONS,
    RHODES_DF,
    TURNER_2015,
    TURNER_2015_GENERAL,
    TURNER_COMPARISONS,
)
from metafuse.model import TAU_PRIORS as MODEL_TAU_PRIORS

if TYPE_CHECKING:  # scipy.stats is imported where a prior is evaluated (0.3 s at import)
    from scipy import stats

#: The priors on tau by name (:data:`metafuse.model.TAU_PRIORS`).
TAU_PRIORS: Final = MODEL_TAU_PRIORS


@dataclass(frozen=True)
class TauPrior:
    """A proper prior on the heterogeneity tau (>= 0).

    ``kind`` is one of half-normal, half-cauchy, half-t (``scale``, ``df``) or log-normal
    (``log_mean``, ``log_sd`` of log tau; ``df`` set for a log-t prior); ``source`` names where an
    empirical prior comes from.
    """

    kind: str
    scale: float = math.nan
    df: float = math.nan
    log_mean: float = math.nan
    log_sd: float = math.nan
    source: str = ""

    def _dist(self) -> stats.rv_continuous:
        from scipy import stats

        if self.kind == "half-normal":
            return stats.halfnorm(scale=self.scale)
        if self.kind == "half-cauchy":
            return stats.halfcauchy(scale=self.scale)
        if self.kind == "half-t":
            return _HalfT(self.df, self.scale)
        if self.kind == "log-normal":
            return stats.lognorm(s=self.log_sd, scale=math.exp(self.log_mean))
        if self.kind == "log-t":
            return _LogT(self.df, self.log_mean, self.log_sd)
        raise ValueError(f"unknown tau prior {self.kind!r}")

    def log_density(self, tau: FloatArray) -> FloatArray:
        """Return the log of the prior density.

        Parameters
        ----------
        tau : numpy.ndarray
            Values of tau (> 0).

        Returns
        -------
        numpy.ndarray
            log density at each value.
        """
        with np.errstate(divide="ignore"):
            return np.asarray(self._dist().logpdf(tau), dtype=np.float64)

    def quantile(self, p: float) -> float:
        """Return a prior quantile of tau.

        Parameters
        ----------
        p : float
            The probability.

        Returns
        -------
        float
            The quantile.
        """
        return float(self._dist().ppf(p))

    def describe(self) -> str:
        """Return the prior in words, with its median and 95% upper limit of tau."""
        q50, q95 = self.quantile(0.5), self.quantile(0.95)
        where = f" ({self.source})" if self.source else ""
        shape = {
            "half-normal": f"half-normal prior on tau with scale {self.scale:g}",
            "half-cauchy": f"half-Cauchy prior on tau with scale {self.scale:g}",
            "half-t": f"half-t prior on tau with scale {self.scale:g} and {self.df:g} df",
            "log-normal": (
                f"log-normal prior on tau^2, log tau^2 ~ N({2 * self.log_mean:.2f}, "
                f"{2 * self.log_sd:.2f}^2)"
            ),
            "log-t": (
                f"log-t prior on tau^2, log tau^2 ~ {2 * self.log_mean:.2f} + "
                f"{2 * self.log_sd:.2f} t({self.df:g})"
            ),
        }[self.kind]
        return f"{shape}{where}: prior median tau {q50:.3g}, 95% prior probability tau < {q95:.3g}"


class _HalfT:
    """|T| scale for T ~ t(df)."""

    def __init__(self, df: float, scale: float) -> None:
        from scipy import stats

        self.t, self.scale = stats.t(df), scale

    def logpdf(self, x: FloatArray) -> FloatArray:
        x = np.asarray(x, dtype=np.float64)
        out = math.log(2.0 / self.scale) + self.t.logpdf(x / self.scale)
        return np.where(x >= 0, out, -np.inf)

    def ppf(self, p: float) -> float:
        return float(self.scale * self.t.ppf(0.5 + p / 2))


class _LogT:
    """exp(m + s T) for T ~ t(df): a log-t distribution on tau."""

    def __init__(self, df: float, m: float, s: float) -> None:
        from scipy import stats

        self.t, self.m, self.s = stats.t(df), m, s

    def logpdf(self, x: FloatArray) -> FloatArray:
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = np.log(x)
            out = self.t.logpdf((lx - self.m) / self.s) - math.log(self.s) - lx
        return np.where(x > 0, out, -np.inf)

    def ppf(self, p: float) -> float:
        return float(math.exp(self.m + self.s * self.t.ppf(p)))


def half_normal(scale: float) -> TauPrior:
    """Half-normal prior on tau.

    Parameters
    ----------
    scale : float
        The SD of the underlying normal (> 0).

    Returns
    -------
    TauPrior
        The prior.
    """
    return TauPrior("half-normal", scale=prior_scale("tau_scale", scale))


def half_cauchy(scale: float) -> TauPrior:
    """Half-Cauchy prior on tau.

    Parameters
    ----------
    scale : float
        The scale (> 0).

    Returns
    -------
    TauPrior
        The prior.
    """
    return TauPrior("half-cauchy", scale=prior_scale("tau_scale", scale))


def half_t(scale: float, df: float) -> TauPrior:
    """Half-t prior on tau.

    Parameters
    ----------
    scale : float
        The scale (> 0).
    df : float
        Degrees of freedom (at least :data:`~metafuse.bayes.prior_bounds.MIN_DF`).

    Returns
    -------
    TauPrior
        The prior.
    """
    df = number_within("tau_df", positive_number("tau_df", df), MIN_DF, math.inf)
    return TauPrior("half-t", scale=prior_scale("tau_scale", scale), df=df)


def log_normal(log_tau2_mean: float, log_tau2_sd: float, source: str = "") -> TauPrior:
    """Log-normal prior given, as the empirical priors are, for log tau^2 ~ N(mean, sd^2).

    Parameters
    ----------
    log_tau2_mean, log_tau2_sd : float
        Mean and SD of log tau^2.
    source : str, optional
        Where the prior comes from (shown in its description).

    Returns
    -------
    TauPrior
        The prior.
    """
    mean = number_within("log_tau2_mean", log_tau2_mean, *LOG_TAU2_MEAN_RANGE)
    sd = number_within(
        "log_tau2_sd", positive_number("log_tau2_sd", log_tau2_sd), 0.0, MAX_LOG_TAU2_SD
    )
    return TauPrior("log-normal", log_mean=mean / 2, log_sd=sd / 2, source=source)


def turner_prior(outcome: str | None = None, comparison: str | None = None) -> TauPrior:
    """Turner et al. (2015) log-normal prior on tau^2 for log odds ratios.

    Parameters
    ----------
    outcome : str, optional
        The outcome type, a key of :data:`TURNER_2015`.
    comparison : str, optional
        The comparison type, one of :data:`TURNER_COMPARISONS`; with ``outcome`` None too, the
        general healthcare setting.

    Returns
    -------
    TauPrior
        The prior of that cell.

    References
    ----------
    Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015). Predictive distributions for
    between-study heterogeneity and simple methods for their application in Bayesian
    meta-analysis. Stat Med 34:984-998.
    """
    if outcome is None and comparison is None:
        m, s = TURNER_2015_GENERAL
        return log_normal(m, s, "Turner et al. 2015, general healthcare setting")
    if outcome not in TURNER_2015:
        raise ValueError(
            f"unknown Turner 2015 outcome type {outcome!r}; use one of {list(TURNER_2015)}"
        )
    if comparison not in TURNER_COMPARISONS:
        raise ValueError(
            f"unknown Turner 2015 comparison {comparison!r}; use one of {list(TURNER_COMPARISONS)}"
        )
    m, s = TURNER_2015[outcome][TURNER_COMPARISONS.index(comparison)]
    return log_normal(m, s, f"Turner et al. 2015 Table IV, {outcome}, {comparison}")


def rhodes_prior(outcome: str | None = None, comparison: str | None = None) -> TauPrior:
    """Rhodes et al. (2015) log-t(5) prior on tau^2 for standardised mean differences.

    Parameters
    ----------
    outcome : str, optional
        The outcome type, a key of :data:`RHODES_2015`.
    comparison : str, optional
        The comparison type, one of :data:`RHODES_COMPARISONS`; with ``outcome`` None too, the
        general setting.

    Returns
    -------
    TauPrior
        The prior of that cell.

    References
    ----------
    Rhodes KM, Turner RM, Higgins JPT (2015). Predictive distributions were developed for the
    extent of heterogeneity in meta-analyses of continuous outcome data. J Clin Epidemiol
    68:52-60.
    """
    if outcome is None and comparison is None:
        m, s = RHODES_2015_GENERAL
        where = "Rhodes et al. 2015, general setting"
    else:
        if outcome not in RHODES_2015:
            raise ValueError(
                f"unknown Rhodes 2015 outcome type {outcome!r}; use one of {list(RHODES_2015)}"
            )
        if comparison not in RHODES_COMPARISONS:
            raise ValueError(
                f"unknown Rhodes 2015 comparison {comparison!r}; "
                f"use one of {list(RHODES_COMPARISONS)}"
            )
        cell = RHODES_2015[outcome][RHODES_COMPARISONS.index(comparison)]
        if cell is None:
            raise ValueError(
                f"the Rhodes 2015 cell {outcome!r} / {comparison!r} is not verified against the "
                "paper (it breaks the table's additive pattern); give the prior explicitly"
            )
        m, s = cell
        where = f"Rhodes et al. 2015 Table 3, {outcome}, {comparison}"
    return TauPrior("log-t", df=RHODES_DF, log_mean=m / 2, log_sd=s / 2, source=where)


@dataclass(frozen=True)
class MuPrior:
    """Prior on the overall effect mu: flat (improper uniform; the default) or normal."""

    mean: float | None = None
    sd: float | None = None

    @property
    def flat(self) -> bool:
        """True for the flat (improper uniform) prior."""
        return self.sd is None

    def describe(self) -> str:
        """Return the prior in words."""
        if self.flat:
            return "flat (uniform) prior on mu"
        return f"normal prior on mu with mean {self.mean:g} and SD {self.sd:g}"


def mu_prior(kind: str | MuPrior = "flat", mean: float = 0.0, sd: float | None = None) -> MuPrior:
    """Prior on the overall effect mu.

    Parameters
    ----------
    kind : {"flat", "normal"} or MuPrior, optional
        Flat (improper uniform) or normal; a :class:`MuPrior` is returned as it is (it carries
        its mean and SD: ``mean`` and ``sd`` must be left out).
    mean, sd : float, optional
        Mean and SD of a normal prior (analysis scale).

    Returns
    -------
    MuPrior
        The prior.
    """
    if isinstance(kind, MuPrior):
        if sd is not None or mean != 0.0:
            raise ValueError("a MuPrior carries its mean and SD; give mu_mean and mu_sd by name")
        return kind
    if kind == "flat":
        return MuPrior()
    if kind == "normal":
        if sd is None:
            raise ValueError("a normal prior on mu needs mu_sd")
        mean = number_within("mu_mean", mean, -MAX_LOCATION, MAX_LOCATION)
        return MuPrior(mean, prior_scale("mu_sd", sd))
    raise ValueError(f"mu_prior must be flat or normal, got {kind!r}")


def tau_prior(
    kind: str | TauPrior,
    scale: float | None = None,
    *,
    df: float | None = None,
    log_tau2_mean: float | None = None,
    log_tau2_sd: float | None = None,
    outcome: str | None = None,
    comparison: str | None = None,
) -> TauPrior:
    """Return a prior on tau by name, with its parameters.

    A prior on tau by name (:data:`TAU_PRIORS`) with its parameters, or ``kind`` itself.

    Parameters
    ----------
    kind : str or TauPrior
        ``half-normal``, ``half-cauchy``, ``half-t``, ``log-normal``, ``turner`` or ``rhodes``;
        a :class:`TauPrior` is returned as it is (it carries its parameters: the others must be
        left out).
    scale : float, optional
        Scale of the half-normal, half-Cauchy and half-t priors.
    df : float, optional
        Degrees of freedom of the half-t prior.
    log_tau2_mean, log_tau2_sd : float, optional
        Mean and SD of log tau^2 (log-normal).
    outcome, comparison : str, optional
        The setting of the Turner and Rhodes priors (see :func:`turner_prior`).

    Returns
    -------
    TauPrior
        The prior.
    """
    if isinstance(kind, TauPrior):
        given = (scale, df, log_tau2_mean, log_tau2_sd, outcome, comparison)
        if any(value is not None for value in given):
            raise ValueError(
                "a TauPrior carries its parameters; give tau_scale, tau_df, ... with a prior "
                "by name"
            )
        return kind
    name = str(kind).lower().replace("_", "-")
    if name in ("half-normal", "half-cauchy", "half-t") and scale is None:
        raise ValueError(f"a {name} prior needs tau_scale (in the units of the analysis scale)")
    if name == "half-normal":
        return half_normal(float(scale))  # type: ignore[arg-type]
    if name == "half-cauchy":
        return half_cauchy(float(scale))  # type: ignore[arg-type]
    if name == "half-t":
        if df is None:
            raise ValueError("a half-t prior needs tau_df")
        return half_t(float(scale), df)  # type: ignore[arg-type]
    if name == "log-normal":
        if log_tau2_mean is None or log_tau2_sd is None:
            raise ValueError("a log-normal prior needs log_tau2_mean and log_tau2_sd")
        return log_normal(log_tau2_mean, log_tau2_sd)
    if name == "turner":
        return turner_prior(outcome, comparison)
    if name == "rhodes":
        return rhodes_prior(outcome, comparison)
    raise ValueError(f"unknown tau prior {kind!r}; use one of {', '.join(TAU_PRIORS)}")
