"""The batch engine: pool_many equals pool row by row (ragged problems, every method); GOSH and
permutation tests against metafor."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from metafuse import pool, pool_many
from metafuse.measures import RANDOM_METHODS
from tests.tolerances import EXACT_SHARE, SAME_ENGINE


def _ragged(seed: int, m: int = 40, k: int = 9):
    rng = np.random.default_rng(seed)
    v = 10 ** rng.uniform(-2, 0.5, (m, k))
    y = rng.normal(0, np.sqrt(v + rng.choice([0.0, 0.05, 0.5], (m, 1))))
    sizes = rng.integers(1, k + 1, m)
    mask = np.arange(k)[None, :] < sizes[:, None]
    return y, v, mask


@pytest.mark.parametrize(
    "method", ["FE", *(m for m in RANDOM_METHODS if m not in ("GENQ", "GENQM"))]
)
@pytest.mark.parametrize("hksj", [False, True])
def test_pool_many_equals_pool_row_by_row(method: str, hksj: bool) -> None:
    y, v, mask = _ragged(11)
    many = pool_many(y, v, method, hksj, mask)
    for i in range(y.shape[0]):
        sel = mask[i]
        frame = pd.DataFrame(
            {
                "study": [f"s{j}" for j in range(sel.sum())],
                "yi": y[i, sel],
                "sei": np.sqrt(v[i, sel]),
            }
        )
        one = pool(frame, "GEN", method, hksj)
        for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "Q", "I2", "pval"):
            expected = getattr(one, key)
            got = float(many[key][i])
            if expected is None:
                assert np.isnan(got), (method, key, i)
            else:
                assert got == pytest.approx(expected, **SAME_ENGINE), (method, key, i)
        assert many.k[i] == sel.sum()


@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_pool_many_unweighted_and_other_level(method: str) -> None:
    """weighted=False (metafor's unweighted mean) and level=0.9, with and without HKSJ."""
    y, v, mask = _ragged(7, m=15, k=6)
    for hksj in (False, True):
        many = pool_many(y, v, method, hksj, mask, level=0.9, weighted=False)
        for i in range(y.shape[0]):
            sel = mask[i]
            frame = pd.DataFrame(
                {"study": [f"s{j}" for j in range(sel.sum())], "yi": y[i, sel],
                 "sei": np.sqrt(v[i, sel])}
            )  # fmt: skip
            one = pool(frame, "GEN", method, hksj, level=0.9, weighted=False)
            for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
                assert float(many[key][i]) == pytest.approx(getattr(one, key), **SAME_ENGINE), key


def test_pool_many_keeps_leading_shape() -> None:
    y, v, _ = _ragged(3, m=12, k=5)
    res = pool_many(y.reshape(3, 4, 5), v.reshape(3, 4, 5), "DL")
    assert res.estimate.shape == (3, 4)
    assert len(res.to_frame()) == 12
    one = pool_many(y[0], v[0], "REML")  # a single meta-analysis: 0-d results
    assert one.estimate.shape == ()
    assert float(one.tau2) == pytest.approx(float(pool_many(y[:1], v[:1], "REML").tau2[0]))


def test_pool_many_ignores_whatever_lies_outside_the_mask() -> None:
    y, v, mask = _ragged(5, m=8, k=6)
    padded_y = np.where(mask, y, np.nan)
    padded_v = np.where(mask, v, -1.0)
    a = pool_many(padded_y, padded_v, "REML", mask=mask)
    b = pool_many(y, v, "REML", mask=mask)
    assert np.array_equal(a.tau2, b.tau2)
    assert np.array_equal(a.estimate, b.estimate)


_Y = np.array([[0.1, 0.3, -0.2], [0.0, 0.5, 0.2]])
_V = np.array([[0.04, 0.09, 0.05], [0.02, 0.03, 0.1]])

#: (arguments, a fragment of the message): every one a ValueError, never a numpy error or warning.
BAD_CALLS = {
    "shapes differ": (dict(yi=_Y, vi=_V[:, :2]), "same shape"),
    "scalar": (dict(yi=0.1, vi=0.04), "same shape"),
    "no studies": (dict(yi=np.zeros((2, 0)), vi=np.zeros((2, 0))), "no meta-analysis"),
    "no meta-analyses": (dict(yi=np.zeros((0, 3)), vi=np.zeros((0, 3))), "no meta-analysis"),
    "ragged lists": (dict(yi=[[0.1, 0.2], [0.3]], vi=[[0.1, 0.2], [0.3]]), "rectangular"),
    "text": (dict(yi=[["0.1", "0.2"]], vi=[[0.1, 0.2]]), "not text"),
    "None": (dict(yi=[[0.1, None]], vi=[[0.1, 0.2]]), "numbers only"),
    "booleans": (dict(yi=_Y, vi=_V > 0), "not booleans"),
    "complex": (dict(yi=_Y + 1j, vi=_V), "not complex"),
    "mask shape": (dict(yi=_Y, vi=_V, mask=np.ones((3, 3), dtype=bool)), "does not fit"),
    "mask text": (dict(yi=_Y, vi=_V, mask=[["yes", "no", "yes"]] * 2), "mask must hold"),
    "mask not 0/1": (dict(yi=_Y, vi=_V, mask=np.full((2, 3), 2)), "mask must hold"),
    "empty mask row": (dict(yi=_Y, vi=_V, mask=[[True] * 3, [False] * 3]), "(1,) has none"),
    "unknown method": (dict(yi=_Y, vi=_V, method="XYZ"), "unknown method"),
    "method not text": (dict(yi=_Y, vi=_V, method=3), "method must be"),
    "table method": (dict(yi=_Y, vi=_V, method="MH"), "2x2"),
    "user weights": (dict(yi=_Y, vi=_V, method="GENQ"), "user weights"),
    "hksj text": (dict(yi=_Y, vi=_V, hksj="no"), "hksj must be"),
    "weighted text": (dict(yi=_Y, vi=_V, weighted="no"), "weighted must be"),
    "level": (dict(yi=_Y, vi=_V, level=150), "level"),
    "nan effect": (dict(yi=np.where(_Y > 0.4, np.nan, _Y), vi=_V), "(1, 1)"),
    "infinite variance": (dict(yi=_Y, vi=np.where(_V > 0.09, np.inf, _V)), "(1, 2)"),
    "zero variance": (dict(yi=_Y, vi=np.where(_V > 0.09, 0.0, _V)), "vi > 0"),
    "negative variance": (dict(yi=_Y, vi=-_V), "vi > 0"),
    "subnormal variance": (dict(yi=_Y, vi=np.where(_V > 0.09, 5e-324, _V)), "subnormal"),
    "tiny variance": (dict(yi=_Y, vi=np.where(_V > 0.09, 1e-300, _V)), "1e-300 at (1, 2)"),
    "overflowing variance": (dict(yi=_Y, vi=np.where(_V > 0.09, 1e300, _V)), "between"),
    "overflowing effect": (dict(yi=np.where(_Y > 0.4, 1e300, _Y), vi=_V), "yi must lie"),
}


@pytest.mark.parametrize("case", BAD_CALLS, ids=str)
def test_pool_many_refuses_bad_input_with_one_clear_message(case: str) -> None:
    import warnings

    kwargs, fragment = BAD_CALLS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=re.escape(fragment)) as caught:
            pool_many(**kwargs)
    assert type(caught.value) is ValueError


