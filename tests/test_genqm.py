"""The median-unbiased generalised Q estimator (GENQM), pinned to metafor 3.8.1 with
CompQuadForm 1.4.3 (tests/reference/run_metafor_genqm.R -> metafor_genqm.json), and the
distribution of weighted sums of chi-squares it rests on, against closed forms."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metafuse import pool
from metafuse.engine.genqm import weighted_chi2_sf
from tests.conftest import ROOT
from tests.tolerances import CLOSED_FORM, IMHOF_INTEGRAL, ITERATIVE

CASES = json.loads((ROOT / "tests" / "reference" / "metafor_genqm.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_genqm_matches_metafor(case: dict) -> None:
    frame = pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(case["yi"]))], "yi": case["yi"],
         "sei": np.sqrt(case["vi"])}
    )  # fmt: skip
    fit = pool(frame, "GEN", "GENQM", weights=case["weights"])
    assert fit.tau2 == pytest.approx(case["tau2"], **ITERATIVE)
    assert fit.estimate == pytest.approx(case["b"], **ITERATIVE)
    assert fit.se == pytest.approx(case["se"], **ITERATIVE)
    assert fit.ci_low == pytest.approx(case["ci.lb"], **ITERATIVE)
    assert fit.ci_high == pytest.approx(case["ci.ub"], **ITERATIVE)
    assert pytest.approx(case["QE"], **CLOSED_FORM) == fit.Q


@pytest.mark.parametrize(
    ("x", "weights", "expected"),
    [
        # equal weights w: w chi^2_r, so P = chi2.sf(x / w, r)
        (3.0, [1.0] * 4, stats.chi2.sf(3.0, 4)),
        (30.0, [1.0] * 12, stats.chi2.sf(30.0, 12)),
        (2.0, [2.0], stats.chi2.sf(1.0, 1)),
        (3.0, [1.5, 1.5, 1.5], stats.chi2.sf(2.0, 3)),
        # two unequal weights: chi^2_2 with weights a, b has the closed form
        # P(a X + b Y > x) = (a e^{-x/(2a)} - b e^{-x/(2b)}) / (a - b) for two chi^2_2 terms;
        # as sums of chi^2_1 pairs: weights (a, a, b, b)
        (5.0, [2.0, 2.0, 0.5, 0.5], (2.0 * np.exp(-5 / 4.0) - 0.5 * np.exp(-5 / 1.0)) / 1.5),
    ],
)
def test_weighted_chi2_distribution(x: float, weights: list[float], expected: float) -> None:
    assert weighted_chi2_sf(x, np.array(weights)) == pytest.approx(expected, **IMHOF_INTEGRAL)


def test_genqm_needs_weights() -> None:
    frame = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.5, 0.2], "sei": [0.2] * 3})
    with pytest.raises(ValueError, match="GENQM estimator needs weights"):
        pool(frame, "GEN", "GENQM")
