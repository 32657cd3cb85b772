"""Bayesian random-effects meta-analysis by the exact normal-normal model (``bayes_pool``).

``bayes_pool``: Bayesian random-effects meta-analysis by the exact normal-normal hierarchical model
(no MCMC), on the same effect sizes as :func:`metafuse.pool`.

References
----------
Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package. J Stat Softw
    93(6):1-51 (whose worked examples the tests reproduce).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from metafuse._version import __version__
from metafuse.bayes.nnhm import (
    Mixture,
    TauPosterior,
    mu_mixture,
    prediction_mixture,
    shrinkage_mixture,
    tau_posterior,
)
from metafuse.bayes.prior_bounds import checked_mid
from metafuse.bayes.priors import MuPrior, TauPrior
from metafuse.bayes.priors import mu_prior as make_mu_prior
from metafuse.bayes.priors import tau_prior as make_tau_prior
from metafuse.effects.scales import Scale
from metafuse.exceptions import DataError
from metafuse.measures import check_level
from metafuse.model import Model
from metafuse.result_protocol import ResultMixin, short
from metafuse.results import EffectSizes, PooledResult, clean

#: Log odds ratios: a half-normal prior with scale 0.5 on tau is the default there (Röver 2020,
#: J Stat Softw 93(6), section 3.3, p.20, proposed for log odds ratios: it puts 95% prior
#: probability on tau < 0.98). Other measures have no default: their prior must be given.
LOG_RATIO_DEFAULT_SCALE = 0.5
#: Largest log ratio whose ratio is a finite double (exp(709.78) is the largest).
MAX_LOG_RATIO = math.log(np.finfo(np.float64).max)


@dataclass(frozen=True)
class ShrunkenEstimate:
    """A study's effect after borrowing strength (posterior of theta_i), analysis scale."""

    study: str
    yi: float
    sei: float
    mean: float
    median: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        """Return ``study, yi, sei`` and the posterior ``mean, median, ci_low, ci_high``."""
        return {k: clean(getattr(self, k)) if k != "study" else self.study for k in _SHRINK_KEYS}


_SHRINK_KEYS = ("study", "yi", "sei", "mean", "median", "ci_low", "ci_high")


