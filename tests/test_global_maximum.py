"""REML and ML report the global maximum of the (restricted) likelihood, never a local one.

The real case is the cumulative meta-analysis of Lau et al. (1992, N Engl J Med 327:248-254;
streptokinase after myocardial infarction, metadat's dat.lau1992): at several steps the restricted
likelihood has a maximum at tau^2 = 0 and a higher one inside, which the previous engine missed
(it reported 0 at steps 21, 22, 25, 26 and 27). Expected values: metafor 3.8.1's ``cumul()`` at
tight control (tests/reference/metafor_extra.json, case F19), and an independent brute-force
grid of the likelihood in this file.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metafuse import pool
from metafuse.engine.problem import Problem, log_likelihood
from metafuse.toolbox.sensitivity import cumulative
from tests.conftest import ROOT
from tests.tolerances import GLOBAL_MAXIMUM_SLACK, ITERATIVE, SAME_ENGINE

CASE = next(
    c
    for c in json.loads((ROOT / "tests" / "reference" / "metafor_extra.json").read_text())["cases"]
    if c["id"] == "F19-cumul/lau1992/REML"
)


def _lau() -> pd.DataFrame:
    r = CASE["results"]
    order = np.asarray(r["order"]) - 1  # cumul(order = year): 1-based positions, by year
    frame = pd.DataFrame({"study": CASE["data"]["trial"], "yi": r["yi"], "sei": np.sqrt(r["vi"])})
    return frame.iloc[order].reset_index(drop=True)


def _grid_maximum(yi: np.ndarray, vi: np.ndarray, *, reml: bool) -> tuple[float, float]:
    """Brute force: the best of 20,001 tau^2 values (0, then geometric 1e-8 .. 10)."""
    grid = np.concatenate([[0.0], np.geomspace(1e-8, 10.0, 20000)])
    problem = Problem.of(
        np.broadcast_to(yi, (grid.size, yi.size)), np.broadcast_to(vi, (grid.size, vi.size))
    )
    ll = log_likelihood(problem, grid, reml=reml)
    best = int(np.argmax(ll))
    return float(grid[best]), float(ll[best])


def test_lau_cumulative_reml_matches_metafor_at_every_step() -> None:
    steps = cumulative(pool(_lau(), "GEN", "REML"))
    expected = CASE["results"]
    assert steps.tau2 == pytest.approx(expected["tau2"], **ITERATIVE)
    assert steps.estimate == pytest.approx(expected["estimate"], **ITERATIVE)


@pytest.mark.parametrize("reml", [True, False])
def test_lau_cumulative_steps_are_global_maxima(reml: bool) -> None:
    frame = _lau()
    for j in range(2, len(frame) + 1):
        yi, vi = frame["yi"].to_numpy()[:j], frame["sei"].to_numpy()[:j] ** 2
        fit = pool(frame.iloc[:j], "GEN", "REML" if reml else "ML")
        ours = log_likelihood(Problem.of(yi, vi), np.array([fit.tau2]), reml=reml)[0]
        _, best = _grid_maximum(yi, vi, reml=reml)
        assert ours >= best - GLOBAL_MAXIMUM_SLACK, (
            f"step {j}: tau2 {fit.tau2} is not the global maximum"
        )


def test_steps_21_and_27_have_an_interior_maximum() -> None:
    """Where the old engine reported 0, the maximum is inside (about 0.0125 and 0.0105)."""
    frame = _lau()
    for j in (21, 27):
        fit = pool(frame.iloc[:j], "GEN", "REML")
        assert fit.tau2 == pytest.approx(CASE["results"]["tau2"][j - 1], **ITERATIVE)
        assert fit.tau2 > 0.01


def _cumulative_batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 33 cumulative steps as one ragged batch (row j holds the first j + 1 trials)."""
    frame = _lau()
    k = len(frame)
    y = np.broadcast_to(frame["yi"].to_numpy(), (k, k))
    v = np.broadcast_to(frame["sei"].to_numpy() ** 2, (k, k))
    mask = np.arange(k)[None, :] <= np.arange(k)[:, None]
    return y, v, mask


def test_pool_many_finds_the_global_maximum_at_every_cumulative_step() -> None:
    """The batch engine on all 33 steps at once: metafor's values, and pool()'s to 1e-10."""
    from metafuse import pool_many

    y, v, mask = _cumulative_batch()
    many = pool_many(y, v, "REML", mask=mask)
    assert many.tau2 == pytest.approx(CASE["results"]["tau2"], **ITERATIVE)
    steps = cumulative(pool(_lau(), "GEN", "REML"))
    assert many.tau2 == pytest.approx(steps.to_frame()["tau2"].to_numpy(), **SAME_ENGINE)


@pytest.mark.parametrize("step", [21, 27])
def test_certificate_refuses_a_local_maximum(step: int) -> None:
    """At steps 21 and 27 the restricted likelihood has a local maximum at 0 and a higher one
    inside: the batch engine's certificate refuses 0 and accepts the interior maximum."""
    from metafuse.engine import blocks
    from metafuse.engine.block_solvers import certify_maximum

    y, v, mask = _cumulative_batch()
    block = next(blocks.blocks(y[step - 1 : step], v[step - 1 : step], mask[step - 1 : step]))[1]
    upper = blocks.likelihood_upper_bound(block, block.k - 1.0)
    best = np.array([CASE["results"]["tau2"][step - 1]])
    for t, expected in ((np.zeros(1), False), (best, True)):
        fit = blocks.at_tau2(block, t)
        assert certify_maximum(block, fit, t, upper, reml=True)[0] == expected
