"""The batch engine: pool_many equals pool row by row (ragged problems, every method); GOSH and
permutation tests against metafor."""

from __future__ import annotations

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


def test_pool_many_keeps_leading_shape_and_rejects_bad_input() -> None:
    y, v, _ = _ragged(3, m=12, k=5)
    res = pool_many(y.reshape(3, 4, 5), v.reshape(3, 4, 5), "DL")
    assert res.estimate.shape == (3, 4)
    assert len(res.to_frame()) == 12
    with pytest.raises(ValueError, match="finite"):
        pool_many(np.array([[0.1, np.nan]]), np.array([[0.1, 0.2]]))
    with pytest.raises(ValueError, match="2x2"):
        pool_many(y, v, "MH")
    with pytest.raises(ValueError, match="at least one study"):
        pool_many(y[:2], v[:2], "DL", mask=np.zeros((2, 5), dtype=bool))


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
