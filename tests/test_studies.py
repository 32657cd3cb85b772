"""The curated study records: validation, corrupted files, derivations and the reviewer workflow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from metafuse import pool
from metafuse.cli import main
from metafuse.evidence import analysis_data, format_gaps
from metafuse.studies import FILES, load_studies, parse_derivation, validate_studies
from tests.conftest import ROOT
from tests.tolerances import CLOSED_FORM

STUDIES = ROOT / "studies"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "studies"
    shutil.copytree(STUDIES, target)
    return target


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def test_curated_studies_are_valid() -> None:
    assert validate_studies(STUDIES) == []
    result = CliRunner().invoke(main, ["validate", str(STUDIES)])
    assert result.exit_code == 0


def test_every_number_has_a_source() -> None:
    records = load_studies(STUDIES)
    o = records.outcomes
    numbers = o[["n", "mean", "sd", "events", "estimate"]].notna().any(axis=1)
    assert o.loc[numbers, ["source_id", "location", "quote"]].notna().all().all()
    t = records.trials
    with_n = t[["n_randomised_exp", "n_randomised_ctrl"]].notna().any(axis=1)
    assert t.loc[with_n, ["source_id", "quote"]].notna().all().all()


def test_published_numbers_are_recorded_as_published() -> None:
    """Spot checks against the sources' own text (Fairbank 2005 BMJ Table 4; Brox 2010 Table 2)."""
    o = load_studies(STUDIES).outcomes.set_index(["record_id", "arm"])
    fair = o.loc[("fairbank2005-odi-24", "exp")]
    assert (fair["n"], fair["mean"], fair["sd"]) == (138, 34.0, 21.1)
    brox = o.loc[("brox2010-odi-48", "ctrl")]
    assert (brox["n"], brox["mean"], brox["sd"]) == (50, 27.0, 19.4)


def test_contrast_reported_as_control_minus_experimental_is_reversed_by_the_library() -> None:
    o = load_studies(STUDIES).outcomes.set_index("record_id")
    # NORDSTEN-DS abstract: "mean difference, 0.7; 95% CI -2.8 to 4.3" = decompression - fusion
    row = o.loc["austevoll2021-odi-24"]
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (-0.7, -4.3, 2.8)
    assert row["direction"] == "exp-ctrl"
    # the file itself keeps the published numbers
    raw = pd.read_csv(STUDIES / "outcomes.csv").set_index("record_id")
    assert raw.loc["austevoll2021-odi-24", "estimate"] == 0.7


def test_comparison_b_odi_two_years_pools_arm_and_contrast_rows() -> None:
    """Fairbank (arm-level MD from Table 4) with the Brox 2003 and 2006 contrasts (GIV)."""
    data = analysis_data(load_studies(STUDIES), "B", "odi", "2y")
    assert data.measure == "GEN"
    assert list(data.frame["study"]) == ["Brox 2003", "Fairbank 2005", "Brox 2006"]
    fair = data.frame.set_index("study").loc["Fairbank 2005"]
    # MD and SE by hand from Table 4: 34.0 - 36.1; sqrt(21.1^2/138 + 20.6^2/146)
    assert fair["yi"] == pytest.approx(-2.1, **CLOSED_FORM)
    assert fair["sei"] == pytest.approx((21.1**2 / 138 + 20.6**2 / 146) ** 0.5, **CLOSED_FORM)
    res = pool(data.frame, data.measure, "REML")
    assert res.k == 3


def test_incomplete_records_are_listed_not_dropped() -> None:
    data = analysis_data(load_studies(STUDIES), "A", "odi", "5y")
    assert data.frame.empty
    assert data.incomplete == (("Karlsson 2024", "missing n (exp), n (ctrl)"),)


def test_gaps_report() -> None:
    text = format_gaps(load_studies(STUDIES))
    assert "Comparison A" in text
    assert "Comparison B" in text
    assert "incomplete 24m" in text  # SSSS 2-year ODI without SDs
    assert "ghogawala2012-meeting" in text  # weak source named
    result = CliRunner().invoke(main, ["gaps", str(STUDIES)])
    assert result.exit_code == 0


