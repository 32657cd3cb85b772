"""Bad input gives a DataError naming row and column; rows without data are excluded loudly."""

from __future__ import annotations

import pandas as pd
import pytest

from metafuse import DataError, DuplicateLabelWarning, ExcludedStudyWarning, pool

GOOD = {
    "study": ["A", "B"],
    "events_exp": [2, 3],
    "n_exp": [10, 12],
    "events_ctrl": [4, 5],
    "n_ctrl": [11, 13],
}
CONT = {
    "study": ["A", "B"],
    "mean_exp": [1.0, 2.0],
    "sd_exp": [1.0, 1.5],
    "n_exp": [10, 12],
    "mean_ctrl": [1.5, 2.5],
    "sd_ctrl": [1.1, 1.2],
    "n_ctrl": [11, 13],
}


def frame(base: dict, **changes) -> pd.DataFrame:
    data = {k: list(v) for k, v in base.items()}
    for key, (row, value) in changes.items():
        data[key][row] = value
    return pd.DataFrame(data)


@pytest.mark.parametrize(
    ("changes", "column", "text"),
    [
        ({"events_exp": (1, 13)}, "events_exp", "exceeds n_exp"),
        ({"events_ctrl": (0, -1)}, "events_ctrl", ">= 0"),
        ({"n_exp": (1, 0)}, "n_exp", "> 0"),
        ({"n_exp": (1, "twelve")}, "n_exp", "not a number"),
        ({"events_exp": (0, 2.5)}, "events_exp", "whole number"),
        ({"events_ctrl": (1, None)}, "events_ctrl", "missing value"),
        ({"n_ctrl": (0, float("inf"))}, "n_ctrl", "finite"),
        ({"study": (1, None)}, "study", "missing study label"),
    ],
)
def test_binary_errors_name_row_and_column(changes: dict, column: str, text: str) -> None:
    with pytest.raises(DataError) as info:
        pool(frame(GOOD, **changes), "RR")
    err = info.value
    assert err.column == column
    assert err.row == next(iter(changes.values()))[0]
    assert text in str(err)
    assert str(err).startswith(f"row {err.row + 1}")


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"sd_exp": (0, 0.0)}, "sd_exp"),
        ({"sd_ctrl": (1, -2.0)}, "sd_ctrl"),
        ({"n_ctrl": (0, -3)}, "n_ctrl"),
        ({"mean_exp": (1, "1,5")}, "mean_exp"),
    ],
)
def test_continuous_errors(changes: dict, column: str) -> None:
    with pytest.raises(DataError) as info:
        pool(frame(CONT, **changes), "MD")
    assert info.value.column == column


def test_missing_column_is_named() -> None:
    with pytest.raises(DataError, match="n_ctrl"):
        pool(pd.DataFrame({k: v for k, v in GOOD.items() if k != "n_ctrl"}), "OR")
    with pytest.raises(DataError, match="study"):
        pool(pd.DataFrame({k: v for k, v in GOOD.items() if k != "study"}), "OR")


def test_row_without_data_is_excluded_with_a_warning() -> None:
    data = frame(GOOD)
    data.loc[2] = ["C", None, None, None, None]
    with pytest.warns(ExcludedStudyWarning, match="'C'"):
        res = pool(data, "RR", "FE")
    assert res.k == 2
    assert res.excluded == (("C", "no data"),)
    assert [s.study for s in res.studies] == ["A", "B"]


def test_double_zero_study_is_reported_not_silently_dropped() -> None:
    data = frame(GOOD)
    data.loc[2] = ["Z", 0, 10, 0, 10]
    with pytest.warns(ExcludedStudyWarning, match="'Z'"):
        res = pool(data, "OR", "DL")
    assert res.k == 2
    z = res.to_dict()["studies"][2]
    assert z == {"study": "Z", "yi": None, "sei": None, "weight_percent": 0.0}
    rd = pool(data, "RD", "DL")  # kept for the risk difference
    assert rd.k == 3


def test_generic_inputs() -> None:
    se = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2], "sei": [0.2, 0.1, 0.3]})
    assert pool(se, "GEN", "FE").k == 3
    with pytest.raises(DataError, match="sei"):
        pool(se.assign(sei=[0.2, 0.0, 0.3]), "GEN")
    ci = pd.DataFrame(
        {"study": ["a", "b"], "estimate": [0.8, 1.2], "ci_low": [0.5, 0.9], "ci_high": [1.3, 1.6]}
    )
    assert pool(ci, "GEN", "FE", ratio=True).k == 2
    with pytest.raises(DataError, match="outside its CI"):
        pool(ci.assign(estimate=[0.4, 1.2]), "GEN", ratio=True)
    with pytest.raises(DataError, match="ratio must be > 0"):
        pool(ci.assign(ci_low=[-0.5, 0.9]), "GEN", ratio=True)
    with pytest.raises(DataError, match="yi"):
        pool(pd.DataFrame({"study": ["a"], "x": [1]}), "GEN")
    with pytest.raises(DataError, match="square root of vi"):  # metafor's yi/vi: says what to give
        pool(se.drop(columns="sei").assign(vi=[0.04, 0.01, 0.09]), "GEN")


def test_unknown_measure_method_and_options() -> None:
    with pytest.raises(ValueError, match="unknown measure"):
        pool(frame(GOOD), "HR")
    with pytest.raises(ValueError, match="unknown method"):
        pool(frame(GOOD), "RR", "XYZ")
    with pytest.raises(ValueError, match="PETO pools only OR"):
        pool(frame(GOOD), "RR", "PETO")
    with pytest.raises(ValueError, match="HKSJ"):
        pool(frame(GOOD), "RR", "MH", hksj=True)


def test_input_frame_is_not_modified() -> None:
    data = frame(GOOD)
    before = data.copy()
    pool(data, "RR")
    pd.testing.assert_frame_equal(data, before)


def test_duplicate_labels_pool_with_a_warning_and_unique_labels() -> None:
    """Two trials by one author in one year (as published datasets have) are both pooled."""
    data = frame(GOOD)
    data.loc[1, "study"] = data.loc[0, "study"]
    with pytest.warns(DuplicateLabelWarning, match="duplicate study labels"):
        res = pool(data, "OR", "DL")
    labels = [s.study for s in res.studies]
    assert len(set(labels)) == len(labels) == res.k
    assert labels[0] != labels[1]
    assert labels[0].startswith(str(data.loc[0, "study"]))
