"""Stress-testing the tau^2 estimators: simulated meta-analyses and a check of every fit.

Used by ``bench/convergence.py`` (100,000+ meta-analyses) and by the test suite (a smaller run).
Every iterative estimate is verified against its own estimating equation, independently of the
solver's convergence flag.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from metafuse._arrays import BoolArray, FloatArray
from metafuse.engine import tau2 as t2
from metafuse.engine.batch import pool_many
from metafuse.engine.inverse_variance import fit_inverse_variance
from metafuse.engine.problem import Problem, log_likelihood
from metafuse.model import RANDOM_METHODS

#: Scenarios: how study effects and variances are drawn.
SCENARIOS = ("plain", "outlier", "identical", "wide-variances")
#: The estimators compared: the random-effects methods from DL to HS (metafuse.model).
METHODS = RANDOM_METHODS[: RANDOM_METHODS.index("HS") + 1]
#: Points of the dense grid on which REML and ML estimates are checked to be the global maximum.
GRID_POINTS = 400


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


def estimating_equation_ok(
    method: str, yi: FloatArray, vi: FloatArray, tau2: FloatArray
) -> BoolArray:
    """Return True where ``tau2`` solves its estimating equation or boundary condition.

    True where ``tau2`` solves its estimating equation (or its boundary condition at 0).

    REML/ML: the score is ~0 at an interior solution, and at 0 the likelihood is not higher a
    little above 0. PM/EB: the generalised Q equals k - 1 (or Q(0) <= k - 1 at 0).
    """
    problem = Problem.of(yi, vi)
    k = yi.shape[-1]
    if k < 2:
        return np.ones(problem.m, dtype=bool)
    t = tau2.reshape(-1)
    interior = t > 0
    if method in ("REML", "ML"):
        score = t2.reml_score if method == "REML" else t2.ml_score
        u, _ = score(problem, t)
        w = problem.weights(t)
        size = (w**2).sum(-1) * (1 + t) + w.sum(-1)
        ok_interior = np.abs(u) <= 1e-7 * size
        reml = method == "REML"
        ll0 = log_likelihood(problem, np.zeros_like(t), reml=reml)
        llh = log_likelihood(problem, t, reml=reml)
        ok_boundary = ll0 >= llh - 1e-9 * np.maximum(1, np.abs(llh))
        return np.where(interior, ok_interior, ok_boundary)
    if method in ("PM", "EB"):
        from metafuse.engine.problem import fit_weighted

        q = fit_weighted(problem, problem.weights(t)).q
        ok_interior = np.abs(q - (k - 1)) <= 1e-8 * (k - 1)
        ok_boundary = fit_weighted(problem, problem.weights(0.0)).q <= (k - 1) * (1 + 1e-12)
        return np.where(interior, ok_interior, ok_boundary)
    return np.ones(problem.m, dtype=bool)


def below_grid_maximum(method: str, yi: FloatArray, vi: FloatArray, tau2: FloatArray) -> BoolArray:
    """Return True where a dense grid finds a higher likelihood than ``tau2``.

    True where a dense grid of tau^2 values finds a higher (restricted) likelihood than ``tau2``
    (REML, ML): a local maximum was reported instead of the global one.

    The grid has :data:`GRID_POINTS` points from 0 to 100 times the largest effect-size spread,
    geometric above 1e-8.
    """
    problem = Problem.of(yi, vi)
    t = tau2.reshape(-1)
    if method not in ("REML", "ML") or yi.shape[-1] < 2:
        return np.zeros(problem.m, dtype=bool)
    reml = method == "REML"
    top = 100.0 * max(float(np.ptp(problem.y, axis=-1).max()) ** 2, 1.0)
    grid = np.concatenate([[0.0], np.geomspace(1e-8, top, GRID_POINTS - 1)])
    best = log_likelihood(problem, t, reml=reml)
    gain = np.zeros(problem.m)
    for g in grid:
        gain = np.maximum(gain, log_likelihood(problem, np.full(problem.m, g), reml=reml) - best)
    return gain > 1e-9 * np.maximum(1.0, np.abs(best))


def check_batch(batch: Batch, method: str) -> dict[str, int]:
    """Fit one batch with one method; count fits and failures of each kind.

    The batch engine (:func:`metafuse.pool_many`) is checked against the reference fit: a row
    whose tau^2 or estimate differs beyond 1e-10 (relative; 1e-12 absolute) counts as a failure.
    """
    fit = fit_inverse_variance(batch.yi, batch.vi, method)
    many = pool_many(batch.yi, batch.vi, method)
    differs = ~(
        np.isclose(many.tau2, fit.tau2, rtol=1e-10, atol=1e-12)
        & np.isclose(many.estimate, fit.estimate, rtol=1e-10, atol=1e-12)
    )
    tau2 = fit.tau2
    finite = np.isfinite(tau2) & np.isfinite(fit.estimate) & np.isfinite(fit.se)
    negative = tau2 < 0
    equation = estimating_equation_ok(method, batch.yi, batch.vi, np.where(finite, tau2, 0.0))
    lo, hi = fit.tau2_ci_low, fit.tau2_ci_high
    ci_ok = np.ones_like(finite)
    if method not in ("FE", "EE"):
        ci_ok = np.isfinite(lo) & np.isfinite(hi) & (lo >= 0) & (lo <= hi)
    local = below_grid_maximum(method, batch.yi, batch.vi, np.where(finite, tau2, 0.0))
    several = 0
    if method in ("REML", "ML") and fit.tau2_fit is not None:
        several = int(fit.tau2_fit.multiple_maxima.sum())
    return {
        "fits": int(tau2.size),
        "non_finite": int((~finite).sum()),
        "negative_tau2": int(negative.sum()),
        "equation_not_solved": int((finite & ~equation).sum()),
        "bad_tau2_ci": int((~ci_ok).sum()),
        "not_global_maximum": int(local.sum()),
        "several_local_maxima": several,
        "batch_engine_differs": int(differs.sum()),
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
        c["non_finite"]
        + c["negative_tau2"]
        + c["equation_not_solved"]
        + c["bad_tau2_ci"]
        + c["not_global_maximum"]
        + c["batch_engine_differs"]
        for c in totals.values()
    )
    return {"meta_analyses": analyses, "failures": failures, "by_method": totals}