def test_reviewer_adds_a_trial(copy: Path) -> None:
    """A new trial added as rows in a copy of the records is validated and enters the analysis."""
    with (copy / "sources.csv").open("a", encoding="utf-8") as fh:
        fh.write("example2030,Example A et al. Test J 2030;1:1-9,https://example.org,abstract,"
                 "primary,invented test record\n")  # fmt: skip
    with (copy / "trials.csv").open("a", encoding="utf-8") as fh:
        fh.write("example2030,Example,Example,2030,Test J,1:1-9,,,B,chronic low back pain,"
                 "Nowhere,fusion,rehabilitation,40,41,2 years,,RCT,example2030,abstract,"
                 "40 were assigned to fusion and 41 to rehabilitation,no,\n")  # fmt: skip
    with (copy / "outcomes.csv").open("a", encoding="utf-8") as fh:
        for arm, n, mean, sd in (("exp", 38, 30.0, 18.0), ("ctrl", 39, 33.0, 19.0)):
            fh.write(f"example2030-odi-24,example2030,odi,24,intention to treat,arm,{arm},{n},"
                     f"{mean},{sd},,,,,,,ODI 0-100,yes,,example2030,Table 2,ODI at 2 years,"
                     "no,\n")  # fmt: skip
    assert validate_studies(copy) == []
    data = analysis_data(load_studies(copy), "B", "odi", "2y")
    assert "Example 2030" in list(data.frame["study"])
    assert pool(data.frame, data.measure, "REML").k == 4


@pytest.mark.parametrize(
    ("name", "mutate", "expected"),
    [
        ("outcomes", lambda t: t.replace(",138,34.0,21.1,", ",-138,34.0,21.1,", 1), "n: "),
        ("outcomes", lambda t: t.replace(",138,34.0,21.1,", ",abc,34.0,21.1,", 1),
         "n: not a number: 'abc'"),
        ("outcomes", lambda t: t.replace(",94,,", ",140,,", 1), "exceed"),
        ("outcomes", lambda t: t + t.splitlines()[1] + "\n", "duplicated row"),
        ("outcomes", lambda t: t[: len(t) // 2], "malformed CSV"),
        ("trials", lambda t: t.replace("report_id,", "report,", 1), "missing required column"),
        ("sources", lambda t: t.replace("primary", "strong", 1), "is not one of"),
        ("risk_of_bias", lambda t: t.replace("fairbank2005,", "nosuchtrial,", 1), "unknown report"),
        ("outcomes", lambda t: t.replace(",-6.7,11.4,", ",-6.7,1.4,", 1), "outside its CI"),
    ],
)  # fmt: skip
def test_corrupted_files_are_rejected_naming_the_file(
    copy: Path, name: str, mutate, expected: str
) -> None:
    path = copy / f"{name}.csv"
    path.write_text(mutate(path.read_text(encoding="utf-8")), encoding="utf-8")
    before = _snapshot(copy)
    problems = validate_studies(copy)
    assert problems, "the corruption was not detected"
    assert any(str(path) in str(p) and expected in str(p) for p in problems), problems
    result = CliRunner().invoke(main, ["validate", str(copy)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert _snapshot(copy) == before  # validation never modifies the files


@pytest.mark.parametrize("name", FILES)
def test_binary_and_empty_files(copy: Path, name: str) -> None:
    path = copy / f"{name}.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    problems = validate_studies(copy)
    assert any(str(path) in str(p) and "binary" in str(p) for p in problems)
    path.write_text("", encoding="utf-8")
    assert any("empty file" in str(p) for p in validate_studies(copy))


def test_all_problems_are_reported_at_once(copy: Path) -> None:
    path = copy / "outcomes.csv"
    text = path.read_text(encoding="utf-8")
    text = text.replace(",138,34.0,21.1,", ",abc,34.0,21.1,", 1).replace(
        ",146,36.1,20.6,", ",146,36.1,-20.6,", 1
    )
    path.write_text(text, encoding="utf-8")
    problems = validate_studies(copy)
    assert len(problems) >= 2
    assert all(":" in str(p) for p in problems)


def test_parse_derivation() -> None:
    assert parse_derivation("flip_contrast") == ("flip_contrast", {})
    assert parse_derivation("sd_from_ci(ci_low=-2.5, ci_high=3)") == (
        "sd_from_ci", {"ci_low": -2.5, "ci_high": 3.0})  # fmt: skip
    for bad in ("os.system('x')", "sd_from_ci(1, 2)", "nope()", "sd_from_se(se='a')"):
        with pytest.raises(ValueError, match="derivation"):
            parse_derivation(bad)


def test_derivation_fills_a_value(copy: Path) -> None:
    path = copy / "outcomes.csv"
    text = path.read_text(encoding="utf-8").replace(
        ",138,34.0,21.1,,,,,,,ODI 0-100 (lower is better),yes,,",
        ",138,34.0,,,,,,,,ODI 0-100 (lower is better),yes,sd_from_se(se=1.8),",
        1,
    )
    path.write_text(text, encoding="utf-8")
    o = load_studies(copy).outcomes.set_index(["record_id", "arm"])
    assert o.loc[("fairbank2005-odi-24", "exp"), "sd"] == pytest.approx(1.8 * 138**0.5)
