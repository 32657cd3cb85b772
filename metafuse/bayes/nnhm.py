"""The exact posterior of the normal-normal hierarchical model, without MCMC.

Model: ``y_i ~ N(theta_i, s_i^2)``, ``theta_i ~ N(mu, tau^2)``, priors on tau and mu. Given tau,
mu is integrated analytically (flat or normal prior: a conjugate normal update), so the marginal
posterior of tau is one-dimensional and computed by quadrature; the posteriors of mu, of a new
study's effect (prediction) and of each study's effect (shrinkage) are then mixtures of normals
over that tau posterior, summarised exactly (quantiles by root finding on the mixture CDF).

Quadrature: tau = S u / (1 - u) maps u in (0, 1) onto tau in (0, inf); composite Gauss-Legendre
on u with :data:`PANELS` x :data:`NODES` points. ``S`` is first the prior median, then the
posterior median of a first pass, which puts half the posterior mass on each half of (0, 1) so
that peaked posteriors (many precise studies) and heavy tails (half-Cauchy, k = 1) are resolved
alike.

References
----------
Röver C (2020). J Stat Softw 93(6):1-51, section 2 (the model; mu integrated out analytically;
    conditional moments of mu, prediction and shrinkage given tau).
Gelman A, Carlin JB, Stern HS, Dunson DB, Vehtari A, Rubin DB (2013). Bayesian Data Analysis, 3rd
    ed., section 5.4 (the marginal posterior of tau in the hierarchical normal model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import special

from metafuse._arrays import FloatArray
from metafuse.bayes.priors import MuPrior, TauPrior

PANELS: Final = 96
NODES: Final = 24


@dataclass(frozen=True)
class Mixture:
    """A mixture of normals: weights (sum 1), means and SDs."""

    weights: FloatArray
    means: FloatArray
    sds: FloatArray

    def mean(self) -> float:
        """Return the mean of the mixture."""
        return float(np.sum(self.weights * self.means))

    def sd(self) -> float:
        """Return the standard deviation of the mixture."""
        second = np.sum(self.weights * (self.sds**2 + self.means**2))
        return float(math.sqrt(max(second - self.mean() ** 2, 0.0)))

    def cdf(self, x: float) -> float:
        """Return the mixture's distribution function at ``x``."""
        return float(np.sum(self.weights * special.ndtr((x - self.means) / self.sds)))

    def quantile(self, p: float) -> float:
        """Return the ``p`` quantile (root of the mixture CDF, bracketed by the components)."""
        if not 0 < p < 1:
            raise ValueError("p must be in (0, 1)")
        z = float(special.ndtri(p))
        lo = float(np.min(self.means + z * self.sds)) - 1e-9
        hi = float(np.max(self.means + z * self.sds)) + 1e-9
        live = self.weights > 0
        lo = min(lo, float(np.min(self.means[live] - 40 * self.sds[live])))
        hi = max(hi, float(np.max(self.means[live] + 40 * self.sds[live])))
        from scipy import optimize  # here, not at import (0.2 s)

        return float(optimize.brentq(lambda x: self.cdf(x) - p, lo, hi, xtol=1e-12, rtol=1e-12))


@dataclass(frozen=True)
class TauPosterior:
    """The marginal posterior of tau.

    Quadrature nodes ``tau`` with normalised ``weights`` (sum 1) and, at each node, the conditional
    posterior mean and SD of mu given tau; plus what is needed to integrate its density over any
    range (:meth:`cdf`).
    """

    tau: FloatArray
    weights: FloatArray
    mu_mean: FloatArray
    mu_sd: FloatArray
    y: FloatArray
    v: FloatArray
    tau_prior: TauPrior
    mu_prior: MuPrior
    scale: float
    log_norm: float

    def log_density(self, t: FloatArray) -> FloatArray:
        """Log of the normalised posterior density of tau at ``t``."""
        t = np.asarray(t, dtype=np.float64)
        _, _, log_lik = conditional_mu(self.y, self.v, t, self.mu_prior)
        return log_lik + self.tau_prior.log_density(t) - self.log_norm

    def cdf(self, t: float) -> float:
        """P(tau <= t), by Gauss-Legendre quadrature of the density over (0, t)."""
        if t <= 0:
            return 0.0
        top = t / (self.scale + t)
        tau, wq = _nodes(self.scale, top)
        return float(min(1.0, np.sum(wq * np.exp(self.log_density(tau)))))

    def quantile(self, p: float) -> float:
        """Return the ``p`` quantile of tau (root of :meth:`cdf`)."""
        if not 0 < p < 1:
            raise ValueError("p must be in (0, 1)")
        cum = np.cumsum(self.weights)
        i = int(np.searchsorted(cum, p))
        lo = float(self.tau[max(i - 2, 0)]) if i >= 2 else 0.0
        hi = float(self.tau[min(i + 1, len(self.tau) - 1)])
        if self.cdf(lo) > p:
            lo = 0.0
        while self.cdf(hi) < p:
            hi *= 2
        from scipy import optimize

        return float(optimize.brentq(lambda x: self.cdf(x) - p, lo, hi, xtol=1e-13, rtol=1e-12))

    def mean(self) -> float:
        """Return the posterior mean of tau."""
        return float(np.sum(self.weights * self.tau))

    def sd(self) -> float:
        """Return the posterior standard deviation of tau."""
        return float(math.sqrt(max(np.sum(self.weights * self.tau**2) - self.mean() ** 2, 0.0)))


