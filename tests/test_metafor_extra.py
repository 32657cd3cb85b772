"""Features beyond the core, each pinned to metafor 3.8.1 output from the committed reference
script tests/reference/run_metafor_extra.R (tests/reference/metafor_extra.json): interval level,
prediction intervals, SE and profile-likelihood CI of tau^2, BLUPs, unweighted pooling, user
weights, meta-regression predictions, covariance, influence and cluster-robust inference,
Henmi-Copas, the newer estimators and estimators with moderators."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metafuse import pool
from metafuse.toolbox.inference import blup, henmi_copas, ranef, tau2_confint
from metafuse.toolbox.metareg import meta_regression
from tests.conftest import ROOT
from tests.tolerances import CLOSED_FORM, HENMI_COPAS_LIMITS, ITERATIVE, SAME_FORMULA, printed

CASES = json.loads((ROOT / "tests" / "reference" / "metafor_extra.json").read_text())["cases"]


def cases(prefix: str) -> list[dict[str, Any]]:
    return [c for c in CASES if c["id"].startswith(prefix) and c.get("results")]


def frame(case: dict[str, Any], **extra: Any) -> pd.DataFrame:
    r = case["results"]
    out = pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(r["yi"]))], "yi": r["yi"], "sei": np.sqrt(r["vi"])}
    )
    for name, values in extra.items():
        out[name] = values
    return out


def fitted(case: dict[str, Any], **options: Any):
    m = case["results"]["model"]
    return pool(
        frame(case),
        "GEN",
        m["method"].upper(),
        m["test"] == "knha",
        level=m["level"] / 100,
        **options,
    )


def check_model(result, model: dict[str, Any]) -> None:
    assert result.estimate == pytest.approx(model["b"], **ITERATIVE)
    assert result.se == pytest.approx(model["se"], **ITERATIVE)
    assert result.ci_low == pytest.approx(model["ci.lb"], **ITERATIVE)
    assert result.ci_high == pytest.approx(model["ci.ub"], **ITERATIVE)
    assert result.tau2 == pytest.approx(model["tau2"], **ITERATIVE)


@pytest.mark.parametrize("case", cases("A01") + cases("A02"), ids=lambda c: c["id"])
def test_level_and_prediction_intervals(case: dict[str, Any]) -> None:
    """metafor's default PI is normal-based (test z) or t(k - 1) (knha); pi.type = "riley" is
    t(k - 2), metafuse's default."""
    m = case["results"]["model"]
    kind = "t(k-1)" if m["test"] == "knha" else "z"
    res = fitted(case, prediction=kind)
    check_model(res, m)
    pred = case["results"]["predict"]
    assert (res.pi_low, res.pi_high) == pytest.approx((pred["pi.lb"], pred["pi.ub"]), **ITERATIVE)
    if "predict_riley" in case["results"]:
        riley = fitted(case, prediction="t(k-2)")
        r = case["results"]["predict_riley"]
        assert (riley.pi_low, riley.pi_high) == pytest.approx((r["pi.lb"], r["pi.ub"]), **ITERATIVE)
    if "confint" in case["results"]:
        ci = case["results"]["confint"]["tau2"]
        assert res.tau2_ci_low == pytest.approx(ci[1], **ITERATIVE)
        if ci[2] == pytest.approx(max(100.0, 10 * ci[0])):
            # metafor stops its search at tau2.max = max(100, 10 tau2) and prints ">2054.0938";
            # with control = list(tau2.max = 1e5) it prints 2287.7969, the limit itself
            assert res.tau2_ci_high == pytest.approx(2287.7969, **printed(4))
        else:
            assert res.tau2_ci_high == pytest.approx(ci[2], **ITERATIVE)


@pytest.mark.parametrize("case", cases("A03"), ids=lambda c: c["id"])
def test_standard_error_of_tau2(case: dict[str, Any]) -> None:
    m = case["results"]["model"]
    options: dict[str, Any] = {}
    if m["method"] == "GENQ":
        w = 1 / np.asarray(case["results"]["vi"])
        options = {"weights": w, "tau2_options": {"weights": w}}
    res = pool(frame(case), "GEN", m["method"].upper(), **options)
    assert res.tau2_se == pytest.approx(m["se.tau2"], **ITERATIVE)


@pytest.mark.parametrize("case", cases("A04"), ids=lambda c: c["id"])
def test_profile_likelihood_and_q_profile_intervals(case: dict[str, Any]) -> None:
    res = fitted(case)
    for kind, key in (("PL", "confint_PL"), ("QP", "confint_QP")):
        ci = tau2_confint(res, kind)
        expected = case["results"][key]
        for name in ("tau2", "tau", "I2", "H2"):
            assert getattr(ci, name) == pytest.approx(expected[name], **ITERATIVE)


