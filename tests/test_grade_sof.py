"""GRADE rules, absolute effects, summary-of-findings rendering, manifest and verify."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from metafuse import pool
from metafuse.exceptions import SpecError
from metafuse.pipeline.spec import read_spec
from metafuse.review.grade import (
    StudyInfo,
    assess,
    optimal_information_size_binary,
    optimal_information_size_continuous,
)
from metafuse.review.records import load_studies
from metafuse.review.selection import select
from metafuse.review.sof import absolute_binary, mean_difference_text
from tests.conftest import FIXTURE_REVIEW


def test_optimal_information_size_by_hand() -> None:
    # control risk 0.20, RRR 25% -> 0.15; z = 1.959964 + 0.841621 = 2.801585, z^2 = 7.848879
    # per group = 7.848879 * (0.2*0.8 + 0.15*0.85) / 0.05^2 = 902.62 -> 903; total 1806
    assert optimal_information_size_binary(0.20) == 1806
    # SD 20, difference 10: per group = 2 * 7.848879 * 400 / 100 = 62.79 -> 63; total 126
    assert optimal_information_size_continuous(20, 10) == 126


def test_absolute_effects_by_hand() -> None:
    # ACR 200 per 1000, RR 0.5 (0.25 to 1.0): 100 per 1000; 100 fewer (150 fewer to 0 fewer)
    risk, diff = absolute_binary(0.2, 0.5, 0.25, 1.0)
    assert risk == "100 per 1000"
    assert diff == "100 fewer per 1000 (from 150 fewer to 0 fewer)"
    assert mean_difference_text(-2.1, -6.95, 2.75) == "MD 2.10 lower (6.95 lower to 2.75 higher)"


def _result(yi, sei):
    return pool(
        pd.DataFrame({"study": [f"s{i}" for i in range(len(yi))], "yi": yi, "sei": sei}),
        "GEN",
        "DL",
    )


def _infos(result, rob="low"):
    return [StudyInfo(s.study, s.weight_percent, rob, 100.0) for s in result.studies]


def test_rules_and_levels() -> None:
    precise = _result([-5.0, -5.2, -4.8], [0.5, 0.5, 0.5])
    c = assess(precise, _infos(precise), ratio=False)
    assert c.level == "high"
    assert c.label() == "⊕⊕⊕⊕ HIGH"
    c = assess(precise, _infos(precise, "high"), ratio=False)
    assert c.domains[0].rating == "very serious"
    assert c.level == "low"
    vague = _result([-5.0, 6.0, 0.5], [2.0, 2.0, 2.0])
    c = assess(vague, _infos(vague), ratio=False, mid=1.0)
    assert c.domains[1].rating == "very serious"  # I^2 >= 75% with Q p < 0.10
    assert c.domains[3].rating == "very serious"  # CI beyond +/- MID on both sides
    assert c.level == "very low"
    over = assess(
        vague,
        _infos(vague),
        ratio=False,
        overrides={"inconsistency": ("serious", "differences explained by the populations")},
    )
    dom = over.domains[1]
    assert (dom.rating, dom.judged, dom.suggested) == ("serious", True, "very serious")


@pytest.mark.parametrize(
    ("grade", "key"),
    [
        ("mid = 10\n", "mid_source"),
        ('indirectness = { rating = "serious" }\n', "indirectness"),
        ('overrides.imprecision = { rating = "awful", reason = "x" }\n', "imprecision"),
        ('overrides.colour = { rating = "serious", reason = "x" }\n', "colour"),
        ("assumed_risk = 1.5\nassumed_risk_source = 'x'\n", "assumed_risk"),
    ],
)
def test_grade_spec_errors(tmp_path: Path, grade: str, key: str) -> None:
    spec = tmp_path / "analyses" / "x.toml"
    spec.parent.mkdir()
    spec.write_text(
        f'studies = "studies"\ncomparison = "A"\noutcome = "odi"\nwindow = "2y"\n[grade]\n{grade}',
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match=key):
        read_spec(spec, tmp_path)


def test_overlapping_reports_are_not_double_counted() -> None:
    """Brox 2003 and 2006 are merged in Froholdt 2012: the longest follow-up uses the merged
    report only (trials.csv column includes)."""
    data = select(load_studies(FIXTURE_REVIEW / "studies"), "B", "odi", "longest")
    assert data.labels == ["Fairbank 2005", "Froholdt 2012"]
