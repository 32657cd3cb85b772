"""Derivations named in outcomes.csv and applied at load time (on a copy of the fixture review).

The published inputs are the fixture's own records (Fairbank 2005 BMJ Table 4; Brox 2010 Ann
Rheum Dis Table 2; Froholdt 2012 abstract); the derivation inputs typed into the edited rows
(medians, t, P) are test inputs, and every expected value is the tested pure function of
metafuse.review.derivations applied to them (those functions are checked against published
examples in tests/test_medians.py and tests/test_conversions.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metafuse.review import derivations as dv
from metafuse.review.records import load_studies, validate_studies
from tests.tolerances import CLOSED_FORM

FAIR_EXP = ",138,34.0,21.1,,,,,,,ODI 0-100 (lower is better),yes,,"
FAIR_CTRL = ",146,36.1,20.6,,,,,,,ODI 0-100 (lower is better),yes,,"


def _edit(studies: Path, *pairs: tuple[str, str]) -> None:
    path = studies / "outcomes.csv"
    text = path.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")


def _errors(studies: Path) -> list[str]:
    return [str(p) for p in validate_studies(studies) if not p.warning]


def _row(studies: Path, record: str, arm: str | None = None):
    o = load_studies(studies).outcomes
    rows = o[o["record_id"] == record]
    return rows[rows["arm"] == arm].iloc[0] if arm else rows.iloc[0]


def test_median_iqr_fills_mean_and_sd(studies: Path) -> None:
    _edit(
        studies,
        (
            FAIR_EXP,
            FAIR_EXP.replace("34.0,21.1,", ",,")[:-1] + '"median_iqr(q1=20, median=30, q3=45)",',
        ),
    )
    row = _row(studies, "fairbank2005-odi-24", "exp")
    assert (row["mean"], row["sd"]) == pytest.approx(dv.median_iqr(20, 30, 45, 138), **CLOSED_FORM)
    assert bool(row["approximate"])


def test_sd_from_t_on_both_arm_rows(studies: Path) -> None:
    t = "sd_from_t(t=-0.8),"
    _edit(
        studies,
        (FAIR_EXP, FAIR_EXP.replace("21.1,", "")[:-1].replace(",,,,,,ODI", ",,,,,,,ODI") + t),
        (FAIR_CTRL, FAIR_CTRL.replace("20.6,", "")[:-1].replace(",,,,,,ODI", ",,,,,,,ODI") + t),
    )
    expected = dv.sd_from_t(34.0 - 36.1, -0.8, 138, 146)
    assert _row(studies, "fairbank2005-odi-24", "exp")["sd"] == pytest.approx(expected)
    assert _row(studies, "fairbank2005-odi-24", "ctrl")["sd"] == pytest.approx(expected)


def test_sd_from_p_named_on_one_row_only_is_an_error(studies: Path) -> None:
    _edit(studies, (FAIR_EXP, FAIR_EXP.replace(",21.1,", ",,")[:-1] + "sd_from_p(p=0.4),"))
    assert any(
        "outcomes.csv:2: derivation: sd_from_p must be named on both arm rows" in p
        for p in _errors(studies)
    )


def test_ci_from_p_of_a_contrast(studies: Path) -> None:
    old = ",MD,1.9,-7.8,11.6,exp-ctrl,ODI 0-100 (lower is better),yes,,"
    _edit(studies, (old, ",MD,1.9,,,exp-ctrl,ODI 0-100 (lower is better),yes,ci_from_p(p=0.7),"))
    row = _row(studies, "froholdt2012-odi-108")
    se = dv.se_from_p(1.9, 0.7)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(dv.ci_from_se(1.9, se), **CLOSED_FORM)


def test_sd_borrowed_from_another_trial(studies: Path) -> None:
    new = FAIR_EXP.replace(",21.1,", ",,")[:-1] + "sd_borrowed(record='brox2010-odi-48'),"
    _edit(studies, (FAIR_EXP, new))
    row = _row(studies, "fairbank2005-odi-24", "exp")
    assert row["sd"] == 20.5  # Brox 2010 Table 2, fusion arm at 4 years: 29.7±20.5
    assert bool(row["approximate"])


@pytest.mark.parametrize(
    ("derivation", "message"),
    [
        ("sd_borrowed(record='brox2010-back-48')", "is another outcome"),
        ("sd_borrowed(record='nosuch')", "no exp row of record 'nosuch'"),
        ("sd_borrowed(record='fairbank2005-odi-24', arm='ctrl')", "not the same report"),
        ("sd_borrowed(record='brox2010-odi-48', arm='both')", "no both row"),
    ],
)
def test_sd_borrowed_refuses(studies: Path, derivation: str, message: str) -> None:
    quoted = f'"{derivation}",'
    _edit(studies, (FAIR_EXP, FAIR_EXP.replace(",21.1,", ",,")[:-1] + quoted))
    assert any("outcomes.csv:2: derivation:" in p and message in p for p in _errors(studies))


def test_borrowed_sd_is_never_lent_on(studies: Path) -> None:
    lend = FAIR_EXP.replace(",21.1,", ",,")[:-1] + "sd_borrowed(record='brox2010-odi-48'),"
    brox = ",exp,61,29.7,20.5,,,,,,,ODI 0-100 (lower is better),yes,,"
    again = brox.replace(",20.5,", ",,")[:-1] + "sd_borrowed(record='fairbank2005-odi-24'),"
    _edit(studies, (FAIR_EXP, lend), (brox, again))
    assert any("is itself borrowed" in p for p in _errors(studies))


def test_count_from_percent_needs_the_stated_denominator(studies: Path) -> None:
    # the quote prints "72.9 percent of 129 patients"; 72.8 is not what the source states
    _edit(studies, ("count_from_percent(percent=72.9)", "count_from_percent(percent=72.8)"))
    assert any(
        "outcomes.csv:21: derivation: count_from_percent: the quote does not state the "
        "percentage (72.8)" in p
        for p in _errors(studies)
    )
    _edit(studies, ("count_from_percent(percent=72.8)", "count_from_percent(percent=72.9)"))
    _edit(
        studies,
        ("modified intention to treat,arm,exp,129,", "modified intention to treat,arm,exp,128,"),
    )
    assert any("does not state the denominator n (128)" in p for p in _errors(studies))
