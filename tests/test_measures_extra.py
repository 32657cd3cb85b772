"""Measures and table methods beyond RR/OR/RD/MD/SMD, pinned to metafor 3.8.1 output from the
committed reference script tests/reference/run_metafor_extra.R (metafor_extra.json): incidence
rate ratios and differences (escalc, rma, rma.mh with the Mantel-Haenszel rate test), Peto's odds
ratio as an effect size and rma.peto, single-group mean changes (MC, SMCC, SMCR, SMCRH) and
rma.mh on zero and all-event tables with its CMH and Tarone tests."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metafuse import compute_effects, pool
from metafuse.engine.tables import cochran_mantel_haenszel
from metafuse.exceptions import DataError
from metafuse.toolbox import mantel_haenszel_tests
from tests.conftest import ROOT
from tests.tolerances import CLOSED_FORM, ITERATIVE

CASES = {
    c["id"]: c
    for c in json.loads((ROOT / "tests" / "reference" / "metafor_extra.json").read_text())["cases"]
}


def ids(prefix: str) -> list[str]:
    return [k for k, c in CASES.items() if k.startswith(prefix) and c.get("results")]


def two_by_two(data: dict[str, Any]) -> pd.DataFrame:
    if "tpos" in data:
        a, b, c, d = (np.asarray(data[k], float) for k in ("tpos", "tneg", "cpos", "cneg"))
        n1, n2 = a + b, c + d
    else:
        a, n1, c, n2 = (np.asarray(data[k], float) for k in ("ai", "n1i", "ci", "n2i"))
    return pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(a))], "events_exp": a, "n_exp": n1,
         "events_ctrl": c, "n_ctrl": n2}
    )  # fmt: skip


def person_time(data: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(data["x1i"]))], "events_exp": data["x1i"],
         "time_exp": data["t1i"], "events_ctrl": data["x2i"], "time_ctrl": data["t2i"]}
    )  # fmt: skip


def quiet_pool(*args: Any, **kwargs: Any):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(*args, **kwargs)


def check_table_fit(result, ref: dict[str, Any], tol: dict[str, float]) -> None:
    assert result.k == ref["k.yi"]
    for ours, theirs in (
        ("estimate", "b"),
        ("se", "se"),
        ("ci_low", "ci.lb"),
        ("ci_high", "ci.ub"),
        ("Q", "QE"),
        ("Q_pval", "QEp"),
        ("I2", "I2"),
    ):
        if ref.get(theirs) is not None and result.k > 1:
            assert getattr(result, ours) == pytest.approx(ref[theirs], **tol), ours


@pytest.mark.parametrize(
    "case_id", [i for i in ids("A08-mh") if "drop00=" not in i], ids=lambda s: s
)
def test_mantel_haenszel_matches_rma_mh(case_id: str) -> None:
    case = CASES[case_id]
    ref = case["results"]["mh"]
    if ref["k.yi"] == 0:
        # No table has an event. metafor returns a risk difference of exactly 0 (and NaN for
        # ratios); metafuse pools the risk difference to 0 too (its default convention keeps
        # double-zero tables for RD) and refuses a ratio with a message (under the metafor preset
        # every table enters the Mantel-Haenszel sums, which are 0 over 0 here).
        if ref["measure"] == "RD":
            result = quiet_pool(two_by_two(case["data"]), "RD", "MH")
            assert result.estimate == ref["b"] == 0.0
        else:
            with pytest.raises(DataError, match="not estimable from these counts"):
                quiet_pool(two_by_two(case["data"]), ref["measure"], "MH", convention="metafor")
        return
    result = quiet_pool(two_by_two(case["data"]), ref["measure"], "MH", convention="metafor")
    check_table_fit(result, ref, CLOSED_FORM)
    if "MH" in ref and ref.get("correct", True):
        assert result.extras["CMH"] == pytest.approx(ref["MH"], **CLOSED_FORM)
        assert result.extras["CMH_pval"] == pytest.approx(ref["MHp"], **CLOSED_FORM)
    if "TA" in ref:
        assert result.extras["tarone"] == pytest.approx(ref["TA"], **CLOSED_FORM)
        assert result.extras["tarone_pval"] == pytest.approx(ref["TAp"], **CLOSED_FORM)
    if "TA" in ref and "/bcg/" in case_id:
        # the toolbox reads the same tests, refitting an inverse-variance model by MH first
        iv = quiet_pool(two_by_two(case["data"]), "OR", "DL", convention="metafor")
        tests = mantel_haenszel_tests(iv).to_dict()
        assert tests["tarone"] == pytest.approx(ref["TA"], **CLOSED_FORM)
        if ref.get("correct", True):
            assert tests["CMH"] == pytest.approx(ref["MH"], **CLOSED_FORM)


@pytest.mark.parametrize(
    "case_id",
    ids("A08-mh/bcg/OR/correct=FALSE") + ids("A08-mh/egger2001/OR/correct=FALSE"),
    ids=lambda s: s,
)
def test_cmh_test_without_continuity_correction(case_id: str) -> None:
    case = CASES[case_id]
    ref = case["results"]["mh"]
    frame = two_by_two(case["data"])
    stat, p = cochran_mantel_haenszel(
        frame.events_exp, frame.n_exp, frame.events_ctrl, frame.n_ctrl, correct=False
    )
    assert stat == pytest.approx(ref["MH"], **CLOSED_FORM)
    assert p == pytest.approx(ref["MHp"], **CLOSED_FORM)


@pytest.mark.parametrize("case_id", ids("B10"), ids=lambda s: s)
def test_incidence_rates(case_id: str) -> None:
    case = CASES[case_id]
    measure = "IRR" if "irr" in case_id else "IRD"
    frame = person_time(case["data"])
    results = case["results"]
    if "mh" in results:
        ref = results["mh"]
        fit = quiet_pool(frame, measure, "MH", convention="metafor")
        check_table_fit(fit, ref, CLOSED_FORM)
        if "MH" in ref:
            assert fit.extras["CMH"] == pytest.approx(ref["MH"], **CLOSED_FORM)
            assert fit.extras["CMH_pval"] == pytest.approx(ref["MHp"], **CLOSED_FORM)
        return
    effects = compute_effects(frame, measure, convention="metafor")
    assert effects.yi == pytest.approx(np.asarray(results["yi"], float), **CLOSED_FORM)
    assert effects.vi == pytest.approx(np.asarray(results["vi"], float), **CLOSED_FORM)
    model = results["model"]
    fit = pool(effects, method=model["method"], convention="metafor")
    tol = ITERATIVE if model["method"] == "REML" else CLOSED_FORM
    assert fit.estimate == pytest.approx(model["b"], **tol)
    assert fit.se == pytest.approx(model["se"], **tol)
    assert fit.tau2 == pytest.approx(model.get("tau2", 0.0), **tol)
    assert pytest.approx(model["QE"], **CLOSED_FORM) == fit.Q


@pytest.mark.parametrize("case_id", ids("B11"), ids=lambda s: s)
def test_peto(case_id: str) -> None:
    case = CASES[case_id]
    frame = two_by_two(case["data"])
    results = case["results"]
    if "peto" in results:
        fit = quiet_pool(frame, "OR", "PETO", convention="metafor")
        check_table_fit(fit, results["peto"], CLOSED_FORM)
        return
    zero = {"add": 0.0, "to": "none"} if "add=none" in case_id else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        effects = compute_effects(frame, "PETO", convention="metafor", **zero)
    expected_yi = np.array([np.nan if y is None else y for y in results["yi"]], float)
    expected_vi = np.array([np.nan if v is None else v for v in results["vi"]], float)
    tol = {"rtol": CLOSED_FORM["rel"], "atol": CLOSED_FORM["abs"]}
    np.testing.assert_allclose(effects.yi, expected_yi, **tol)
    np.testing.assert_allclose(effects.vi, expected_vi, **tol)
    model = results["model"]
    fit = quiet_pool(effects, method=model["method"], convention="metafor")
    assert fit.estimate == pytest.approx(model["b"], **CLOSED_FORM)
    assert fit.se == pytest.approx(model["se"], **CLOSED_FORM)


@pytest.mark.parametrize("case_id", ids("B12"), ids=lambda s: s)
def test_mean_change(case_id: str) -> None:
    case = CASES[case_id]
    d = case["data"]
    measure = case_id.split("/")[0].split("-")[1].upper()
    # the reference passes sd1i = the SD metafor standardises by: the pre-test SD for SMCR; for
    # SMCRH (called with sd1i = sd_post) metafuse's pre-test SD column gets that same SD.
    sd_post, sd_pre = d["sd_post"], d["sd_pre"]
    if measure == "SMCRH":
        sd_post, sd_pre = sd_pre, sd_post
    frame = pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(d["ni"]))], "mean_post": d["m_post"],
         "mean_pre": d["m_pre"], "sd_post": sd_post, "sd_pre": sd_pre, "n": d["ni"],
         "r": d["ri"]}
    )  # fmt: skip
    effects = compute_effects(frame, measure)
    assert effects.yi == pytest.approx(np.asarray(case["results"]["yi"], float), **CLOSED_FORM)
    assert effects.vi == pytest.approx(np.asarray(case["results"]["vi"], float), **CLOSED_FORM)


@pytest.mark.parametrize("case_id", [i for i in ids("A08-mh") if "drop00=TRUE,TRUE" in i])
def test_mantel_haenszel_without_non_estimable_tables(case_id: str) -> None:
    """metafor's ``drop00=c(TRUE, TRUE)`` leaves double-zero and all-event tables out of the
    Mantel-Haenszel estimate too: metafuse's own convention (for RD with ``drop00=True``, as
    metafuse keeps double-zero tables in a risk difference by default)."""
    case = CASES[case_id]
    ref = case["results"]["mh"]
    result = quiet_pool(two_by_two(case["data"]), ref["measure"], "MH", drop00=True)
    check_table_fit(result, ref, CLOSED_FORM)
