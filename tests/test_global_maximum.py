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
from tests.tolerances import GLOBAL_MAXIMUM_SLACK, ITERATIVE

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