@dataclass(frozen=True, repr=False)
class BayesResult(ResultMixin):
    """A Bayesian random-effects meta-analysis (analysis scale; intervals equal-tailed)."""

    title = "Bayesian random-effects meta-analysis"

    measure: str
    k: int
    level: float
    mu_mean: float
    mu_median: float
    mu_sd: float
    mu_ci_low: float
    mu_ci_high: float
    tau_mean: float
    tau_median: float
    tau_ci_low: float
    tau_ci_high: float
    pred_mean: float
    pred_ci_low: float
    pred_ci_high: float
    p_mu_below_0: float
    mid: float | None
    p_mu_beyond_mid: float | None
    shrinkage: tuple[ShrunkenEstimate, ...]
    tau_prior: TauPrior
    mu_prior: MuPrior
    scale: Scale
    posterior: TauPosterior = field(repr=False, compare=False)
    options: Mapping[str, Any] = field(default_factory=dict)
    version: str = __version__
    #: Decision thresholds (analysis scale; e.g. log(1 - MID/ACR), log(1 + MID/ACR)).
    thresholds: tuple[float, float] | None = None
    #: Posterior probabilities that mu lies below the lower threshold, between, above the upper.
    p_thresholds: tuple[float, float, float] | None = None

    @property
    def prior(self) -> str:
        """The priors in words."""
        return f"{self.tau_prior.describe()}; {self.mu_prior.describe()}"

    @property
    def is_ratio(self) -> bool:
        """True for ratio measures (analysed as logs, shown as ratios)."""
        return self.scale.is_ratio

    def mu(self) -> Mixture:
        """Return the posterior of mu (a normal mixture: cdf, quantile, mean, sd)."""
        return mu_mixture(self.posterior)

    def probability(self, below: float | None = None, above: float | None = None) -> float:
        """Posterior probability that mu lies below or above a value (analysis scale).

        Parameters
        ----------
        below, above : float, optional
            Give exactly one: P(mu < below) or P(mu > above).

        Returns
        -------
        float
            The probability.
        """
        if (below is None) == (above is None):
            raise ValueError("give either below or above")
        if below is not None:
            return self.mu().cdf(below)
        return 1.0 - self.mu().cdf(float(above))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """Return the contract dictionary.

        ``mu_mean, mu_median, mu_ci_low, mu_ci_high, tau_median, tau_ci_low, tau_ci_high,
        pred_ci_low, pred_ci_high`` (analysis scale, equal-tailed at ``level``), ``p_mu_below_0``,
        ``p_mu_beyond_mid`` (``P(|mu| > mid)``, None without a MID), ``shrinkage`` (per study),
        ``prior`` (in words) and, for ratio measures, ``exp`` (mu and prediction on the ratio
        scale).
        """
        keys = (
            "measure", "k", "level", "mu_mean", "mu_median", "mu_sd", "mu_ci_low", "mu_ci_high",
            "tau_mean", "tau_median", "tau_ci_low", "tau_ci_high", "pred_mean", "pred_ci_low",
            "pred_ci_high", "p_mu_below_0", "mid", "p_mu_beyond_mid", "version",
        )  # fmt: skip
        out: dict[str, Any] = {
            k: getattr(self, k)
            if isinstance(getattr(self, k), str | int)
            else clean(getattr(self, k))
            for k in keys
        }
        out["shrinkage"] = [s.to_dict() for s in self.shrinkage]
        out["prior"] = self.prior
        if self.thresholds is not None and self.p_thresholds is not None:
            out["thresholds"] = {
                "low": clean(self.thresholds[0]),
                "high": clean(self.thresholds[1]),
                "p_below_low": clean(self.p_thresholds[0]),
                "p_between": clean(self.p_thresholds[1]),
                "p_above_high": clean(self.p_thresholds[2]),
            }
        if self.is_ratio:
            out["exp"] = {
                k: clean(math.exp(getattr(self, k)))
                for k in ("mu_median", "mu_ci_low", "mu_ci_high", "pred_ci_low", "pred_ci_high")
            }
        return out

    def summary(self) -> str:
        """Return a few lines for people: mu with its credible interval, tau, prediction, prior."""
        pct = f"{100 * self.level:g}%"
        show = (lambda x: math.exp(x)) if self.is_ratio else (lambda x: x)
        name = self.scale.label
        lines = [
            f"Bayesian random-effects meta-analysis (exact normal-normal model); k = {self.k}",
            f"{name}: median {show(self.mu_median):.4g} [{pct} CrI {show(self.mu_ci_low):.4g}, "
            f"{show(self.mu_ci_high):.4g}]",
            f"tau: median {self.tau_median:.4g} [{pct} CrI {self.tau_ci_low:.4g}, "
            f"{self.tau_ci_high:.4g}]",
            f"prediction: [{show(self.pred_ci_low):.4g}, {show(self.pred_ci_high):.4g}]",
            f"P(mu < 0) = {self.p_mu_below_0:.4g}"
            + (
                f"; P(|mu| > {self.mid:g}) = {self.p_mu_beyond_mid:.4g}"
                if self.mid is not None and self.p_mu_beyond_mid is not None
                else ""
            ),
            f"Prior: {self.prior}",
        ]
        return "\n".join(lines) + "\n"

    def to_frame(self) -> pd.DataFrame:
        """Return one row per study: ``study, yi, sei`` and its shrunken (posterior) estimate.

        Returns
        -------
        pandas.DataFrame
            ``study, yi, sei, mean, median, ci_low, ci_high`` (analysis scale).
        """
        return pd.DataFrame([s.to_dict() for s in self.shrinkage], columns=list(_SHRINK_KEYS))

    def _headline(self) -> str:
        show = math.exp if self.is_ratio else float
        pct = f"{100 * self.level:g}%"
        return (
            f"{self.measure} k={self.k}: mu {short(show(self.mu_median))} [{pct} CrI "
            f"{short(show(self.mu_ci_low))}, {short(show(self.mu_ci_high))}], "
            f"tau {short(self.tau_median)}"
        )

    def _summary_rows(self) -> list[tuple[str, str]]:
        show = math.exp if self.is_ratio else float
        pct = f"{100 * self.level:g}%"
        rows = [
            (
                f"{self.scale.label} (median)",
                f"{short(show(self.mu_median))} [{pct} CrI {short(show(self.mu_ci_low))}, "
                f"{short(show(self.mu_ci_high))}]",
            ),
            (
                "tau (median)",
                f"{short(self.tau_median)} [{pct} CrI {short(self.tau_ci_low)}, "
                f"{short(self.tau_ci_high)}]",
            ),
            ("Prediction", f"[{short(show(self.pred_ci_low))}, {short(show(self.pred_ci_high))}]"),
            ("P(mu < 0)", f"{self.p_mu_below_0:.4g}"),
        ]
        if self.mid is not None and self.p_mu_beyond_mid is not None:
            rows.append((f"P(|mu| > {self.mid:g})", f"{self.p_mu_beyond_mid:.4g}"))
        return [*rows, ("Prior", self.prior)]


