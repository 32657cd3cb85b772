"""Stress-testing the tau^2 estimators: simulated meta-analyses and a check of every fit.

Used by ``bench/convergence.py`` (100,000+ meta-analyses) and by the test suite (a smaller run).
Every iterative estimate is verified against its own estimating equation, independently of the
solver's convergence flag.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metafuse import tau2 as t2
from metafuse.pooling import fit_inverse_variance

FloatArray = npt.NDArray[np.float64]

#: Scenarios: how study effects and variances are drawn.
SCENARIOS = ("plain", "outlier", "identical", "wide-variances")
METHODS = ("DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS")


@dataclass(frozen=True)
class Batch:
    """``n`` simulated meta-analyses with ``k`` studies each (arrays of shape (n, k))."""

    scenario: str
    k: int
    tau2: float
    yi: FloatArray
    vi: FloatArray


def simulate(rng: np.random.Generator, k: int, tau2: float, scenario: str, n: int) -> Batch:
    """Draw ``n`` meta-analyses: ``yi ~ N(0, vi + tau2)`` with ``vi`` log-uniform.

    ``plain``: vi over two orders of magnitude; ``wide-variances``: over four (1e-3 to 10);
    ``outlier``: one study shifted by 10 to 50 of its standard deviations; ``identical``: every
    study has the same effect and variance (half the batch) or the same effect only.
    """
    span = (-3.0, 1.0) if scenario == "wide-variances" else (-2.0, 0.0)
    vi = 10.0 ** rng.uniform(*span, size=(n, k))
    yi = rng.normal(0.0, np.sqrt(vi + tau2))
    if scenario == "outlier":
        shift = rng.uniform(10, 50, size=n) * rng.choice([-1.0, 1.0], size=n)
        yi[:, 0] += shift * np.sqrt(vi[:, 0] + tau2)
    elif scenario == "identical":
        yi = np.repeat(yi[:, :1], k, axis=1)
        same_v = np.arange(n) < n // 2
        vi[same_v] = np.repeat(vi[same_v, :1], k, axis=1)
    return Batch(scenario=scenario, k=k, tau2=tau2, yi=yi, vi=vi)


def batches(seed: int, ks: range, tau2_values: tuple[float, ...], reps: int) -> Iterator[Batch]:
    """Every (k, tau2, scenario) combination, ``reps`` meta-analyses each."""
    rng = np.random.default_rng(seed)
    for k in ks:
        for tau2 in tau2_values:
            for scenario in SCENARIOS:
                yield simulate(rng, k, tau2, scenario, reps)


def estimating_equation_ok(method: str, yi: FloatArray, vi: FloatArray, tau2: FloatArray):
    """True where ``tau2`` solves its estimating equation (or its boundary condition at 0).

    REML/ML: the score is ~0 at an interior solution, and at 0 the likelihood is not higher a
    little above 0. PM/EB: the generalised Q equals k - 1 (or Q(0) <= k - 1 at 0).
    """
    k = yi.shape[-1]
    if k < 2:
        return np.ones(yi.shape[:-1], dtype=bool)
    interior = tau2 > 0
    if method in ("REML", "ML"):
        score = t2._reml_score(yi, vi) if method == "REML" else t2._ml_score(yi, vi)
        u, _ = score(tau2)
        w = 1.0 / (vi + tau2[..., None])
        size = (w**2).sum(-1) * (1 + tau2) + w.sum(-1)
        ok_interior = np.abs(u) <= 1e-7 * size
        reml = method == "REML"
        ll0 = t2._log_likelihood(yi, vi, np.zeros_like(tau2), reml=reml)
        llh = t2._log_likelihood(yi, vi, tau2, reml=reml)
        ok_boundary = ll0 >= llh - 1e-9 * np.maximum(1, np.abs(llh))
        return np.where(interior, ok_interior, ok_boundary)
    if method in ("PM", "EB"):
        q = t2.generalised_q(yi, vi, tau2)
        ok_interior = np.abs(q - (k - 1)) <= 1e-8 * (k - 1)
        ok_boundary = t2.generalised_q(yi, vi, np.zeros_like(tau2)) <= (k - 1) * (1 + 1e-12)
        return np.where(interior, ok_interior, ok_boundary)
    return np.ones(yi.shape[:-1], dtype=bool)


def check_batch(batch: Batch, method: str) -> dict[str, int]:
    """Fit one batch with one method; count fits and failures of each kind."""
    fit = fit_inverse_variance(batch.yi, batch.vi, method)
    tau2 = fit.tau2
    finite = np.isfinite(tau2) & np.isfinite(fit.estimate) & np.isfinite(fit.se)
    negative = tau2 < 0
    equation = estimating_equation_ok(method, batch.yi, batch.vi, np.where(finite, tau2, 0.0))
    ci_ok = np.ones_like(finite)
    if fit.tau2_ci_low is not None:
        lo, hi = fit.tau2_ci_low, fit.tau2_ci_high
        ci_ok = np.isfinite(lo) & np.isfinite(hi) & (lo >= 0) & (lo <= hi)
    fallback = 0
    if method in ("REML", "ML"):
        fitter = t2.fit_tau2_reml if method == "REML" else t2.fit_tau2_ml
        fallback = int(fitter(batch.yi, batch.vi).used_fallback.sum())
    return {
        "fits": int(tau2.size),
        "non_finite": int((~finite).sum()),
        "negative_tau2": int(negative.sum()),
        "equation_not_solved": int((finite & ~equation).sum()),
        "bad_tau2_ci": int((~ci_ok).sum()),
        "fisher_scoring_fallbacks": fallback,
    }


def run(seed: int, ks: range, tau2_values: tuple[float, ...], reps: int) -> dict:
    """Run the whole grid; return totals per method and the number of meta-analyses."""
    totals: dict[str, dict[str, int]] = {}
    analyses = 0
    for batch in batches(seed, ks, tau2_values, reps):
        analyses += batch.yi.shape[0]
        for method in METHODS:
            counts = check_batch(batch, method)
            acc = totals.setdefault(method, dict.fromkeys(counts, 0))
            for key, value in counts.items():
                acc[key] += value
    failures = sum(
        c["non_finite"] + c["negative_tau2"] + c["equation_not_solved"] + c["bad_tau2_ci"]
        for c in totals.values()
    )
    return {"meta_analyses": analyses, "failures": failures, "by_method": totals}
