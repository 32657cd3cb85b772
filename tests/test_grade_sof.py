"""GRADE rules (imprecision by thresholds, GRADE guidance 34/35 and Core GRADE 2; the other
domains), absolute effects and the SoF table model, against hand calculations."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from metafuse import pool
from metafuse.exceptions import SpecError
from metafuse.pipeline.spec import read_spec
from metafuse.review.grade import StudyInfo, assess
from metafuse.review.imprecision import (
    Effect,
    InformationSize,
    absolute_per_1000,
    optimal_information_size_binary,
    optimal_information_size_continuous,
    rate_2011,
    rate_2022,
)
from metafuse.review.records import load_studies
from metafuse.review.selection import select
from metafuse.review.sof import Footnotes, footnote_label, mean_difference_text
from metafuse.review.statements import informative_statement
from tests.conftest import FIXTURE_REVIEW

BIG = InformationSize(10_000, 100, "hand")  # OIS met


def test_optimal_information_size_by_hand() -> None:
    # Core GRADE 2, appendix 5 (pancreatitis, ICU admission): control 12%, RRR 25% (9%), alpha
    # 0.05, power 80%: "The OIS using these assumptions would be a total of 3406 (1703 in each arm)"
    assert optimal_information_size_binary(0.12) == 3406
    # by hand (Fleiss with continuity correction, z 1.96 and 0.84 as OpenEpi prints them):
    # p1 0.2, p2 0.15, mean 0.175: (1.96*sqrt(2*.175*.825) + 0.84*sqrt(.16+.1275))^2 / .05^2
    # = (1.053216 + 0.450400)^2 / 0.0025 = 904.34; corrected 904.34/4 * (1 + sqrt(1 + 4 /
    # (904.34*0.05)))^2 = 943.92 -> 944 per group; total 1888 (KCE: "approximately 2 000")
    assert optimal_information_size_binary(0.20) == 1888
    # SD 20, difference 10: per group = 2 * 2.8^2 * 400 / 100 = 62.72 -> 63; total 126
    assert optimal_information_size_continuous(20, 10) == 126


def test_absolute_effects_by_hand() -> None:
    # ACR 200 per 1000: RR 0.5 -> 100 per 1000, 100 fewer
    assert absolute_per_1000("RR", 0.2, 0.5) == pytest.approx(-100)
    # OR 0.5 at 0.2: odds 0.25 -> 0.125, risk 0.125/1.125 = 0.1111 -> 88.9 fewer
    assert absolute_per_1000("OR", 0.2, 0.5) == pytest.approx(1000 * (0.125 / 1.125 - 0.2))
    assert absolute_per_1000("RD", 0.2, -0.05) == pytest.approx(-50)
    # bounded: RR 6 at 0.3 would be 1800 per 1000; the risk stops at 1000 -> 700 more
    assert absolute_per_1000("RR", 0.3, 6.0) == pytest.approx(700)
    assert mean_difference_text(-2.1, -6.95, 2.75) == "MD 2.10 lower (6.95 lower to 2.75 higher)"


def md(est: float, lo: float, hi: float) -> Effect:
    return Effect(est, lo, hi, unit="points", better="lower")


@pytest.mark.parametrize(
    ("effect", "levels", "target"),
    [
        # the cases (MID 10): inside +/-MID -> precise little or no difference
        (md(-0.7, -4.3, 2.9), 0, "little or no difference"),
        # crosses one threshold (-10): serious, though it excludes no effect
        (md(-7.0, -12.0, -2.0), 1, "little or no difference"),
        # beyond the MID with the whole CI: not serious, an important benefit
        (md(-15.0, -20.0, -11.0), 0, "an important benefit"),
        # crosses both thresholds (important benefit and important harm): very serious
        (md(-5.0, -25.0, 15.0), 2, "little or no difference"),
        # an important harm (lower is better), CI crossing +10
        (md(12.0, 5.0, 19.0), 1, "an important harm"),
    ],
)
def test_imprecision_by_thresholds(effect: Effect, levels: int, target: str) -> None:
    rated = rate_2022(effect, 10.0, BIG)
    assert (rated.levels, rated.target) == (levels, target)


def test_imprecision_binary_on_the_absolute_scale() -> None:
    # ACR 200 per 1000, RR 0.9 (0.8 to 1.05): -20 (-40 to +10) per 1000; MID 50 -> inside
    acr = 0.2
    values = [absolute_per_1000("RR", acr, r) for r in (0.9, 0.8, 1.05)]
    effect = Effect(*values, unit="per 1000", better="lower")
    assert rate_2022(effect, 50.0, BIG).levels == 0
    # the same CI with a MID of 30 crosses -30: serious
    assert rate_2022(effect, 30.0, BIG).levels == 1
    # no MID declared: the threshold is no effect, which the CI crosses
    no_mid = rate_2022(effect, None, BIG)
    assert (no_mid.levels, no_mid.target) == (1, "a benefit")


def test_optimal_information_size_only_for_large_effects() -> None:
    """Core GRADE 2 figure 4: when the CI crosses no threshold, a moderate effect is not rated
    down; a large one goes to the OIS (continuous: below it one level, under 30% two, 800 in
    all meets it; binary: a CI ratio of at least 3 for RR, 2.5 for OR, two levels)."""
    inside = md(-1.0, -3.0, 1.0)  # little or no difference: no OIS
    assert rate_2022(inside, 10.0, InformationSize(20, 100, "hand")).levels == 0
    large = md(-15.0, -20.0, -11.0)  # CI wholly beyond -MID: an important effect
    assert rate_2022(large, 10.0, InformationSize(90, 100, "hand")).levels == 1
    assert rate_2022(large, 10.0, InformationSize(29, 100, "hand")).levels == 2
    assert rate_2022(large, 10.0, InformationSize(900, 1000, "hand")).levels == 0  # 800 met
    assert rate_2022(large, 10.0, InformationSize(None, 100, "hand")).levels == 0

    def binary(rr: tuple[float, float, float], n: int, measure: str = "RR") -> int:
        values = [absolute_per_1000(measure, 0.2, r) for r in rr]
        effect = Effect(*values, unit="per 1000")
        size = InformationSize(n, 1806, "hand", ratio=rr, measure=measure)
        return rate_2022(effect, 20.0, size).levels

    assert binary((0.5, 0.35, 0.7), 2000) == 0  # large, CI ratio 2, OIS met
    assert binary((0.5, 0.35, 0.7), 1000) == 1  # large, below the OIS
    assert binary((0.4, 0.2, 0.65), 5000) == 2  # CI ratio 3.25 >= 3: far below the OIS
    assert binary((0.4, 0.2, 0.45), 5000, "OR") == 0  # OR CI ratio 2.25 < 2.5, OIS met
    assert binary((0.4, 0.2, 0.52), 5000, "OR") == 2  # OR CI ratio 2.6 >= 2.5


def test_reoperation_case_is_very_serious_and_wide_ones_extremely_serious() -> None:
    # RR 0.37 (0.13 to 1.02) at 353 per 1000, 65 participants
    acr = 0.353
    values = [absolute_per_1000("RR", acr, r) for r in (0.37, 0.13, 1.02)]
    effect = Effect(*values, unit="per 1000", better="lower")
    size = InformationSize(
        65, optimal_information_size_binary(acr), "hand", ratio=(0.37, 0.13, 1.02)
    )
    rated = rate_2022(effect, None, size)
    assert (rated.levels, rated.rating) == (2, "very serious")
    assert "upper limit is 7.8 times its lower" in rated.explanation  # 1.02 / 0.13
    # crossing both +/-MID far below the OIS: three levels ("extremely serious", GRADE 35)
    wide = rate_2022(md(-5.0, -25.0, 15.0), 10.0, InformationSize(20, 500, "hand"))
    assert (wide.levels, wide.rating) == (3, "extremely serious")


def test_2011_rule_set() -> None:
    effect = md(0.0, -0.2, 0.2)
    assert rate_2011(effect, (0.6, 1.4), None, BIG).levels == 2  # spans 0.75 and 1.25
    assert rate_2011(effect, (0.9, 1.1), None, BIG).levels == 1  # includes 1
    assert rate_2011(md(-7.0, -12.0, -2.0), None, 10.0, BIG).levels == 0  # excludes 0


def _result(yi: list[float], sei: list[float]):
    return pool(
        pd.DataFrame({"study": [f"s{i}" for i in range(len(yi))], "yi": yi, "sei": sei}),
        "GEN",
        "DL",
    )


def _infos(result, rob: str = "low") -> list[StudyInfo]:
    domains = {f"D{i}": rob for i in range(1, 6)}
    return [StudyInfo(s.study, s.weight_percent, rob, 100.0, rob_domains=domains)
            for s in result.studies]  # fmt: skip


def test_domains_say_when_no_judgement_was_made() -> None:
    one = _result([-5.0], [1.0])
    c = assess(one, _infos(one), rate_2022(md(-5, -7, -3), 10.0, BIG))
    assert c.domain("inconsistency").rating == "not applicable"
    assert c.domain("publication bias").rating == "not assessable"
    assert c.domain("indirectness").rating == "not judged"
    assert c.provisional
    assert c.label() == "⊕⊕⊕⊕ HIGH (provisional)"
    judged = assess(
        one, _infos(one), rate_2022(md(-5, -7, -3), 10.0, BIG),
        indirectness=("serious", "trials enrolled a narrower population"),
    )  # fmt: skip
    assert (judged.level, judged.provisional) == ("moderate", False)
    with pytest.raises(ValueError, match="starting level"):
        assess(one, _infos(one), rate_2022(md(-5, -7, -3), 10.0, BIG), start="medium")


def test_risk_of_bias_names_domains_and_counts_unassessed() -> None:
    three = _result([-5.0, -5.2, -4.8], [0.5, 0.5, 0.5])
    infos = [
        StudyInfo("s0", 100 / 3, "high", 100, rob_domains={"D1": "high", "D2": "low"}),
        StudyInfo("s1", 100 / 3, "some concerns", 100, rob_domains={"D3": "some concerns"}),
        StudyInfo("s2", 100 / 3, "not assessed", 100),
    ]
    c = assess(three, infos, rate_2022(md(-5, -6, -4), 1.0, BIG), indirectness=("not serious", "x"))
    rob = c.domain("risk of bias")
    assert rob.rating == "serious"  # high 33% >= 25%
    assert "s0 (high: high in D1" in rob.explanation
    assert "33% not assessed (counted as some concerns)" in rob.explanation
    assert c.level == "moderate"


def test_inconsistency_and_overrides() -> None:
    vague = _result([-5.0, 6.0, 0.5], [2.0, 2.0, 2.0])
    c = assess(vague, _infos(vague), rate_2022(md(0, -9, 9), 10.0, BIG))
    assert c.domain("inconsistency").rating == "very serious"
    over = assess(
        vague,
        _infos(vague),
        rate_2022(md(0, -9, 9), 10.0, BIG),
        overrides={"inconsistency": ("serious", "differences explained by the populations")},
    )
    dom = over.domain("inconsistency")
    assert (dom.rating, dom.judged, dom.suggested) == ("serious", True, "very serious")


def test_footnote_letters_go_on_after_z() -> None:
    assert [footnote_label(i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == [
        "a", "z", "aa", "ab", "az", "ba", "zz", "aaa",
    ]  # fmt: skip
    notes = Footnotes()
    assert notes.letters(("x", "y")) == ("a", "b")
    assert notes.letters(("y", "z")) == ("b", "c")
    assert [t for _, t in notes.listing()] == ["x", "y", "z"]


@pytest.mark.parametrize(
    ("level", "target", "words"),
    [
        # Core GRADE 6 box 1: "knee arthroscopy results in an important increase in function",
        # "probably has little to no important effect", "may (possibly) increase function",
        # "the effect of knee arthroscopy on function is very uncertain"
        ("high", "an important benefit", "X results in an important reduction in pain"),
        ("moderate", "little or no difference", "X probably has little to no important effect on"),
        ("low", "a harm", "X may reduce pain compared with Y."),
        ("high", "a benefit", "X reduces pain compared with Y."),
        ("very low", "a benefit", "The effect of X on pain compared with Y is very uncertain."),
    ],
)
def test_informative_statements(level: str, target: str, words: str) -> None:
    assert words in informative_statement(level, target, True, "X", "Y", "pain")


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


# --- worked examples of the Core GRADE papers (BMJ 2025; the numbers as printed there) ---------


def test_core_grade_2_appendix_3_absolute_effects() -> None:
    """Example 1: RR 0.76 (0.62 to 0.93), control risk 21%: 'Risk difference is: 5% (95% CI:
    1.5% to 8.0%)'."""
    diffs = [absolute_per_1000("RR", 0.21, r) for r in (0.76, 0.62, 0.93)]
    assert [round(d / 10, 1) for d in diffs] == [-5.0, -8.0, -1.5]  # percentage points


