"""Robust convergence: every estimator returns a valid tau^2 on every valid input.

The full simulation (112,320 meta-analyses) is bench/convergence.py, report committed in
bench/convergence_report.json; here a smaller grid of the same design runs on every test run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metafuse import pool
from metafuse.engine import tau2
from metafuse.engine.problem import Problem
from metafuse.engine.simulation import METHODS, below_grid_maximum, run
from tests.tolerances import ITERATIVE, SAME_FORMULA

# A dataset drawn by tests/reference-style simulation (k = 10, seed 20261122 in R) on which
# metafor 3.8's rma(yi, vi, method="REML") stops with "Fisher scoring algorithm did not converge"
# under its defaults. With control=list(stepadj=0.5, threshold=1e-13, maxiter=10000) metafor gives
# tau2 = 0.23429890085760341, mu = -0.21183281756770439, se = 0.35079902712652927.
METAFOR_FAILS = pd.DataFrame(
    {
        "study": [f"s{i}" for i in range(1, 11)],
        "yi": [
            -0.74721779803735067,
            0.23776033966416293,
            -0.38395522548966449,
            -0.057305343034835463,
            -0.8885505071062294,
            -0.38926342864092989,
            -2.5675080867069142,
            0.34568812596957199,
            -1.7546575328156508,
            4.8709542341303429,
        ],
        "sei": np.sqrt(
            [
                2.2418342813989955,
                0.016510443819496848,
                15.70788240797882,
                1.0409065835913414,
                0.27506204296296383,
                3.4849486835705252,
                15.137310456437532,
                7.5084178504153405,
                2.3366242807103852,
                13.47025378673162,
            ]
        ),
    }
)


def test_reml_where_metafor_default_fails() -> None:
    res = pool(METAFOR_FAILS, "GEN", "REML")
    assert res.tau2 == pytest.approx(0.23429890085760341, **ITERATIVE)
    assert res.estimate == pytest.approx(-0.21183281756770439, **ITERATIVE)
    assert res.se == pytest.approx(0.35079902712652927, **ITERATIVE)
    yi, vi = METAFOR_FAILS["yi"].to_numpy(), METAFOR_FAILS["sei"].to_numpy() ** 2
    fit = tau2.tau2_reml(Problem.of(yi, vi))
    assert bool(fit.converged[0])
    assert not below_grid_maximum("REML", yi[None, :], vi[None, :], fit.tau2)[0]


def test_simulation_grid_has_no_failures() -> None:
    report = run(seed=7, ks=range(2, 41, 3), tau2_values=(0.0, 0.01, 1.0, 10.0), reps=10)
    assert report["meta_analyses"] == len(range(2, 41, 3)) * 4 * 4 * 10
    assert report["failures"] == 0, report["by_method"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("yi", "vi"),
    [
        ([0.3, 0.3], [0.1, 0.1]),  # k = 2, identical studies
        ([0.3] * 30, [0.1] * 30),  # many identical studies
        ([1e-9, -1e-9, 2e-9], [1e-12, 1e-12, 1e-12]),  # tiny variances
        ([-500.0, 0.0, 800.0], [1.0, 1e-4, 1e4]),  # huge heterogeneity, variances 8 orders apart
        ([0.0, 0.0, 0.0, 50.0], [1.0, 1.0, 1.0, 1.0]),  # one extreme outlier
    ],
)
def test_edge_cases_give_valid_tau2(method: str, yi: list[float], vi: list[float]) -> None:
    res = pool(
        pd.DataFrame({"study": [str(i) for i in range(len(yi))], "yi": yi, "sei": np.sqrt(vi)}),
        "GEN",
        method,
    )
    assert res.tau2 is not None
    assert res.tau2 >= 0
    assert np.isfinite(res.estimate)
    assert np.isfinite(res.se)


def test_batch_fit_equals_one_by_one() -> None:
    """The array core fits many meta-analyses at once, with the same answers as one at a time."""
    rng = np.random.default_rng(3)
    vi = 10 ** rng.uniform(-2, 0, size=(50, 7))
    yi = rng.normal(0, np.sqrt(vi + 0.2))
    for method in METHODS:
        batch = tau2.ESTIMATORS[method](Problem.of(yi, vi)).tau2
        single = np.array(
            [tau2.ESTIMATORS[method](Problem.of(yi[i], vi[i])).tau2[0] for i in range(50)]
        )
        np.testing.assert_allclose(
            batch, single, rtol=SAME_FORMULA["rel"], atol=SAME_FORMULA["abs"]
        )
