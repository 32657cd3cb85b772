"""The last metafor features, pinned to metafor 3.8.1 output from the committed reference script
tests/reference/run_metafor_gaps.R (metafor_gaps.json): Cochran's CO and the Cochran-Mantel-
Haenszel test with and without the continuity correction, the single-group log incidence rate
(IRLN), the generalised Q interval for tau^2 of GENQ fits, regtest()'s sample-size predictor and
rma.mh on tables with an event in every participant."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metafuse import compute_effects, pool
from metafuse.exceptions import DataError
from metafuse.toolbox.bias import regression_test
from metafuse.toolbox.inference import tau2_confint
from metafuse.toolbox.metareg import meta_regression
from tests.conftest import ROOT
from tests.tolerances import CLOSED_FORM, GENERALISED_Q_INTERVAL, ITERATIVE, METAFOR_UNIROOT

CASES = {
    c["id"]: c
    for c in json.loads((ROOT / "tests" / "reference" / "metafor_gaps.json").read_text())["cases"]
}


def ids(prefix: str) -> list[str]:
    return [k for k in CASES if k.startswith(prefix)]


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _tables(data: dict[str, Any]) -> pd.DataFrame:
    if "tpos" in data:
        a, b, c, d = (np.asarray(data[k], float) for k in ("tpos", "tneg", "cpos", "cneg"))
        n1, n2 = a + b, c + d
    else:
        a, n1, c, n2 = (np.asarray(data[k], float) for k in ("ai", "n1i", "ci", "n2i"))
    return pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(a))], "events_exp": a, "n_exp": n1,
         "events_ctrl": c, "n_ctrl": n2}
    )  # fmt: skip


def _person_time(data: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(data["x1i"]))], "events_exp": data["x1i"],
         "time_exp": data["t1i"], "events_ctrl": data["x2i"], "time_ctrl": data["t2i"]}
    )  # fmt: skip


@pytest.mark.parametrize("case_id", ids("G20-cmh/"), ids=str)
def test_cochran_and_cmh_tests_with_and_without_correction(case_id: str) -> None:
    case = CASES[case_id]
    ref = case["results"]["mh"]
    rates = "/IRR/" in case_id
    frame = _person_time(case["data"]) if rates else _tables(case["data"])
    result = _quiet(pool, frame, ref["measure"], "MH", convention="metafor", correct=ref["correct"])
    assert result.estimate == pytest.approx(ref["b"], **CLOSED_FORM)
    assert result.extras["CMH"] == pytest.approx(ref["MH"], **CLOSED_FORM)
    assert result.extras["CMH_pval"] == pytest.approx(ref["MHp"], **CLOSED_FORM)
    if not rates:
        assert result.extras["CO"] == pytest.approx(ref["CO"], **CLOSED_FORM)
        assert result.extras["CO_pval"] == pytest.approx(ref["COp"], **CLOSED_FORM)
        assert result.extras["tarone"] == pytest.approx(ref["TA"], **CLOSED_FORM)


@pytest.mark.parametrize("case_id", ids("G21-irln/"), ids=str)
def test_log_incidence_rate(case_id: str) -> None:
    case = CASES[case_id]
    d, res = case["data"], case["results"]
    frame = pd.DataFrame({"study": d["study"], "events": d["xi"], "time": d["ti"]})
    effects = compute_effects(frame, "IRLN", convention="metafor")
    assert effects.yi == pytest.approx(res["es"]["yi"], **CLOSED_FORM)
    assert effects.vi == pytest.approx(res["es"]["vi"], **CLOSED_FORM)
    model = res["model"]
    tol = ITERATIVE if model["method"] == "REML" else CLOSED_FORM
    fit = pool(effects, method=model["method"], convention="metafor")
    for ours, theirs in (
        ("estimate", "b"),
        ("se", "se"),
        ("ci_low", "ci.lb"),
        ("ci_high", "ci.ub"),
    ):
        assert getattr(fit, ours) == pytest.approx(model[theirs], **tol), ours
    assert fit.tau2 == pytest.approx(model.get("tau2", 0.0), **tol)
    assert pytest.approx(model["QE"], **CLOSED_FORM) == fit.Q
    shown = fit.back_transformed()  # predict(res, transf = exp): the rate itself
    for ours, theirs in (("estimate", "pred"), ("ci_low", "ci.lb"), ("ci_high", "ci.ub")):
        assert shown[ours] == pytest.approx(res["pred_exp"][theirs], **tol), ours
    assert fit.display_scale.null is None  # a rate has no value of "no effect"


def _genq(case: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    r = case["results"]
    frame = pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(r["yi"]))], "yi": r["yi"], "sei": np.sqrt(r["vi"])}
    )
    return frame, np.asarray(r["w"], float)


def _expected_interval(case: dict[str, Any]) -> dict[str, list[float]]:
    """The limits from metafor's own objective solved tightly (``tight``), and I^2 and H^2 at
    them with metafor's typical within-study variance (from its I^2 at the estimate)."""
    res = case["results"]
    ref = res["confint"]
    tau2 = [ref["tau2"][0], res["tight"]["tau2.lb"], res["tight"]["tau2.ub"]]
    s2 = tau2[0] * (100 - ref["I2"][0]) / ref["I2"][0]
    return {
        "tau2": tau2,
        "I2": [100 * t / (t + s2) for t in tau2],
        "H2": [t / s2 + 1 for t in tau2],
    }


