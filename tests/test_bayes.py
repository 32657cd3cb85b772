"""Bayesian random-effects meta-analysis (exact normal-normal hierarchical model).

Pinned to published numbers: the worked examples of Röver (2020), J Stat Softw 93(6):1-51
(Crins et al. 2014 immunosuppression data, pp.20-33) and of the bayesmeta vignette (eight
schools, Rubin 1981), and checked against an independent brute-force integration written here
for k = 1-13 and every prior family.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from metafuse import bayes_pool, compute_effects
from metafuse.bayes import rhodes_prior, tau_prior, turner_prior
from metafuse.bayes.nnhm import conditional_mu
from metafuse.bayes.priors import MuPrior
from tests.conftest import ROOT
from tests.tolerances import (
    BAYESMETA_MU,
    BAYESMETA_TAIL,
    BAYESMETA_TAU,
    BRUTE_FORCE_PROBABILITY,
    PRINTED_SIGNIFICANT_7,
    SAME_FORMULA,
    printed,
)

#: Crins et al. (2014), as printed in Röver (2020), Table 3 (p.20): acute rejection events/total.
CRINS = pd.DataFrame(
    {
        "study": ["Heffron 2003", "Gibelli 2004", "Schuller 2005", "Ganschow 2005",
                  "Spada 2006", "Gras 2008"],
        "events_exp": [14, 16, 3, 9, 4, 0], "n_exp": [61, 28, 18, 54, 36, 50],
        "events_ctrl": [15, 19, 8, 29, 11, 3], "n_ctrl": [20, 28, 12, 54, 36, 34],
    }
)  # fmt: skip
#: Eight schools (Rubin 1981), as printed in the bayesmeta vignette: effect and standard error.
SCHOOLS = pd.DataFrame(
    {
        "study": list("ABCDEFGH"),
        "yi": [28.39, 7.94, -2.75, 6.82, -0.64, 0.63, 18.01, 12.16],
        "sei": [14.9, 10.2, 16.3, 11.0, 9.4, 11.4, 10.4, 17.6],
    }
)


@pytest.fixture(scope="module")
def crins():
    # Röver 2020 p.20: half-normal(0.5) on tau, N(0, 4^2) on mu ("ma01")
    return bayes_pool(CRINS, "OR", "half-normal", 0.5, "normal", mu_sd=4.0, level=0.99)


def test_crins_tau_posterior(crins) -> None:
    """Röver (2020) pp.21-27: tau median 0.3445022, mean 0.3810562, sd 0.2593672; P(tau > 1)
    0.02097488; the central 99% interval [0.003547657, 1.205400562]."""
    assert crins.tau_median == pytest.approx(0.3445022, **BAYESMETA_TAU)
    assert crins.tau_mean == pytest.approx(0.3810562, **BAYESMETA_TAU)
    assert crins.posterior.sd() == pytest.approx(0.2593672, **BAYESMETA_TAU)
    assert 1 - crins.posterior.cdf(1.0) == pytest.approx(0.02097488, **BAYESMETA_TAU)
    assert crins.posterior.quantile(0.99) == pytest.approx(1.109186, **BAYESMETA_TAU)
    assert crins.tau_ci_low == pytest.approx(0.003547657, **BAYESMETA_TAU)
    assert crins.tau_ci_high == pytest.approx(1.205400562, **BAYESMETA_TAU)


def test_crins_mu_prediction_and_shrinkage(crins) -> None:
    """Röver (2020) pp.21-27: mu median -1.5734823, mean -1.5764366, sd 0.3295298; prediction
    mean -1.5764365, sd 0.5671855; Heffron's shrunken effect median -1.7411356, mean
    -1.7778965; P(mu > 0) = 6.187343e-05."""
    assert crins.mu_median == pytest.approx(-1.5734823, **BAYESMETA_MU)
    assert crins.mu_mean == pytest.approx(-1.5764366, **BAYESMETA_MU)
    assert crins.mu_sd == pytest.approx(0.3295298, **BAYESMETA_MU)
    assert crins.pred_mean == pytest.approx(-1.5764365, **BAYESMETA_MU)
    heffron = crins.shrinkage[0]
    assert heffron.study == "Heffron 2003"
    assert heffron.median == pytest.approx(-1.7411356, **BAYESMETA_MU)
    assert heffron.mean == pytest.approx(-1.7778965, **BAYESMETA_MU)
    assert crins.probability(above=0.0) == pytest.approx(6.187343e-05, **BAYESMETA_TAIL)


def test_crins_two_randomised_studies() -> None:
    """Röver (2020) p.33: Heffron and Spada only, same priors: P(mu < 0) = 0.9974968."""
    two = CRINS.iloc[[0, 4]]
    fit = bayes_pool(two, "OR", "half-normal", 0.5, "normal", mu_sd=4.0)
    assert fit.p_mu_below_0 == pytest.approx(0.9974968, **BAYESMETA_MU)
    assert fit.mu_median == pytest.approx(-1.78, **printed(2))


def test_eight_schools() -> None:
    """bayesmeta vignette: half-Cauchy(25) on tau, N(0, 50^2) on mu: tau median 4.758539, mean
    5.884511, sd 4.869904, central 95% [0.2199559, 18.0531718]; mu median 7.962961, mean
    7.985729, sd 4.995762; P(mu > 0) 0.9487521; 95% quantile of mu 16.11009."""
    fit = bayes_pool(SCHOOLS, "GEN", "half-cauchy", 25.0, "normal", mu_sd=50.0)
    assert fit.tau_median == pytest.approx(4.758539, **BAYESMETA_TAU)
    assert fit.tau_mean == pytest.approx(5.884511, **BAYESMETA_TAU)
    assert fit.posterior.sd() == pytest.approx(4.869904, **BAYESMETA_TAU)
    assert fit.tau_ci_low == pytest.approx(0.2199559, **BAYESMETA_TAU)
    assert fit.tau_ci_high == pytest.approx(18.0531718, **BAYESMETA_TAU)
    assert fit.mu_median == pytest.approx(7.962961, **BAYESMETA_MU)
    assert fit.mu_mean == pytest.approx(7.985729, **BAYESMETA_MU)
    assert fit.mu_sd == pytest.approx(4.995762, **BAYESMETA_MU)
    assert 1 - fit.p_mu_below_0 == pytest.approx(0.9487521, **BAYESMETA_MU)
    assert fit.mu().quantile(0.95) == pytest.approx(16.11009, **BAYESMETA_MU)


def test_conditional_mu_is_the_frequentist_estimate() -> None:
    """Röver (2020) p.32: with a flat mu prior, mu given tau = the REML tau 0.4670268 has mean
    -1.591513 and SD 0.3340882 (= metafor's REML estimate and SE)."""
    effects = compute_effects(CRINS, "OR")
    mean, sd, _ = conditional_mu(effects.yi, effects.vi, np.array([0.4670268]), MuPrior())
    assert mean[0] == pytest.approx(-1.591513, **printed(6))
    # tau itself is printed to 7 digits, which moves the SD in its 7th: compare to 6 decimals
    assert sd[0] == pytest.approx(0.3340882, **printed(6))


def test_turner_prior_quantiles() -> None:
    """Röver (2020) p.31: TurnerEtAlPrior("surgical", "pharmacological", "placebo / control")
    has tau quantiles 0.06233896, 0.34300852, 1.88734045 at 2.5%, 50%, 97.5%."""
    prior = turner_prior("surgical / device related success / failure",
                         "pharmacological vs placebo/control")  # fmt: skip
    for p, q in ((0.025, 0.06233896), (0.5, 0.34300852), (0.975, 1.88734045)):
        assert prior.quantile(p) == pytest.approx(q, **PRINTED_SIGNIFICANT_7)
    assert "Turner et al. 2015" in prior.describe()


def test_priors_in_words_and_errors() -> None:
    fit = bayes_pool(CRINS, "OR")
    assert "half-normal prior on tau with scale 0.5" in fit.prior
    assert "flat (uniform) prior on mu" in fit.prior
    keys = {"mu_mean", "mu_median", "mu_ci_low", "mu_ci_high", "tau_median", "tau_ci_low",
            "tau_ci_high", "pred_ci_low", "pred_ci_high", "p_mu_below_0", "p_mu_beyond_mid",
            "shrinkage", "prior", "exp"}  # fmt: skip
    assert keys <= set(fit.to_dict())
    with pytest.raises(ValueError, match="tau_scale"):
        bayes_pool(SCHOOLS, "GEN")
    # Röver 2020 proposes half-normal(0.5) for log odds ratios: a log risk ratio states its own
    with pytest.raises(ValueError, match="log odds ratios only"):
        bayes_pool(CRINS, "RR")
    with pytest.raises(ValueError, match="not verified"):
        rhodes_prior("mental health outcome", "non-pharmacological (any)")
    with pytest.raises(ValueError, match="positive"):
        tau_prior("half-normal", -1.0)
    mid = bayes_pool(CRINS, "OR", mid=math.log(1.25))
    mu = mid.mu()
    assert mid.p_mu_beyond_mid == pytest.approx(
        mu.cdf(-math.log(1.25)) + 1 - mu.cdf(math.log(1.25)), **SAME_FORMULA
    )


# --- independent brute force: a 2-D trapezoid rule over (mu, tau), no analytic step ---------


def bcg_effects():
    case = next(
        c
        for c in json.loads((ROOT / "tests" / "reference" / "metafor_extra.json").read_text())[
            "cases"
        ]
        if c["id"] == "A08-mh/bcg/RR"
    )
    d = case["data"]
    frame = pd.DataFrame(
        {"study": [f"{a} {y}" for a, y in zip(d["author"], d["year"], strict=True)],
         "events_exp": d["tpos"],
         "n_exp": np.add(d["tpos"], d["tneg"]), "events_ctrl": d["cpos"],
         "n_ctrl": np.add(d["cpos"], d["cneg"])}
    )  # fmt: skip
    return frame


PRIORS = {
    "half-normal(0.5)": (tau_prior("half-normal", 0.5), lambda t: stats.halfnorm.logpdf(t, 0, 0.5)),
    "half-cauchy(0.5)": (tau_prior("half-cauchy", 0.5),
                         lambda t: stats.halfcauchy.logpdf(t, 0, 0.5)),
    "half-t(0.5, 3)": (tau_prior("half-t", 0.5, df=3),
                       lambda t: np.log(2 / 0.5) + stats.t.logpdf(t / 0.5, 3)),
    "turner general": (turner_prior(),
                       lambda t: stats.norm.logpdf(2 * np.log(t), -2.56, 1.74) + np.log(2 / t)),
    "rhodes general": (rhodes_prior(), lambda t: stats.t.logpdf(
        (2 * np.log(t) + 3.44) / 2.59, 5) - np.log(2.59) + np.log(2 / t)),
}  # fmt: skip


class BruteForce:
    """Posterior probabilities of the normal-normal model by a 2-D trapezoid rule over
    tau = exp(s) and mu = centre + w sinh(x), with the likelihood summed over studies directly
    (no analytic integration over mu). Each probability gets a grid whose edge or centre lies on
    its threshold, so that the trapezoid rule stays second order."""

    S_LOW, S_HIGH, X_EDGE, POINTS = -18.0, 9.0, 10.0, 401

    def __init__(self, y, v, log_prior, mu_sd) -> None:
        self.y, self.v, self.log_prior, self.mu_sd = y, v, log_prior, mu_sd
        self.w = float(np.sqrt(v.min())) / 2
        self.norm = 1.0
        self.norm = self.integral(float(np.average(y, weights=1 / v)))

    def integral(self, centre, weight=None, s_top=None, mu_top=False):
        s = np.linspace(self.S_LOW, self.S_HIGH if s_top is None else s_top, self.POINTS)
        x = np.linspace(-self.X_EDGE, 0.0 if mu_top else self.X_EDGE, self.POINTS)
        tau, mu = np.exp(s)[:, None], centre + self.w * np.sinh(x)[None, :]
        var = self.v[None, :] + tau**2  # (tau, study)
        a, b = (1 / var).sum(-1)[:, None], (self.y / var).sum(-1)[:, None]
        c, d = (self.y**2 / var).sum(-1)[:, None], np.log(var).sum(-1)[:, None]
        logp = -0.5 * (c - 2 * mu * b + mu**2 * a + d) + self.log_prior(tau) + s[:, None]
        logp = logp + np.log(self.w * np.cosh(x))[None, :]
        if self.mu_sd is not None:
            logp = logp + stats.norm.logpdf(mu, 0.0, self.mu_sd)
        p = np.exp(logp - self.shift) if hasattr(self, "shift") else None
        if p is None:
            self.shift = float(logp.max())
            p = np.exp(logp - self.shift)
        if weight is not None:
            p = p * weight(tau, mu)
        return float(np.trapezoid(np.trapezoid(p, x, axis=1), s)) / self.norm

    def mu_below(self, q):
        return self.integral(q, mu_top=True)

    def tau_below(self, t):
        return self.integral(float(np.average(self.y, weights=1 / self.v)), s_top=math.log(t))

    def expected(self, centre, weight):
        return self.integral(centre, weight)


@pytest.mark.parametrize("prior_name", list(PRIORS))
@pytest.mark.parametrize("mu_sd", [None, 2.0], ids=["flat", "normal(0,2)"])
def test_exact_posterior_against_brute_force(prior_name: str, mu_sd: float | None) -> None:
    """For k = 1..13 (the first k BCG trials, log RR): the credible limits of mu, tau, the
    prediction and the first study's shrunken effect are at the right posterior probabilities,
    and P(mu < 0) agrees, by an integration that shares nothing with the library's."""
    effects = compute_effects(bcg_effects(), "RR")
    prior, log_prior = PRIORS[prior_name]
    for k in range(1, 14):
        y, v = effects.yi[:k], effects.vi[:k]
        fit = bayes_pool(
            effects.subset(list(range(k))), tau_prior=prior,
            mu_prior="flat" if mu_sd is None else "normal", mu_sd=mu_sd,
        )  # fmt: skip
        bf = BruteForce(y, v, log_prior, mu_sd)

        def below(a, sd_of):  # P(normal(mean, sd) <= a) given (tau, mu), for prediction etc.
            return lambda tau, mu: special.ndtr((a - sd_of(tau, mu)[0]) / sd_of(tau, mu)[1])

        def predictive(tau, mu):
            return mu, np.maximum(tau, 1e-300)

        def shrunk(tau, mu, y0=float(y[0]), v0=float(v[0])):
            b = v0 / (tau**2 + v0)
            return (1 - b) * y0 + b * mu, np.sqrt(np.maximum(tau**2 * b, 1e-300))

        lo, hi = fit.pred_ci_low, fit.pred_ci_high
        checks = {
            "mu_ci_low": (bf.mu_below(fit.mu_ci_low), 0.025),
            "mu_median": (bf.mu_below(fit.mu_median), 0.5),
            "mu_ci_high": (bf.mu_below(fit.mu_ci_high), 0.975),
            "tau_ci_low": (bf.tau_below(fit.tau_ci_low), 0.025),
            "tau_median": (bf.tau_below(fit.tau_median), 0.5),
            "tau_ci_high": (bf.tau_below(fit.tau_ci_high), 0.975),
            "pred_ci_low": (bf.expected(lo, below(lo, predictive)), 0.025),
            "pred_ci_high": (bf.expected(hi, below(hi, predictive)), 0.975),
            "shrunk_median": (
                bf.expected(fit.shrinkage[0].median, below(fit.shrinkage[0].median, shrunk)),
                0.5,
            ),
            "p_mu_below_0": (bf.mu_below(0.0), fit.p_mu_below_0),
        }
        for name, (brute, ours) in checks.items():
            assert abs(brute - ours) <= BRUTE_FORCE_PROBABILITY, (k, name, brute, ours)
