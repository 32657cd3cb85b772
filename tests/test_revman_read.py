"""Reading RevMan 5 files: outcomes, study data, settings, stored results and error messages.

The fixtures (tests/fixtures/revman, sources in its README.md) carry real study data and the
numbers RevMan 5 stored, except ``synthetic_iv_peto_generic.rm5`` whose stored results were
computed for the layout only.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from metafuse.exceptions import DataError
from metafuse.revman import RevManOutcome, read_rm5
from tests.tolerances import REVMAN_RM5, SAME_FORMULA

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "revman"
VALID = (
    "fleiss1993_mh_or_fixed.rm5",
    "fleiss1993_md_fixed.rm5",
    "antibiotics_mh_rr_random.rm5",
    "gad_md_random.rm5",
    "prp_smd_rd_random.rm5",
    "synthetic_iv_peto_generic.rm5",
)
COLUMNS = {
    "dichotomous": ["study", "events_exp", "n_exp", "events_ctrl", "n_ctrl"],
    "continuous": ["study", "mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl"],
    "generic": ["study", "yi", "sei"],
}


def outcomes(name: str) -> dict[str, RevManOutcome]:
    return {o.id: o for o in read_rm5(FIXTURES / name)}


def write(tmp_path: Path, body: str, name: str = "review.rm5") -> Path:
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n', encoding="utf-8")
    return path


def analyses(outcome_xml: str, studies: str = "") -> str:
    return (
        '<COCHRANE_REVIEW REVMAN_VERSION="5" TYPE="INTERVENTION">'
        f"<STUDIES_AND_REFERENCES><STUDIES><INCLUDED_STUDIES>{studies}"
        "</INCLUDED_STUDIES></STUDIES></STUDIES_AND_REFERENCES>"
        '<ANALYSES_AND_DATA><COMPARISON ID="CMP-001" NO="1"><NAME>A vs B</NAME>'
        f"{outcome_xml}</COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>"
    )


# --- outcomes, data and stored results -------------------------------------------------------


def test_mantel_haenszel_fixed_odds_ratio() -> None:
    o = outcomes("fleiss1993_mh_or_fixed.rm5")["CMP-001.01"]
    assert o.name == "Aspirin for Preventing Death after Myocardial Infarction"
    assert (o.comparison, o.comparison_id) == ("Examples from Fleiss (1993)", "CMP-001")
    assert (o.kind, o.measure, o.method, o.random, o.ratio) == (
        "dichotomous",
        "OR",
        "MH",
        False,
        True,
    )
    assert list(o.data.columns) == COLUMNS["dichotomous"]
    assert o.data.iloc[0].tolist() == ["MRC-1", 49, 615, 67, 624]
    assert o.data["study"].tolist()[-1] == "ISIS-2"
    assert str(o.data["events_exp"].dtype) == "int64"
    assert o.study_ids[0] == "STD-MRC_x002d_1"
    s = o.stored
    assert s.ratio
    assert s.estimable
    assert s.estimate == 0.8968655609130709
    assert (s.ci_low, s.ci_high) == (0.8405144008917793, 0.9569947088336491)
    assert (s.q, s.df, s.p_q, s.i2) == (
        9.946055983220074,
        6.0,
        0.1269422521561745,
        39.67458045558399,
    )
    assert (s.tau2, s.z, s.p_z) == (0.0, 3.287633061337987, 0.0010103343130005407)
    assert (s.q_subgroups, s.p_subgroups, s.i2_subgroups) == (0.0, 0.0, 0.0)
    assert s.log_estimate == pytest.approx(math.log(0.8968655609130709), **SAME_FORMULA)
    assert s.n_studies == 7
    assert s.weights["MRC-1"] == 3.176490004091248
    assert sum(s.weights.values()) == pytest.approx(100.0, **REVMAN_RM5)
    row = s.studies.iloc[0]
    assert (row["effect"], row["se"], row["estimable"]) == (
        0.7197141500975687,
        0.1972198088133556,
        True,
    )
    assert o.subgroups == ()
    assert o.pool_arguments() == {"measure": "OR", "method": "MH", "convention": "revman5"}


def test_outcome_settings_as_read() -> None:
    settings = outcomes("fleiss1993_mh_or_fixed.rm5")["CMP-001.01"].settings
    assert settings["data_type"] == "DICH"
    assert (settings["effect_measure"], settings["method"], settings["random"]) == (
        "OR",
        "MH",
        False,
    )
    assert (settings["ci_study"], settings["ci_total"]) == (95.0, 95.0)
    assert (settings["totals"], settings["subgroups"], settings["swap_events"]) == (
        "YES",
        False,
        False,
    )
    assert settings["group_labels"] == ("Aspirin", "Control")
    assert settings["graph_labels"] == ("Favours experimental", "Favours control")
    with pytest.raises(TypeError):
        settings["random"] = True  # type: ignore[index]


def test_outcome_is_frozen() -> None:
    o = outcomes("fleiss1993_mh_or_fixed.rm5")["CMP-001.01"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.random = True  # type: ignore[misc]


def test_smd_outcome_without_computed_results() -> None:
    o = outcomes("fleiss1993_mh_or_fixed.rm5")["CMP-001.02"]
    assert (o.kind, o.measure, o.method, o.random, o.ratio) == (
        "continuous",
        "SMD",
        "IV",
        False,
        False,
    )
    assert list(o.data.columns) == COLUMNS["continuous"]
    assert o.data.iloc[1].tolist() == ["Florell", 4.9, 1.71, 30, 6.1, 2.3, 50]
    assert o.settings["method"] is None
    assert o.stored.estimate is None
    assert o.stored.q is None
    assert o.stored.log_estimate is None
    assert o.stored.df == 4.0
    assert math.isnan(o.stored.studies["effect"].iloc[0])
    assert o.pool_arguments() == {"measure": "SMD", "method": "FE", "convention": "revman5"}


def test_mean_difference_fixed_effect() -> None:
    o = outcomes("fleiss1993_md_fixed.rm5")["CMP-001.02"]
    assert (o.measure, o.method, o.random) == ("MD", "IV", False)
    assert o.data["study"].tolist() == ["Davis", "Florell", "Gruen", "Hart", "Wilson"]
    assert o.stored.estimate == -0.70938839
    assert o.stored.weights["Florell"] == 38.61251498
    assert o.pool_arguments()["method"] == "FE"


def test_mantel_haenszel_random_risk_ratio_with_zero_cells() -> None:
    o = outcomes("antibiotics_mh_rr_random.rm5")["CMP-004.06"]
    assert o.comparison_id == "CMP-004"
    assert (o.measure, o.method, o.random) == ("RR", "MH", True)
    assert len(o.data) == 8
    assert o.data.set_index("study").loc["Denny 1953"].tolist() == [0, 157, 1, 50]
    estimable = o.stored.studies.set_index("study")["estimable"]
    assert not estimable["Dagnelie 1996"]
    assert estimable["Denny 1953"]
    assert o.stored.weights["Dagnelie 1996"] == 0.0
    assert (o.stored.df, o.stored.tau2) == (3.0, 1.0367216272954682)
    assert o.stored.n_studies == 8
    assert o.pool_arguments() == {
        "measure": "RR",
        "method": "DL",
        "convention": "revman5",
        "q_from": "mh",
    }


def test_subgroups_and_subgroup_test() -> None:
    o = outcomes("antibiotics_mh_rr_random.rm5")["CMP-002.03"]
    assert list(o.data.columns) == [*COLUMNS["dichotomous"], "subgroup"]
    assert [s.id for s in o.subgroups] == ["CMP-002.03.01", "CMP-002.03.02"]
    assert o.data["subgroup"].unique().tolist() == [s.name for s in o.subgroups]
    assert o.stored.q_subgroups == 2.8037217194650745
    first = o.subgroups[0].stored
    assert first.q_subgroups is None
    assert first.weight == 36.0405793971931
    assert first.studies["study"].tolist() == ["Krober 1985", "Nelson 1984"]
    # a subgroup's study weights are shares of the outcome's total
    assert first.weights["Nelson 1984"] == first.weight


def test_mean_difference_random_effects() -> None:
    o = outcomes("gad_md_random.rm5")["CMP-001.07"]
    assert (o.kind, o.measure, o.method, o.random) == ("continuous", "MD", "IV", True)
    assert o.pool_arguments() == {"measure": "MD", "method": "DL", "convention": "revman5"}
    assert o.stored.estimate == 0.1665952310729516
    assert len(o.data) == 3


def test_outcome_without_studies() -> None:
    o = outcomes("gad_md_random.rm5")["CMP-001.04"]
    assert list(o.data.columns) == COLUMNS["dichotomous"]
    assert o.data.empty
    assert str(o.data["n_exp"].dtype) == "int64"
    assert not o.stored.estimable
    assert o.stored.estimate == 0.0  # RevMan's placeholder, not a result
    assert o.stored.log_estimate is None
    assert math.isnan(o.stored.tau2)


def test_rows_of_one_study_get_distinct_labels() -> None:
    o = outcomes("gad_md_random.rm5")["CMP-001.24"]
    assert o.data["study"].tolist()[:4] == [
        "Feltner 2003a",
        "Feltner 2003b",
        "Pande 2003a",
        "Pande 2003b",
    ]
    assert o.data["study"].is_unique
    assert o.study_ids[:2] == ("STD-Feltner-2003", "STD-Feltner-2003")
    assert o.stored.n_studies == 3
    assert o.stored.df == 6.0
    assert o.stored.studies["study"].tolist() == o.data["study"].tolist()


def test_name_from_tracked_insertions() -> None:
    name = outcomes("gad_md_random.rm5")["CMP-001.26"].name
    assert name == "Acceptability (withdrawal due to inefficacy)"


def test_subtotals_only_outcomes() -> None:
    found = outcomes("prp_smd_rd_random.rm5")
    smd = found["CMP-002.08"]
    assert (smd.measure, smd.random, smd.settings["totals"]) == ("SMD", True, "SUB")
    assert smd.stored.estimate is None
    assert [s.stored.estimate for s in smd.subgroups][:2] == [-0.5152402, -0.1759576]
    rd = found["CMP-008.02"]
    assert (rd.measure, rd.method, rd.ratio) == ("RD", "MH", False)
    assert rd.data["study"].tolist() == ["Gedik 2016a", "Gedik 2016b"]
    assert rd.pool_arguments()["q_from"] == "mh"


def test_inverse_variance_and_peto_dichotomous() -> None:
    found = outcomes("synthetic_iv_peto_generic.rm5")
    assert (found["CMP-001.01"].measure, found["CMP-001.01"].pool_arguments()["method"]) == (
        "RR",
        "FE",
    )
    assert found["CMP-001.02"].pool_arguments() == {
        "measure": "OR",
        "method": "DL",
        "convention": "revman5",
    }
    peto = found["CMP-001.03"]
    assert (peto.measure, peto.method, peto.settings["effect_measure"]) == ("OR", "PETO", "PETO_OR")
    assert peto.pool_arguments()["method"] == "PETO"


def test_generic_inverse_variance() -> None:
    found = outcomes("synthetic_iv_peto_generic.rm5")
    log = found["CMP-001.04"]
    assert (log.kind, log.measure, log.ratio, log.method) == ("generic", "GEN", True, "IV")
    assert list(log.data.columns) == COLUMNS["generic"]
    assert log.settings["effect_measure_name"] == "Odds Ratio"
    assert log.settings["log_data"] is True
    # EFFECT_SIZE is stored on the ratio scale; yi is its natural log
    assert log.data["yi"].iloc[0] == pytest.approx(math.log(0.7197141500975687), **SAME_FORMULA)
    assert log.data["sei"].iloc[0] == 0.1972198088133556
    assert log.pool_arguments() == {
        "measure": "GEN",
        "method": "FE",
        "convention": "revman5",
        "ratio": True,
    }
    assert "ratio" not in found["CMP-001.05"].pool_arguments()
    diff = found["CMP-001.05"]
    assert (diff.ratio, diff.random) == (False, True)
    assert diff.data["yi"].tolist()[:2] == [-1.5, -1.2]


@pytest.mark.parametrize("name", VALID)
def test_every_fixture_reads_into_metafuse_columns(name: str) -> None:
    for o in read_rm5(FIXTURES / name):
        expected = COLUMNS[o.kind] + (["subgroup"] if o.subgroups else [])
        assert list(o.data.columns) == expected
        assert o.data["study"].is_unique
        assert len(o.study_ids) == len(o.data) == len(o.stored.studies)


def test_labels_from_study_ids_without_study_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        analyses(
            '<DICH_OUTCOME EFFECT_MEASURE="RD" ID="CMP-001.01" METHOD="MH" RANDOM="NO">'
            '<DICH_DATA EVENTS_1="1" EVENTS_2="2" STUDY_ID="STD-El_x002d_Daher-1991"'
            ' TOTAL_1="10" TOTAL_2="10"/></DICH_OUTCOME>'
        ),
    )
    (o,) = read_rm5(path)
    assert o.data["study"].tolist() == ["El-Daher 1991"]
    assert o.stored.estimate is None


def test_swap_events_and_confidence_level(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        analyses(
            '<DICH_OUTCOME CI_TOTAL="90" EFFECT_MEASURE="RR" ID="CMP-001.01" METHOD="MH"'
            ' RANDOM="NO" SWAP_EVENTS="YES"><DICH_DATA EVENTS_1="1" EVENTS_2="2"'
            ' STUDY_ID="STD-A" TOTAL_1="10" TOTAL_2="10"/></DICH_OUTCOME>'
        ),
    )
    arguments = read_rm5(path)[0].pool_arguments()
    assert arguments["swap_events"] is True
    assert arguments["level"] == pytest.approx(0.90)


def test_repeated_labels_without_a_final_digit(tmp_path: Path) -> None:
    row = '<DICH_DATA EVENTS_1="{}" EVENTS_2="2" STUDY_ID="STD-AMIS" TOTAL_1="10" TOTAL_2="10"/>'
    path = write(
        tmp_path,
        analyses(
            f'<DICH_OUTCOME EFFECT_MEASURE="OR" ID="CMP-001.01" METHOD="MH" RANDOM="NO">'
            f"{row.format(1)}{row.format(3)}</DICH_OUTCOME>",
            '<STUDY ID="STD-AMIS" NAME="AMIS" YEAR="1980"/>',
        ),
    )
    assert read_rm5(path)[0].data["study"].tolist() == ["AMIS (1)", "AMIS (2)"]


def test_review_without_analyses(tmp_path: Path) -> None:
    path = write(tmp_path, '<COCHRANE_REVIEW REVMAN_VERSION="5" TYPE="INTERVENTION"/>')
    assert read_rm5(path) == ()


# --- errors ------------------------------------------------------------------------------------


def error(path: Path, **kwargs: bool) -> str:
    with pytest.raises(DataError) as info:
        read_rm5(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_not_xml() -> None:
    assert "not a RevMan 5 file: malformed XML at line 1" in error(FIXTURES / "not_xml.rm5")


def test_truncated_file() -> None:
    assert "malformed XML at line 32" in error(FIXTURES / "truncated.rm5")


def test_missing_required_attribute() -> None:
    message = error(FIXTURES / "missing_attribute.rm5")
    assert message.endswith('DICH_OUTCOME ID="CMP-001.01": no METHOD attribute')


def test_unknown_outcome_type() -> None:
    message = error(FIXTURES / "unknown_outcome.rm5")
    assert 'RATE_OUTCOME ID="CMP-001.01": unknown outcome type' in message


def test_unsupported_outcome_type_can_be_skipped() -> None:
    path = FIXTURES / "ipd_outcome.rm5"
    assert 'IPD_OUTCOME ID="CMP-001.01": O-E and variance' in error(path)
    assert [o.id for o in read_rm5(path, skip_unsupported=True)] == ["CMP-001.02"]


def test_missing_file(tmp_path: Path) -> None:
    assert "cannot read the file" in error(tmp_path / "absent.rm5")


def test_other_xml_root(tmp_path: Path) -> None:
    path = write(tmp_path, "<REVIEW/>")
    assert "the root element is <REVIEW>, not <COCHRANE_REVIEW>" in error(path)


def test_diagnostic_review(tmp_path: Path) -> None:
    path = write(tmp_path, '<COCHRANE_REVIEW TYPE="DIAGNOSTIC"/>')
    assert "only intervention reviews are supported" in error(path)


def test_non_numeric_study_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        analyses(
            '<DICH_OUTCOME EFFECT_MEASURE="OR" ID="CMP-001.01" METHOD="MH" RANDOM="NO">'
            '<DICH_DATA EVENTS_1="4x" EVENTS_2="2" STUDY_ID="STD-A" TOTAL_1="10"'
            ' TOTAL_2="10"/></DICH_OUTCOME>'
        ),
    )
    where = 'DICH_DATA STUDY_ID="STD-A" in DICH_OUTCOME ID="CMP-001.01"'
    assert error(path).endswith(f"{where}: EVENTS_1='4x' is not a number")


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ('EFFECT_MEASURE="HR" METHOD="MH" RANDOM="NO"', "unknown EFFECT_MEASURE='HR'"),
        ('EFFECT_MEASURE="OR" METHOD="XX" RANDOM="NO"', "unknown METHOD='XX'"),
        ('EFFECT_MEASURE="RR" METHOD="PETO" RANDOM="NO"', "METHOD=PETO cannot pool"),
        ('EFFECT_MEASURE="PETO_OR" METHOD="PETO" RANDOM="YES"', "no random-effects model"),
        ('EFFECT_MEASURE="OR" METHOD="MH" RANDOM="MAYBE"', "neither YES nor NO"),
        ('EFFECT_MEASURE="OR" METHOD="MH"', "no RANDOM attribute"),
    ],
)
def test_unsupported_settings(tmp_path: Path, attributes: str, expected: str) -> None:
    path = write(tmp_path, analyses(f'<DICH_OUTCOME ID="CMP-001.01" {attributes}/>'))
    message = error(path)
    assert 'DICH_OUTCOME ID="CMP-001.01": ' in message
    assert expected in message


def test_fractional_count(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        analyses(
            '<DICH_OUTCOME EFFECT_MEASURE="OR" ID="CMP-001.01" METHOD="MH" RANDOM="NO">'
            '<DICH_DATA EVENTS_1="2.5" EVENTS_2="2" STUDY_ID="STD-A" TOTAL_1="10"'
            ' TOTAL_2="10"/></DICH_OUTCOME>'
        ),
    )
    assert "EVENTS_1='2.5' is not a whole count" in error(path)