@pytest.mark.parametrize("case", cases("A05"), ids=lambda c: c["id"])
def test_blups_and_random_effects(case: dict[str, Any]) -> None:
    res = fitted(case)
    for fn, key in ((blup, "blup"), (ranef, "ranef")):
        got, expected = fn(res), case["results"][key]
        for ours, theirs in (
            ("pred", "pred"),
            ("se", "se"),
            ("pi_low", "pi.lb"),
            ("pi_high", "pi.ub"),
        ):
            assert getattr(got, ours) == pytest.approx(expected[theirs], **ITERATIVE)


@pytest.mark.parametrize("case", cases("A06"), ids=lambda c: c["id"])
def test_unweighted_pooling(case: dict[str, Any]) -> None:
    check_model(fitted(case, weighted=False), case["results"]["model"])


@pytest.mark.parametrize("case", cases("A07-metareg"), ids=lambda c: c["id"])
def test_meta_regression_predictions_covariance_ci_and_influence(case: dict[str, Any]) -> None:
    r = case["results"]
    knha = r["model"]["test"] == "knha"
    fit = meta_regression(
        frame(case, ablat=case["data"]["ablat"]), "GEN", "REML", ["ablat"], hksj=knha
    )
    assert fit.fit.coef == pytest.approx(r["model"]["b"], **ITERATIVE)
    assert fit.fit.vcov == pytest.approx(np.asarray(r["vcov"]["matrix"]), **ITERATIVE)
    pred = fit.predict(r["newmods"])
    for ours, theirs in (
        ("pred", "pred"),
        ("se", "se"),
        ("ci_low", "ci.lb"),
        ("ci_high", "ci.ub"),
        ("pi_low", "pi.lb"),
        ("pi_high", "pi.ub"),
    ):
        assert pred[ours].to_numpy() == pytest.approx(r["predict"][theirs], **ITERATIVE)
    ci = fit.tau2_confint()
    for name in ("tau2", "tau", "I2", "H2"):
        assert getattr(ci, name) == pytest.approx(r["confint"][name], **ITERATIVE)
    inf = fit.influence().to_frame()
    for ours, theirs in (
        ("rstudent", "rstudent"),
        ("dffits", "dffits"),
        ("cook_d", "cook.d"),
        ("cov_r", "cov.r"),
        ("tau2_del", "tau2.del"),
        ("QE_del", "QE.del"),
        ("hat", "hat"),
        ("weight", "weight"),
    ):
        assert inf[ours].to_numpy() == pytest.approx(r["influence"][theirs], **ITERATIVE)
    for coef, theirs in (("intercept", "intrcpt"), ("ablat", "ablat")):
        assert inf[f"dfbs_{coef}"].to_numpy() == pytest.approx(
            r["influence"]["dfbs"][theirs], **ITERATIVE
        )


@pytest.mark.parametrize("case", cases("A07-robust"), ids=lambda c: c["id"])
def test_cluster_robust_inference(case: dict[str, Any]) -> None:
    r, data = case["results"], case["data"]
    konst = "konstantopoulos" in case["id"]
    yi = data["yi"] if konst else r["yi"]
    vi = data["vi"] if konst else r["vi"]
    rows = pd.DataFrame({"study": [f"s{i}" for i in range(len(yi))], "yi": yi, "sei": np.sqrt(vi)})
    cluster = data["district"] if konst else data["alloc"]
    mods = [] if case["id"].split("/")[2] == "intercept" else (["year"] if konst else ["ablat"])
    for mod in mods:
        rows[mod] = data[mod]
    adjust = case["id"].endswith("TRUE")
    rb = r["robust"]
    if mods:
        found = meta_regression(rows, "GEN", "REML", mods).robust(cluster, adjust)
        qm = found.to_dict()
        assert qm["QM"] == pytest.approx(rb["QM"], **ITERATIVE)
        assert qm["QM_pval"] == pytest.approx(rb["QMp"], **ITERATIVE)
    else:
        from metafuse.toolbox.metareg import intercept_regression

        found = intercept_regression(pool(rows, "GEN", "REML")).robust(cluster, adjust)
    assert found.se == pytest.approx(np.atleast_1d(rb["se"]).tolist(), **ITERATIVE)
    assert found.pval == pytest.approx(np.atleast_1d(rb["pval"]).tolist(), **ITERATIVE)
    assert found.ci_low == pytest.approx(np.atleast_1d(rb["ci.lb"]).tolist(), **ITERATIVE)
    assert found.df == rb["dfs"]


@pytest.mark.parametrize("case", cases("A09"), ids=lambda c: c["id"])
def test_henmi_copas(case: dict[str, Any]) -> None:
    hc = henmi_copas(pool(frame(case), "GEN", "REML"))
    expected = case["results"]["hc"]
    assert (hc.estimate, hc.se, hc.tau2) == pytest.approx(
        (expected["b"], expected["se"], expected["tau2"]), **ITERATIVE
    )
    assert (hc.ci_low, hc.ci_high) == pytest.approx(
        (expected["ci.lb"], expected["ci.ub"]), **HENMI_COPAS_LIMITS
    )


