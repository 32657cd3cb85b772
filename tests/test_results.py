"""The result object: immutable, contract keys exactly, undefined values as None."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from metafuse import pool
from metafuse.results import RESULT_KEYS
from tests.tolerances import SAME_FORMULA


def test_to_dict_has_exactly_the_contract_keys(bcg: pd.DataFrame) -> None:
    d = pool(bcg, "RR", "REML").to_dict()
    assert list(d) == [*RESULT_KEYS, "studies", "exp"]
    assert set(d["exp"]) == {"estimate", "ci_low", "ci_high", "pi_low", "pi_high"}
    assert set(d["studies"][0]) == {"study", "yi", "sei", "weight_percent"}
    assert sum(s["weight_percent"] for s in d["studies"]) == pytest.approx(100.0)
    md = pool(bcg.assign(mean_exp=1.0, sd_exp=1.0, mean_ctrl=1.2, sd_ctrl=1.1), "MD", "FE")
    assert "exp" not in md.to_dict()


def test_result_is_immutable(bcg: pd.DataFrame) -> None:
    res = pool(bcg, "OR", "DL")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        res.options["add"] = 1.0  # type: ignore[index]


def test_fixed_effect_has_no_random_effects_quantities(bcg: pd.DataFrame) -> None:
    for method in ("FE", "EE", "MH", "PETO"):
        d = pool(bcg, "OR", method).to_dict()
        assert d["method"] == ("FE" if method == "EE" else method)
        assert d["tau2"] == 0.0
        for key in ("tau2_ci_low", "tau2_ci_high", "I2_ci_low", "I2_ci_high", "pi_low", "pi_high"):
            assert d[key] is None
        assert d["I2"] == d["I2_Q"]


def test_single_study() -> None:
    one = pd.DataFrame(
        {"study": ["A"], "events_exp": [3], "n_exp": [20], "events_ctrl": [6], "n_ctrl": [21]}
    )
    d = pool(one, "RR", "REML").to_dict()
    # log RR by hand: log((3/20) / (6/21)); var = 1/3 - 1/20 + 1/6 - 1/21
    assert d["estimate"] == pytest.approx(math.log((3 / 20) / (6 / 21)), **SAME_FORMULA)
    assert d["se"] == pytest.approx(math.sqrt(1 / 3 - 1 / 20 + 1 / 6 - 1 / 21), **SAME_FORMULA)
    assert d["k"] == 1
    assert d["Q_df"] == 0
    for key in ("Q_pval", "I2", "I2_Q", "H2", "tau2_ci_low", "pi_low"):
        assert d[key] is None
    assert d["tau2"] == 0.0
    hk = pool(one, "RR", "REML", hksj=True).to_dict()
    # HKSJ needs residual df; with one study metafor keeps the z interval, and so does metafuse
    assert hk["ci_low"] == pytest.approx(d["ci_low"])
    assert hk["estimate"] == pytest.approx(d["estimate"])


def test_prediction_interval_needs_three_studies(bcg: pd.DataFrame) -> None:
    assert pool(bcg.head(2), "RR", "DL").pi_low is None
    res = pool(bcg.head(3), "RR", "DL")
    assert res.pi_low is not None
    assert res.pi_low < res.ci_low < res.ci_high < res.pi_high


def test_summary_prints(bcg: pd.DataFrame) -> None:
    text = str(pool(bcg, "RR", "REML", hksj=True))
    assert "HKSJ" in text
    assert "t(12)" in text
    assert "prediction interval" in text


def test_notebook_niceties(bcg: pd.DataFrame) -> None:
    res = pool(bcg, "RR", "REML")
    assert res.summary() == str(res)
    assert res.conf_int() == pytest.approx((math.exp(res.ci_low), math.exp(res.ci_high)))
    lo90, hi90 = res.conf_int(0.90)
    z = 1.6448536269514722
    assert lo90 == pytest.approx(math.exp(res.estimate - z * res.se), **SAME_FORMULA)
    assert res.conf_int()[0] < lo90 < hi90 < res.conf_int()[1]
    hksj = pool(bcg, "RR", "REML", hksj=True)
    assert hksj.conf_int(0.95) == pytest.approx(hksj.conf_int(), **SAME_FORMULA)  # t(k-1) as fitted
    with pytest.raises(ValueError, match="level"):
        res.conf_int(95)
    frame = res.to_frame()
    assert list(frame.columns) == [
        "study",
        "yi",
        "sei",
        "estimate",
        "ci_low",
        "ci_high",
        "weight_percent",
        "note",
    ]
    first = res.studies[0]
    assert frame.estimate.iloc[0] == pytest.approx(math.exp(first.yi), **SAME_FORMULA)
    assert frame.ci_high.iloc[0] == pytest.approx(
        math.exp(first.yi + 1.959963984540054 * first.sei), **SAME_FORMULA
    )
    assert frame.weight_percent.sum() == pytest.approx(100)
    assert list(res.to_dict()) == [*RESULT_KEYS, "studies", "exp"]  # contract unchanged


def test_repr_html_escapes_labels(bcg: pd.DataFrame) -> None:
    data = bcg.assign(study=["<b>Aronson</b> & co", *bcg.study[1:]])
    html = pool(data, "RR", "DL")._repr_html_()
    assert "<table" in html
    assert "&lt;b&gt;Aronson&lt;/b&gt; &amp; co" in html
    assert "<b>Aronson" not in html
    assert "92.2%" in pool(bcg, "RR", "REML")._repr_html_()  # I² as the summary prints it