def test_core_grade_6_sglt2_by_baseline_risk() -> None:
    """Table 2: OR 0.77 (0.71 to 0.83) applied to 20 and 265 per 1000: '5 fewer per 1000' (6
    fewer to 3 fewer) and '48 fewer per 1000' (61 fewer to 35 fewer); 'using an MID in mortality
    of 10 in 1000 ... in both cases indicating no serious imprecision' (little or no important
    difference at low risk, an important benefit at high risk)."""
    for risk, printed, target in (
        (0.020, (-5, -6, -3), "little or no difference"),
        (0.265, (-48, -61, -35), "an important benefit"),
    ):
        values = [absolute_per_1000("OR", risk, r) for r in (0.77, 0.71, 0.83)]
        assert tuple(round(v) for v in values) == printed
        rated = rate_2022(Effect(*values, unit="per 1000"), 10.0, BIG)
        assert (rated.levels, rated.target) == (0, target)


def test_core_grade_6_aml_mortality_rates_down_twice() -> None:
    """Table 1: RR 0.83 (0.61 to 1.13) at 558 per 1000: '95 fewer per 1000 (218 fewer to 73
    more)'; 'Using an MID of 50 per 1000, the 95% CI suggests the possibility of an important
    benefit and an important harm, thus rating down two levels for imprecision.'"""
    values = [absolute_per_1000("RR", 0.558, r) for r in (0.83, 0.61, 1.13)]
    assert tuple(round(v) for v in values) == (-95, -218, 73)
    size = InformationSize(None, None, "one trial", ratio=(0.83, 0.61, 1.13))
    assert rate_2022(Effect(*values, unit="per 1000"), 50.0, size).levels == 2