@pytest.mark.parametrize("case", cases("C13"), ids=lambda c: c["id"])
def test_newer_estimators(case: dict[str, Any]) -> None:
    r = case["results"]
    name = case["id"].split("/")[2]
    options: dict[str, Any] = {}
    method, model = name.upper(), r["model"]
    if name in ("GENQ", "GENQM"):
        d = case["data"]
        w = (
            1 / np.asarray(r["vi"])
            if case["id"].endswith("1_vi")
            else np.asarray(d["tpos"]) + d["tneg"] + d["cpos"] + d["cneg"]
            if "tpos" in d
            else np.asarray(d["n1i"]) + d["n2i"]
        )
        options = {"weights": w, "tau2_options": {"weights": w}}
    elif name == "SJ" and "tau2.init" in case["id"]:
        start = case["id"].split("=")[1]
        value = pool(frame(case), "GEN", "DL").tau2 if start == "DL" else float(start)
        options = {"tau2_options": {"start": value}}
    elif name in ("DL2", "CA2"):
        model = r["model_iv"]
    check_model(pool(frame(case), "GEN", method, **options), model)


@pytest.mark.parametrize("case", cases("C14"), ids=lambda c: c["id"])
def test_estimators_with_moderators(case: dict[str, Any]) -> None:
    r, d = case["results"], case["data"]
    method = case["id"].split("/")[3].upper()
    moderator = case["id"].split("/")[2]
    options: dict[str, Any] = {}
    if method == "GENQ":
        w = 1 / np.asarray(r["vi"])
        options = {"tau2_options": {"weights": w}, "weights": w}
    fit = meta_regression(
        frame(case, **{moderator: d[moderator]}), "GEN", method, [moderator], **options
    )
    assert fit.fit.tau2 == pytest.approx(r["model"]["tau2"], **ITERATIVE)
    assert fit.fit.coef == pytest.approx(r["model"]["b"], **ITERATIVE)
    assert fit.fit.se == pytest.approx(r["model"]["se"], **ITERATIVE)


def _regtest_frame(case: dict[str, Any]) -> pd.DataFrame:
    r = case["results"]
    out = pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(r["yi"]))], "yi": r["yi"], "sei": np.sqrt(r["vi"])}
    )
    return out


@pytest.mark.parametrize("case", cases("D15"), ids=lambda c: c["id"])
def test_regression_test_variants(case: dict[str, Any]) -> None:
    """regtest(model = "rma" | "lm", predictor = "sei" | "vi" | "ninv" | "sqrtninv")."""
    from metafuse.toolbox.bias import regression_test

    _, _, model, predictor = case["id"].split("/")
    r = case["results"]
    fit = pool(_regtest_frame(case), "GEN", "REML")
    # ninv/sqrtninv: the total sample sizes metafor used (n1i + n2i)
    out = regression_test(fit, model=model, predictor=predictor, sample_sizes=r.get("ni"))
    tol = ITERATIVE if model == "rma" else CLOSED_FORM
    assert out.statistic == pytest.approx(r["zval"], **tol)
    assert out.pval == pytest.approx(r["pval"], **tol)
    assert out.est == pytest.approx(r["est"], **tol)
    assert out.ci_low == pytest.approx(r["ci.lb"], **tol)
    assert out.ci_high == pytest.approx(r["ci.ub"], **tol)
    assert out.df == r["dfs"]


@pytest.mark.parametrize("case", cases("D16"), ids=lambda c: c["id"])
def test_trim_and_fill_estimators_and_sides(case: dict[str, Any]) -> None:
    """trimfill(estimator = "L0" | "R0", side = auto | left | right): k0, its SE, p.k0 (R0) and
    the filled model."""
    from metafuse.toolbox.trimfill import trim_and_fill

    _, _, method, estimator, side = case["id"].split("/")
    r = case["results"]
    fit = pool(_regtest_frame(case), "GEN", method)
    tf = trim_and_fill(fit, estimator=estimator, side=None if side == "auto" else side)
    assert tf.k0 == r["k0"]
    assert tf.side == r["side"]
    if r["se.k0"] is None:  # metafor: NaN (the variance formula is negative)
        assert math.isnan(tf.se_k0)
    else:
        assert tf.se_k0 == pytest.approx(r["se.k0"], **CLOSED_FORM)
    assert tf.p_k0 == (None if r["p.k0"] is None else pytest.approx(r["p.k0"], **SAME_FORMULA))
    filled = r["filled"]
    tol = ITERATIVE if method == "REML" else CLOSED_FORM
    assert tf.result.k == filled["k"]
    assert tf.result.estimate == pytest.approx(filled["b"], **tol)
    assert tf.result.se == pytest.approx(filled["se"], **tol)
    assert tf.result.tau2 == pytest.approx(filled["tau2"], **tol)