def _effects(data: pd.DataFrame | EffectSizes | PooledResult, model: Model) -> EffectSizes:
    if isinstance(data, PooledResult):
        if data.effects is None:
            raise ValueError("this result does not carry its effect sizes")
        return data.effects
    if isinstance(data, EffectSizes):
        return data
    from metafuse.pooling import compute_effects

    return compute_effects(data, model)


def default_tau_prior(measure: str, scale: Scale) -> TauPrior:
    """Half-normal(0.5) for log odds ratios (Röver 2020); any other measure states its prior.

    The default is proposed for log odds ratios; a log risk ratio's heterogeneity is not that of
    a log odds ratio, and a prior stated for one scale is not applied to another (as in a review's
    analyses, :meth:`metafuse.review.vocabulary.Outcome.bayes_prior`).
    """
    if measure in ("OR", "PETO"):
        return make_tau_prior("half-normal", LOG_RATIO_DEFAULT_SCALE)
    units = "on the log scale" if scale.is_ratio else "in the outcome's units"
    raise ValueError(
        f"give a heterogeneity prior for {measure} {units} (e.g. tau_prior='half-normal', "
        "tau_scale=..., with its source): the default half-normal(0.5) is proposed for log odds "
        "ratios only (Röver 2020, J Stat Softw 93(6), p.20)"
    )


def bayes_pool(
    data: pd.DataFrame | EffectSizes | PooledResult,
    measure: str | Model | None = None,
    tau_prior: str | TauPrior | None = None,
    tau_scale: float | None = None,
    mu_prior: str | MuPrior = "flat",
    *,
    mu_mean: float = 0.0,
    mu_sd: float | None = None,
    tau_df: float | None = None,
    log_tau2_mean: float | None = None,
    log_tau2_sd: float | None = None,
    prior_outcome: str | None = None,
    prior_comparison: str | None = None,
    mid: float | None = None,
    level: float | None = None,
    convention: str | None = None,
    thresholds: tuple[float, float] | None = None,
    model: Model | None = None,
) -> BayesResult:
    """Bayesian random-effects meta-analysis by the exact normal-normal hierarchical model.

    Parameters
    ----------
    data, measure
        Study rows and their measure (as for :func:`metafuse.pool`; ``measure`` may be a
        :class:`~metafuse.model.Model`, whose convention and zero-cell options make the effect
        sizes), effect sizes, or a pooled result (its effect sizes are used).
    tau_prior
        Prior on tau: a :class:`~metafuse.bayes.priors.TauPrior` (:func:`half_normal`,
        :func:`half_cauchy`, :func:`half_t`, :func:`log_normal`, :func:`turner_prior`,
        :func:`rhodes_prior`). Default: half-normal(0.5) for log odds ratios (OR, PETO);
        every other measure must state its prior.
    tau_scale, tau_df, log_tau2_mean, log_tau2_sd, prior_outcome, prior_comparison
        Shorthand for the prior by name (``tau_prior`` a string, as :func:`tau_prior` takes it):
        ``half-normal``, ``half-cauchy``, ``half-t`` (``tau_scale``, ``tau_df``), ``log-normal``
        (for log tau^2: ``log_tau2_mean``, ``log_tau2_sd``), ``turner`` (Turner et al. 2015, log
        odds ratios) or ``rhodes`` (Rhodes et al. 2015, SMD), the last two for the setting
        ``prior_outcome`` / ``prior_comparison`` (general setting when omitted).
    mu_prior, mu_mean, mu_sd
        Prior on mu: a :class:`~metafuse.bayes.priors.MuPrior`, or by name ``flat`` (default)
        or ``normal`` with ``mu_mean`` and ``mu_sd`` (analysis scale).
    mid
        A minimal important difference (> 0, analysis scale): the result gives ``P(|mu| > mid)``.
    thresholds
        ``(low, high)`` on the analysis scale, ``low < high`` (e.g. -MID and +MID, or the log
        risk ratios of -/+ an absolute MID at the assumed comparator risk): the result gives
        the probabilities that mu lies below ``low``, between, and above ``high``.
    level
        Coverage of the equal-tailed credible intervals (default: the model's, 0.95).
    convention
        The convention of the effect sizes when ``data`` are study rows (as for
        :func:`metafuse.pool`).
    model
        The model whose effect-size options (convention, zero cells) and level apply, if not
        given as ``measure``.

    Returns
    -------
    BayesResult
        Posterior summaries of mu, tau and the prediction, shrunken study estimates, and the
        priors in words.

    References
    ----------
    Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package. J Stat
    Softw 93(6).
    """
    from metafuse.pooling import model_of

    spec = model_of(measure, model, convention=convention)
    effects = _effects(data, spec)
    level = check_level(spec.level if level is None else level)
    ok = effects.estimable
    if not ok.any():
        raise DataError(f"no study is estimable for {effects.measure}")
    y, v = effects.yi[ok], effects.vi[ok]
    labels = [lab for lab, good in zip(effects.labels, ok, strict=True) if good]
    if tau_prior is None and tau_scale is None:
        prior_tau = default_tau_prior(effects.measure, effects.scale)
    else:
        prior_tau = make_tau_prior(
            tau_prior or "half-normal",
            tau_scale,
            df=tau_df,
            log_tau2_mean=log_tau2_mean,
            log_tau2_sd=log_tau2_sd,
            outcome=prior_outcome,
            comparison=prior_comparison,
        )
    prior_mu = make_mu_prior(mu_prior, mu_mean, mu_sd)
    mid = checked_mid(mid)
    if thresholds is not None:
        lo_t, hi_t = (float(t) for t in thresholds)
        if not (lo_t < hi_t) or math.isnan(lo_t) or math.isnan(hi_t):
            raise ValueError(f"thresholds must be (low, high) with low < high, got {thresholds!r}")
    post = tau_posterior(y, v, prior_tau, prior_mu)
    result = _summarise(effects, labels, y, v, post, prior_tau, prior_mu, level, mid)
    shown = (result.mu_ci_low, result.mu_ci_high, result.pred_ci_low, result.pred_ci_high)
    if result.is_ratio and not all(abs(x) < MAX_LOG_RATIO for x in shown):
        raise DataError(
            "the posterior lies beyond what a ratio can show (exp of the interval limits "
            f"{min(shown):.3g} to {max(shown):.3g} overflows): check the priors against the data"
        )
    if thresholds is None:
        return result
    mu = mu_mixture(post)
    below = mu.cdf(lo_t) if math.isfinite(lo_t) else 0.0
    above = 1.0 - mu.cdf(hi_t) if math.isfinite(hi_t) else 0.0
    return replace(
        result,
        thresholds=(lo_t, hi_t),
        p_thresholds=(below, max(0.0, 1.0 - below - above), above),
    )


