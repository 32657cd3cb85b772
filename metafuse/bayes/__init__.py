"""Bayesian random-effects meta-analysis.

The exact normal-normal hierarchical model with priors on the heterogeneity (half-normal,
half-Cauchy, half-t, log-normal, Turner 2015, Rhodes 2015) and on the overall effect (flat or
normal).
"""

from metafuse.bayes.pooling import BayesResult, ShrunkenEstimate, bayes_pool
from metafuse.bayes.priors import (
    MuPrior,
    TauPrior,
    half_cauchy,
    half_normal,
    half_t,
    log_normal,
    mu_prior,
    rhodes_prior,
    tau_prior,
    turner_prior,
)

__all__ = [
    "BayesResult",
    "MuPrior",
    "ShrunkenEstimate",
    "TauPrior",
    "bayes_pool",
    "half_cauchy",
    "half_normal",
    "half_t",
    "log_normal",
    "mu_prior",
    "rhodes_prior",
    "tau_prior",
    "turner_prior",
]