@pytest.mark.parametrize(("mid", "levels"), [(10.0, 1), (20.0, 0)])
def test_core_grade_2_sepsis_bleeding_threshold_decides(mid: float, levels: int) -> None:
    """Appendix 4: 3 more bleeds per 1000 (5 fewer to 13 more): with a threshold near 10 in 1000
    'they would rate down for imprecision'; near 20 'they would not rate down'."""
    effect = Effect(3.0, -5.0, 13.0, unit="per 1000")
    assert rate_2022(effect, mid, BIG).levels == levels


def test_core_grade_2_pancreatitis_far_below_the_ois() -> None:
    """Appendix 5: OR 0.33 (0.13 to 0.81), 201 patients, control 12%: the CI ratio 6.2 is
    'larger than 2.5. This suggests the appropriateness of rating down two levels'."""
    values = [absolute_per_1000("OR", 0.12, r) for r in (0.33, 0.13, 0.81)]
    size = InformationSize(
        201, optimal_information_size_binary(0.12), "hand", ratio=(0.33, 0.13, 0.81), measure="OR"
    )
    rated = rate_2022(Effect(*values, unit="per 1000"), None, size)
    assert rated.levels == 2
    assert "6.2 times" in rated.explanation


@pytest.mark.parametrize(
    ("high_weight", "rating"),
    [(85.0, "serious"), (69.0, "serious"), (46.0, "not serious")],
)
def test_core_grade_4_risk_of_bias_dominance(high_weight: float, rating: str) -> None:
    """Core GRADE 4: trials at high risk carrying 85% (azithromycin) or 69% (child feeding) of
    the weight dominate: rate down; 46% (colostrum, similar estimates) does not."""
    studies = [
        StudyInfo("high", high_weight, "high", 100),
        StudyInfo("low", 100 - high_weight, "low", 100),
    ]
    from metafuse.review.grade import rate_risk_of_bias

    assert rate_risk_of_bias(studies).rating == rating