def _extra(prefix: str) -> list[dict]:
    import json

    from tests.conftest import ROOT

    cases = json.loads((ROOT / "tests" / "reference" / "metafor_extra.json").read_text())["cases"]
    return [c for c in cases if c["id"].startswith(prefix)]


def _bcg_frame(data: dict) -> pd.DataFrame:
    d = pd.DataFrame(data)
    return pd.DataFrame(
        {
            "study": d["author"].astype(str) + " " + d["year"].astype(str),
            "events_exp": d["tpos"],
            "n_exp": d["tpos"] + d["tneg"],
            "events_ctrl": d["cpos"],
            "n_ctrl": d["cpos"] + d["cneg"],
            "ablat": d["ablat"],
        }
    )


def test_gosh_matches_metafor_on_every_subset() -> None:
    """metafor 3.8.1 gosh() on dat.bcg, FE: all 8,191 subsets (metafor_extra.json, E18)."""
    from metafuse.toolbox.gosh import gosh

    case = _extra("E18")[0]["results"]
    frame = pd.DataFrame(
        {"study": [f"s{i}" for i in range(13)], "yi": case["yi"], "sei": np.sqrt(case["vi"])}
    )
    found = gosh(pool(frame, "GEN", "FE"))
    codes = (found.subsets * (1 << np.arange(13))).sum(axis=1)
    expected = {
        c: (e, i2, q)
        for c, e, i2, q in zip(case["subset"], case["estimate"], case["I2"], case["Q"], strict=True)
    }
    assert len(codes) == case["n_subsets"] == len(set(codes))
    for code, est, i2, q in zip(codes, found.estimate, found.I2, found.Q, strict=True):
        assert (est, i2, q) == pytest.approx(expected[code], **SAME_ENGINE)
    table = found.to_frame()
    assert {"estimate", "I2", "k", "subset"} <= set(table.columns)


@pytest.mark.parametrize("case", _extra("E17"), ids=lambda c: c["id"])
def test_permutation_test_matches_metafor(case: dict) -> None:
    """metafor 3.8.1 permutest(exact = TRUE) (metafor_extra.json, E17): the exact P values."""
    from metafuse.toolbox.permutation import permutation_test

    frame = _bcg_frame(case["data"])
    method = case["id"].split("/")[2]
    mods = ["ablat"] if case["id"].endswith("ablat") else []
    found = permutation_test(pool(frame, "RR", method), moderators=mods, covariates=frame)
    expected = case["results"]
    assert found.exact
    assert found.permutations == expected["n_perm"]
    assert list(found.pval) == pytest.approx(
        np.atleast_1d(expected["pval"]).tolist(), **EXACT_SHARE
    )
    assert found.QM_pval == pytest.approx(expected["QMp"], **EXACT_SHARE)