def _nodes(scale: float, top: float = 1.0) -> tuple[FloatArray, FloatArray]:
    """Tau nodes and quadrature weights (with the Jacobian) on u in (0, top), tau = S u/(1-u)."""
    x, w = np.polynomial.legendre.leggauss(NODES)
    edges = np.linspace(0.0, top, PANELS + 1)
    half = np.diff(edges) / 2
    mid = (edges[:-1] + edges[1:]) / 2
    u = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    wu = (half[:, None] * w[None, :]).ravel()
    tau = scale * u / (1 - u)
    return tau, wu * scale / (1 - u) ** 2


def conditional_mu(
    y: FloatArray, v: FloatArray, tau: FloatArray, prior: MuPrior
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Compute, for each tau, the conditional posterior of mu and the marginal likelihood.

    Given each tau: the conditional posterior mean and SD of mu, and the log marginal likelihood log
    p(y | tau) (up to a constant for a flat mu prior).
    """
    w = 1.0 / (v[None, :] + tau[:, None] ** 2)
    precision = w.sum(axis=1)
    weighted = (w * y[None, :]).sum(axis=1)
    quad = (w * y[None, :] ** 2).sum(axis=1)
    log_det = np.log(w).sum(axis=1)
    if prior.sd is not None:
        p0, m0 = 1.0 / prior.sd**2, float(prior.mean or 0.0)
        precision = precision + p0
        weighted = weighted + p0 * m0
        quad = quad + p0 * m0**2
        log_det = log_det + math.log(p0)
    mean = weighted / precision
    log_lik = 0.5 * log_det - 0.5 * np.log(precision) - 0.5 * (quad - precision * mean**2)
    return mean, 1.0 / np.sqrt(precision), log_lik


def _pass(
    y: FloatArray, v: FloatArray, tau_prior: TauPrior, mu_prior: MuPrior, scale: float
) -> TauPosterior:
    tau, wq = _nodes(scale)
    mean, sd, log_lik = conditional_mu(y, v, tau, mu_prior)
    log_post = log_lik + tau_prior.log_density(tau)
    log_w = np.where(np.isfinite(log_post) & (wq > 0), log_post + np.log(wq), -np.inf)
    top = float(np.max(log_w))
    if not np.isfinite(top):
        raise ValueError("the posterior of tau could not be evaluated (check the data and prior)")
    weights = np.exp(log_w - top)
    total = float(weights.sum())
    weights /= total
    return TauPosterior(
        tau, weights, mean, sd, y, v, tau_prior, mu_prior, scale, top + math.log(total)
    )


def tau_posterior(
    y: FloatArray, v: FloatArray, tau_prior: TauPrior, mu_prior: MuPrior
) -> TauPosterior:
    """Return the marginal posterior of tau, in two passes (see the module docstring)."""
    y, v = np.asarray(y, dtype=np.float64), np.asarray(v, dtype=np.float64)
    first = _pass(y, v, tau_prior, mu_prior, max(tau_prior.quantile(0.5), 1e-12))
    cum = np.cumsum(first.weights)
    median = float(first.tau[min(int(np.searchsorted(cum, 0.5)), len(cum) - 1)])
    scale = median if median > 0 else max(first.mean(), 1e-12)
    return _pass(y, v, tau_prior, mu_prior, scale)


def mu_mixture(post: TauPosterior) -> Mixture:
    """Posterior of mu: N(conditional mean, conditional SD) mixed over tau."""
    return Mixture(post.weights, post.mu_mean, post.mu_sd)


def prediction_mixture(post: TauPosterior) -> Mixture:
    """Posterior predictive of a new study's effect: N(mean, sd^2 + tau^2) mixed over tau."""
    return Mixture(post.weights, post.mu_mean, np.sqrt(post.mu_sd**2 + post.tau**2))


def shrinkage_mixture(post: TauPosterior, y_i: float, v_i: float) -> Mixture:
    """Posterior of study i's effect theta_i.

    Given tau, theta_i | mu ~ N((y tau^2 + mu v) / (tau^2 + v), tau^2 v / (tau^2 + v)); mu
    integrated over its conditional posterior.
    """
    t2 = post.tau**2
    b = v_i / (t2 + v_i)
    mean = (1 - b) * y_i + b * post.mu_mean
    var = t2 * b + (b * post.mu_sd) ** 2
    return Mixture(post.weights, mean, np.sqrt(var))