@pytest.mark.parametrize("case_id", [i for i in ids("G22-genq_ci/") if "ablat" not in i], ids=str)
def test_generalised_q_interval_of_a_genq_fit(case_id: str) -> None:
    """confint() of a GENQ fit is Jackson's (2013) generalised Q interval, not the Q-profile one:
    in the fit's own fields and from tau2_confint() by default."""
    case = CASES[case_id]
    frame, w = _genq(case)
    expected = _expected_interval(case)
    fit = pool(frame, "GEN", "GENQ", weights=w)
    assert fit.tau2 == pytest.approx(expected["tau2"][0], **CLOSED_FORM)
    limits = (fit.tau2_ci_low, fit.tau2_ci_high)
    assert limits == pytest.approx(expected["tau2"][1:], **GENERALISED_Q_INTERVAL)
    assert limits == pytest.approx(case["results"]["confint"]["tau2"][1:], **METAFOR_UNIROOT)
    assert (fit.I2_ci_low, fit.I2_ci_high) == pytest.approx(
        expected["I2"][1:], **GENERALISED_Q_INTERVAL
    )
    interval = tau2_confint(fit)
    assert interval.type == "GENQ"
    assert interval.tau2[1:] == pytest.approx(expected["tau2"][1:], **GENERALISED_Q_INTERVAL)
    assert interval.H2[1:] == pytest.approx(expected["H2"][1:], **GENERALISED_Q_INTERVAL)
    q_profile = tau2_confint(fit, type="QP")  # asked for explicitly, as metafor allows
    assert q_profile.tau2[1:] != pytest.approx(expected["tau2"][1:], **GENERALISED_Q_INTERVAL)


def test_generalised_q_interval_of_a_genq_meta_regression() -> None:
    case = CASES["G22-genq_ci/bcg/w=1_vi/ablat"]
    frame, w = _genq(case)
    frame["ablat"] = case["data"]["ablat"]
    expected = _expected_interval(case)
    fit = meta_regression(
        pool(frame, "GEN", "GENQ", weights=w), moderators=["ablat"], covariates=frame
    )
    assert fit.fit.tau2 == pytest.approx(expected["tau2"][0], **CLOSED_FORM)
    interval = fit.tau2_confint()
    assert interval.tau2[1:] == pytest.approx(expected["tau2"][1:], **GENERALISED_Q_INTERVAL)
    assert interval.I2[1:] == pytest.approx(expected["I2"][1:], **GENERALISED_Q_INTERVAL)


def test_generalised_q_interval_is_refused_for_other_estimators() -> None:
    frame, _ = _genq(CASES["G22-genq_ci/bcg/w=1_vi"])
    with pytest.raises(ValueError, match="GENQ or GENQM fit"):
        tau2_confint(pool(frame, "GEN", "REML"), type="GENQ")


@pytest.mark.parametrize("case_id", ids("G23-regtest/"), ids=str)
def test_regression_test_on_sample_size(case_id: str) -> None:
    case = CASES[case_id]
    _, dataset, model, predictor = case_id.split("/")
    res = case["results"]
    frame = _tables(case["data"])
    fit = pool(frame, "RR" if dataset == "bcg" else "OR", "REML")
    found = regression_test(fit, model=model, predictor=predictor, sample_sizes=res["ni"])
    assert found.statistic == pytest.approx(res["zval"], **ITERATIVE)
    assert found.pval == pytest.approx(res["pval"], **ITERATIVE)
    assert found.slope == pytest.approx(res["b"][1], **ITERATIVE)
    assert found.df == res["dfs"]
    if res["est"] is None:  # ni does not tend to 0 with precision: no limit estimate
        assert found.est is found.ci_low is found.ci_high is None
    else:
        assert found.est == pytest.approx(res["est"], **ITERATIVE)
        assert found.ci_low == pytest.approx(res["ci.lb"], **ITERATIVE)


def test_regression_test_reads_sample_sizes_from_the_arms() -> None:
    case = CASES["G23-regtest/bcg/lm/ni"]
    fit = pool(_tables(case["data"]), "RR", "REML")
    found = regression_test(fit, model="lm", predictor="ni")
    assert found.statistic == pytest.approx(case["results"]["zval"], **CLOSED_FORM)


@pytest.mark.parametrize("case_id", ids("G24-mh_all_events/"), ids=str)
def test_mantel_haenszel_of_tables_with_events_in_everyone(case_id: str) -> None:
    """metafor's preset pools every table: no table is estimable as an effect size, yet the
    Mantel-Haenszel RR and RD are 0 with se 0, z and P not defined (NaN in metafor, None here).
    Where metafor reports NA (the OR, and every test), metafuse refuses with a message. As for
    every fit with fewer than two estimable studies, metafuse leaves Q's P value, I^2 and H^2
    undefined where metafor prints 1, 0 and 1."""
    case = CASES[case_id]
    ref = case["results"]["mh"]
    frame = _tables(case["data"])
    if ref["b"] is None:
        with pytest.raises(DataError, match="not estimable"):
            _quiet(pool, frame, ref["measure"], "MH", convention="metafor")
        return
    fit = _quiet(pool, frame, ref["measure"], "MH", convention="metafor")
    assert fit.k == ref["k.yi"] == 0
    assert (fit.estimate, fit.se, fit.ci_low, fit.ci_high) == (
        ref["b"], ref["se"], ref["ci.lb"], ref["ci.ub"]
    )  # fmt: skip
    assert fit.statistic is None
    assert fit.pval is None
    assert fit.Q == ref["QE"] == 0
    assert "CMH" not in fit.extras
    if ref["measure"] == "RR":  # metafuse's own convention pools only estimable tables
        with pytest.raises(DataError, match="no study is estimable"):
            _quiet(pool, frame, "RR", "MH")