def _summarise(
    effects: EffectSizes,
    labels: list[str],
    y: np.ndarray,
    v: np.ndarray,
    post: TauPosterior,
    prior_tau: TauPrior,
    prior_mu: MuPrior,
    level: float,
    mid: float | None,
) -> BayesResult:
    lo_p, hi_p = (1 - level) / 2, (1 + level) / 2
    mu, pred = mu_mixture(post), prediction_mixture(post)
    shrunk = []
    for label, yi, vi in zip(labels, y, v, strict=True):
        m = shrinkage_mixture(post, float(yi), float(vi))
        shrunk.append(
            ShrunkenEstimate(label, float(yi), math.sqrt(vi), m.mean(), m.quantile(0.5),
                             m.quantile(lo_p), m.quantile(hi_p))
        )  # fmt: skip
    beyond = None if mid is None else mu.cdf(-mid) + 1.0 - mu.cdf(mid)
    return BayesResult(
        measure=effects.measure,
        k=len(y),
        level=level,
        mu_mean=mu.mean(),
        mu_median=mu.quantile(0.5),
        mu_sd=mu.sd(),
        mu_ci_low=mu.quantile(lo_p),
        mu_ci_high=mu.quantile(hi_p),
        tau_mean=post.mean(),
        tau_median=post.quantile(0.5),
        tau_ci_low=post.quantile(lo_p),
        tau_ci_high=post.quantile(hi_p),
        pred_mean=pred.mean(),
        pred_ci_low=pred.quantile(lo_p),
        pred_ci_high=pred.quantile(hi_p),
        p_mu_below_0=mu.cdf(0.0),
        mid=mid,
        p_mu_beyond_mid=beyond,
        shrinkage=tuple(shrunk),
        tau_prior=prior_tau,
        mu_prior=prior_mu,
        scale=effects.scale,
        posterior=post,
        options=MappingProxyType({"level": level}),
    )
