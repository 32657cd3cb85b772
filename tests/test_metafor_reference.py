"""metafuse.pool against metafor 3.8, every measure x method x HKSJ on public datasets.

References come from tests/reference/run_metafor.R (metafor's rma, rma.mh, rma.peto, escalc and
confint; see the script's header for the conventions it pins) and are committed as JSON.
"""

from __future__ import annotations

import warnings

import pytest

from metafuse import ExcludedStudyWarning, pool
from tests.conftest import load_reference, reference_frame
from tests.tolerances import CLOSED_FORM, ITERATIVE

#: The random-effects methods of run_metafor.R (the newer estimators are in metafor_extra.json).
REFERENCE_METHODS = ("DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS")

pytestmark = pytest.mark.metafor

REFERENCE = load_reference()
CASES = REFERENCE["cases"]
ITERATIVE_METHODS = {"REML", "ML", "PM", "EB"}
#: Keys that depend on tau^2 (iterative for REML/ML/PM/EB).
TAU2_DEPENDENT = {
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "pval",
    "tau2",
    "I2",
    "H2",
    "pi_low",
    "pi_high",
}
#: Q-profile limits are roots of an equation for every random-effects method.
Q_PROFILE = {"tau2_ci_low", "tau2_ci_high", "I2_ci_low", "I2_ci_high"}
SCALAR_KEYS = [
    "k",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "pval",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "I2",
    "I2_Q",
    "I2_ci_low",
    "I2_ci_high",
    "H2",
    "Q",
    "Q_df",
    "Q_pval",
    "pi_low",
    "pi_high",
]


def _tolerance(method: str, key: str) -> dict[str, float]:
    if key in Q_PROFILE or (method in ITERATIVE_METHODS and key in TAU2_DEPENDENT):
        return ITERATIVE
    return CLOSED_FORM


def _fit(case: dict):
    frame = reference_frame(REFERENCE, case["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedStudyWarning)
        return pool(frame, case["measure"], case["method"], case["hksj"], ratio=case["ratio"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_pool_matches_metafor(case: dict) -> None:
    """Every contract value equals metafor's (see tests/reference/run_metafor.R for the call)."""
    got = _fit(case).to_dict()
    want = case["expected"]
    for key in SCALAR_KEYS:
        if want.get(key) is None:
            assert got[key] is None, f"{key}: expected None, got {got[key]}"
        else:
            assert got[key] == pytest.approx(want[key], **_tolerance(case["method"], key)), key
    assert [s["study"] for s in got["studies"]] == [s["study"] for s in want["studies"]]
    for mine, theirs in zip(got["studies"], want["studies"], strict=True):
        tol = _tolerance(case["method"], "estimate")
        assert mine["weight_percent"] == pytest.approx(theirs["weight_percent"], **tol)
        if "yi" in theirs and case["method"] != "PETO":
            for key in ("yi", "sei"):
                if theirs.get(key) is None:
                    assert mine[key] is None
                else:
                    assert mine[key] == pytest.approx(theirs[key], **CLOSED_FORM), key


def test_reference_covers_every_combination() -> None:
    """The grid cannot shrink silently: every measure x method x HKSJ is present, with k = 2."""
    seen = {(c["measure"], c["method"], c["hksj"]) for c in CASES}
    for measure in ("RR", "OR", "RD", "MD", "SMD", "GEN"):
        for method in ("FE", *REFERENCE_METHODS):
            for hksj in (False, True):
                assert (measure, method, hksj) in seen
    for measure in ("RR", "OR", "RD"):
        assert (measure, "MH", False) in seen
    assert ("OR", "PETO", False) in seen
    k2 = {c["measure"] for c in CASES if c["expected"]["k"] == 2}
    assert {"RR", "OR", "RD", "MD", "SMD"} <= k2
    datasets = REFERENCE["datasets"]
    assert any("double-zero" in d["source"] for d in datasets.values())


def test_ratio_measures_report_exp_block() -> None:
    """RR/OR results carry the ratio-scale block; it is exp() of the analysis-scale values."""
    case = next(c for c in CASES if c["id"] == "bcg/RR/REML/z")
    got = _fit(case).to_dict()
    import math

    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert got["exp"][key] == pytest.approx(math.exp(case["expected"][key]), **ITERATIVE)
