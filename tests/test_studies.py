"""Curated study records (on the frozen fixture review): validation against the review's
vocabulary, corrupted files, derivations, selection of an analysis's data and the gaps report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from metafuse import pool
from metafuse.cli import main
from metafuse.review.derivations import parse_derivation
from metafuse.review.gaps import format_gaps, gap_cells
from metafuse.review.records import load_studies, validate_studies
from metafuse.review.schema import FILES
from metafuse.review.selection import select
from tests.conftest import FIXTURE_REVIEW
from tests.tolerances import CLOSED_FORM

FIXTURE = FIXTURE_REVIEW / "studies"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _errors(folder: Path) -> list[str]:
    return [str(p) for p in validate_studies(folder) if not p.warning]


def test_fixture_records_are_valid() -> None:
    assert _errors(FIXTURE) == []
    result = CliRunner().invoke(main, ["validate", str(FIXTURE)])
    assert result.exit_code == 0, result.output


def test_published_numbers_are_recorded_as_published() -> None:
    """Spot checks against the sources' own text (Fairbank 2005 BMJ Table 4; Brox 2010 Table 2)."""
    o = load_studies(FIXTURE).outcomes.set_index(["record_id", "arm"])
    fair = o.loc[("fairbank2005-odi-24", "exp")]
    assert (fair["n"], fair["mean"], fair["sd"]) == (138, 34.0, 21.1)
    brox = o.loc[("brox2010-odi-48", "ctrl")]
    assert (brox["n"], brox["mean"], brox["sd"]) == (50, 27.0, 19.4)


def test_contrast_reported_as_control_minus_experimental_is_reversed_by_the_library() -> None:
    o = load_studies(FIXTURE).outcomes.set_index("record_id")
    # NORDSTEN-DS abstract: "mean difference, 0.7; 95% CI -2.8 to 4.3" = decompression - fusion
    row = o.loc["austevoll2021-odi-24"]
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (-0.7, -4.3, 2.8)
    assert row["direction"] == "exp-ctrl"
    raw = pd.read_csv(FIXTURE / "outcomes.csv").set_index("record_id")
    assert raw.loc["austevoll2021-odi-24", "estimate"] == 0.7  # the file keeps the published value


def test_count_from_percent_is_computed_at_load_time() -> None:
    """NORDSTEN-DS 2 years: 72.9% of 129 and 71.4% of 133 (a news report) become 94 and 95."""
    o = load_studies(FIXTURE).outcomes.set_index(["record_id", "arm"])
    assert o.loc[("austevoll2021-responder-24", "exp"), "events"] == round(72.9 * 129 / 100)
    assert o.loc[("austevoll2021-responder-24", "ctrl"), "events"] == round(71.4 * 133 / 100)
    assert bool(o.loc[("austevoll2021-responder-24", "exp"), "approximate"])


def test_comparison_b_odi_two_years_pools_arm_and_contrast_rows() -> None:
    """Fairbank (arm-level MD from Table 4) with the Brox 2003 and 2006 contrasts (GIV)."""
    data = select(load_studies(FIXTURE), "B", "odi", "2y")
    assert data.measure == "GEN"
    assert data.labels == ["Brox 2003", "Fairbank 2005", "Brox 2006"]
    fair = data.frame.set_index("study").loc["Fairbank 2005"]
    # MD and SE by hand from Table 4: 34.0 - 36.1; sqrt(21.1^2/138 + 20.6^2/146)
    assert fair["yi"] == pytest.approx(-2.1, **CLOSED_FORM)
    assert fair["sei"] == pytest.approx((21.1**2 / 138 + 20.6**2 / 146) ** 0.5, **CLOSED_FORM)
    res = pool(data.frame, data.measure, "REML", **data.pool_options())
    assert res.k == 3
    assert res.display_scale.label == "Mean difference (ODI points)"


def test_incomplete_records_are_listed_not_dropped() -> None:
    data = select(load_studies(FIXTURE), "A", "odi", "5y")
    assert data.frame.empty
    assert data.incomplete == (("Karlsson 2024", "missing n (exp), n (ctrl)"),)


def test_gaps_report() -> None:
    records = load_studies(FIXTURE)
    text = format_gaps(records)
    assert "Comparison A" in text
    assert "Comparison B" in text
    assert "incomplete 24m" in text  # SSSS 2-year ODI without SDs
    assert "ghogawala2012-meeting" in text  # weak source named
    cells = gap_cells(records)
    ssss = [c for c in cells if c.trial == "SSSS" and c.outcome == "odi" and c.window == "2y"]
    assert ssss[0].status == "incomplete"
    assert "sd (exp)" in ssss[0].missing
    assert CliRunner().invoke(main, ["gaps", str(FIXTURE)]).exit_code == 0


def _add_trial(folder: Path, sd_exp: str = "18.0") -> None:
    """A fictional trial added exactly as studies/README.md says (comparison B)."""
    with (folder / "sources.csv").open("a", encoding="utf-8") as fh:
        fh.write(
            "example2030,Example A et al. Test J 2030;1:1-9,https://example.org,abstract,"
            "primary,invented test record\n"
        )
    with (folder / "trials.csv").open("a", encoding="utf-8") as fh:
        fh.write(
            "example2030,Example,Example,2030,Test J,1:1-9,,,B,chronic low back pain,"
            "Nowhere,fusion,rehabilitation,40,41,2 years,,RCT,example2030,abstract,"
            "40 were assigned to fusion and 41 to rehabilitation,no,\n"
        )
    with (folder / "outcomes.csv").open("a", encoding="utf-8") as fh:
        for arm, n, mean, sd in (("exp", 38, 30.0, sd_exp), ("ctrl", 39, 33.0, "19.0")):
            fh.write(
                f"example2030-odi-24,example2030,odi,24,intention to treat,arm,{arm},{n},"
                f"{mean},{sd},,,,,,,ODI 0-100,yes,,example2030,Table 2,ODI at 2 years,"
                "no,\n"
            )
        for arm, n, events in (("exp", 40, 5), ("ctrl", 41, 9)):
            fh.write(
                f"example2030-addsurg-24,example2030,additional_surgery,24,intention to "
                f"treat,arm,{arm},{n},,,{events},,,,,,further surgery,yes,,example2030,"
                "Table 3,further surgery by 2 years,no,\n"
            )


def test_reviewer_adds_a_trial(studies: Path) -> None:
    """A new trial added as rows is validated and enters its analyses."""
    _add_trial(studies)
    assert _errors(studies) == []
    data = select(load_studies(studies), "B", "odi", "2y")
    assert "Example 2030" in data.labels
    assert pool(data.frame, data.measure, "REML").k == 4
    surgery = select(load_studies(studies), "B", "additional_surgery", "2y")
    assert surgery.labels == ["Example 2030"]
    assert surgery.measure == "RR"


def test_an_empty_sd_is_named_not_dropped(studies: Path) -> None:
    _add_trial(studies, sd_exp="")
    assert _errors(studies) == []  # missing stays missing, visibly
    data = select(load_studies(studies), "B", "odi", "2y")
    assert "Example 2030" not in data.labels
    assert ("Example 2030", "missing sd (exp)") in data.incomplete


@pytest.mark.parametrize(
    ("name", "mutate", "expected"),
    [
        ("outcomes", lambda t: t.replace(",138,34.0,21.1,", ",-138,34.0,21.1,", 1), "n: "),
        (
            "outcomes",
            lambda t: t.replace(",138,34.0,21.1,", ",abc,34.0,21.1,", 1),
            "n: not a number: 'abc'",
        ),
        ("outcomes", lambda t: t.replace(",129,,,81,", ",129,,,140,", 1), "exceed"),
        ("outcomes", lambda t: t + t.splitlines()[1] + "\n", "duplicated row"),
        ("outcomes", lambda t: t[: len(t) // 2], "malformed CSV"),
        (
            "outcomes",
            lambda t: t.replace(",138,34.0,21.1,", ",138,340,21.1,", 1),
            "outside the declared",
        ),
        (
            "outcomes",
            lambda t: t.replace(",138,34.0,21.1,", ",138,0.34,0.21,", 1),
            "looks like a fraction",
        ),
        (
            "outcomes",
            lambda t: t.replace(",138,34.0,21.1,", ",138,34.0,21.1,7", 1),
            "is continuous",
        ),
        ("trials", lambda t: t.replace("report_id,", "report,", 1), "missing required column"),
        ("trials", lambda t: t.replace(",Brox,2006,", ",Brox,2003,", 1), "also the label"),
        ("sources", lambda t: t.replace("primary", "strong", 1), "is not one of"),
        ("risk_of_bias", lambda t: t.replace("fairbank2005,", "nosuchtrial,", 1), "unknown report"),
        ("risk_of_bias", lambda t: t + t.splitlines()[1] + "\n", "a second judgement"),
        ("outcomes", lambda t: t.replace(",-6.7,11.4,", ",-6.7,1.4,", 1), "outside its CI"),
    ],
)
def test_corrupted_files_are_rejected_naming_the_file(
    studies: Path, name: str, mutate, expected: str
) -> None:
    path = studies / f"{name}.csv"
    path.write_text(mutate(path.read_text(encoding="utf-8")), encoding="utf-8")
    before = _snapshot(studies)
    problems = _errors(studies)
    assert problems, "the corruption was not detected"
    assert any(str(path) in p and expected in p for p in problems), problems
    result = CliRunner().invoke(main, ["validate", str(studies)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert _snapshot(studies) == before  # validation never modifies the files


def test_time_point_in_no_window_is_reported(studies: Path) -> None:
    path = studies / "outcomes.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "fairbank2005-odi-24,fairbank2005,odi,24,", "fairbank2005-odi-24,fairbank2005,odi,2,"
        ),
        encoding="utf-8",
    )
    warnings = [str(p) for p in validate_studies(studies) if p.warning]
    assert any("2 months lies in no follow-up window" in w for w in warnings)


@pytest.mark.parametrize("name", FILES)
def test_binary_and_empty_files(studies: Path, name: str) -> None:
    path = studies / f"{name}.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    assert any(str(path) in p and "binary" in p for p in _errors(studies))
    path.write_text("", encoding="utf-8")
    assert any("empty file" in p for p in _errors(studies))


def test_missing_or_broken_vocabulary(studies: Path) -> None:
    (studies / "review.toml").unlink()
    assert any("review.toml" in p for p in _errors(studies))
    (studies / "review.toml").write_text("[outcomes.odi]\ntype = 'ratio'\n", encoding="utf-8")
    assert any("review.toml" in p for p in _errors(studies))


def test_all_problems_are_reported_at_once(studies: Path) -> None:
    path = studies / "outcomes.csv"
    text = path.read_text(encoding="utf-8")
    text = text.replace(",138,34.0,21.1,", ",abc,34.0,21.1,", 1).replace(
        ",146,36.1,20.6,", ",146,36.1,-20.6,", 1
    )
    path.write_text(text, encoding="utf-8")
    problems = _errors(studies)
    assert len(problems) >= 2
    assert all(":" in p for p in problems)


def test_parse_derivation() -> None:
    assert parse_derivation("flip_contrast") == ("flip_contrast", {})
    assert parse_derivation("sd_from_ci(ci_low=-2.5, ci_high=3)") == (
        "sd_from_ci",
        {"ci_low": -2.5, "ci_high": 3.0},
    )
    for bad in (
        "os.system('x')",
        "sd_from_ci(1, 2)",
        "nope()",
        "sd_from_se(se='a')",
        "sd_from_se(se=1e999)",
        "sd_from_se(" + "(" * 5000,
        "x" * 10000,
    ):
        with pytest.raises(ValueError, match="derivation"):
            parse_derivation(bad)


def test_derivation_fills_a_value(studies: Path) -> None:
    path = studies / "outcomes.csv"
    text = path.read_text(encoding="utf-8").replace(
        ",138,34.0,21.1,,,,,,,ODI 0-100 (lower is better),yes,,",
        ",138,34.0,,,,,,,,ODI 0-100 (lower is better),yes,sd_from_se(se=1.8),",
        1,
    )
    path.write_text(text, encoding="utf-8")
    o = load_studies(studies).outcomes.set_index(["record_id", "arm"])
    assert o.loc[("fairbank2005-odi-24", "exp"), "sd"] == pytest.approx(1.8 * 138**0.5)


def _add_undated_trials(folder: Path, count: int) -> None:
    """``count`` fictional trials of comparison B, each with one binary record whose time point
    the source does not state (an empty ``timepoint_months``, as studies/README.md allows)."""
    for i in range(count):
        rid = f"undated{i}"
        with (folder / "sources.csv").open("a", encoding="utf-8") as fh:
            fh.write(f"{rid},Undated {i} et al. Test J 2031,,abstract,primary,invented\n")
        with (folder / "trials.csv").open("a", encoding="utf-8") as fh:
            fh.write(
                f"{rid},Undated{i},Undated{i},2031,Test J,1:1,,,B,adults,Nowhere,fusion,"
                f"rehabilitation,30,30,not stated,,RCT,{rid},abstract,30 and 30,no,\n"
            )
        with (folder / "outcomes.csv").open("a", encoding="utf-8") as fh:
            for arm, events in (("exp", 3 + i), ("ctrl", 5 + i)):
                fh.write(
                    f"{rid}-addsurg,{rid},additional_surgery,,intention to treat,arm,{arm},30,"
                    f",,{events},,,,,,further surgery,yes,,{rid},abstract,further surgery,no,"
                    "time point not stated\n"
                )


def test_several_records_without_a_time_point_are_valid(studies: Path) -> None:
    """Issue 21: every record after the first whose time point is unstated was rejected as 'a
    second primary record' (the key kept NaN and all such keys collided)."""
    _add_undated_trials(studies, 3)
    assert _errors(studies) == []
    records = load_studies(studies)
    undated = records.outcomes[records.outcomes["report_id"].str.startswith("undated")]
    assert undated["timepoint_months"].isna().all()  # missing stays missing
    surgery = select(records, "B", "additional_surgery", "longest")
    assert {"Undated0 2031", "Undated1 2031", "Undated2 2031"} <= set(surgery.labels)


def test_two_undated_primary_records_of_one_report_and_outcome_clash(studies: Path) -> None:
    _add_undated_trials(studies, 1)
    path = studies / "outcomes.csv"
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if "undated0" in line]
    with path.open("a", encoding="utf-8") as fh:
        for line in rows[-2:]:
            fh.write(line.replace("undated0-addsurg", "undated0-addsurg-b") + "\n")
    assert any("a second primary record" in p for p in _errors(studies))


def test_arm_rows_with_and_without_a_time_point_differ(studies: Path) -> None:
    _add_undated_trials(studies, 1)
    path = studies / "outcomes.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("undated0,additional_surgery,,", "undated0,additional_surgery,24,", 1),
        encoding="utf-8",
    )
    assert any("timepoint_months: differs from the other rows" in p for p in _errors(studies))


def _set_total_randomised(folder: Path, totals: dict[str, str]) -> None:
    """Add the optional ``n_randomised`` column to trials.csv with the given totals."""
    import csv

    path = folder / "trials.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = [*rows[0].keys(), "n_randomised"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "n_randomised": totals.get(row["report_id"], "")})


def test_a_total_randomised_counts_when_the_arms_are_not_printed(studies: Path) -> None:
    """Brox 2003 and 2006 print only their totals (the fixture's quotes: 'Sixty-four patients',
    'Sixty patients'); with them the participants of B ODI 2 years are 64 + 60 + 176 + 173
    (Fairbank's arms), no longer a lower bound."""
    from metafuse.review.study_facts import participants

    _set_total_randomised(studies, {"brox2003": "64", "brox2006": "60"})
    assert _errors(studies) == []
    records = load_studies(studies)
    data = select(records, "B", "odi", "2y")
    count = participants(data, records, data.labels)
    assert (count.total, count.basis, count.unknown) == (64 + 60 + 176 + 173, "randomised", ())


def test_a_total_randomised_must_match_its_arms(studies: Path) -> None:
    """Försth 2016 randomised 123 and 124 (the fixture's quote), so a total of 246 is refused."""
    _set_total_randomised(studies, {"forsth2016": "246"})
    errors = _errors(studies)
    assert len(errors) == 1
    assert "n_randomised" in errors[0]
    assert "247" in errors[0]


def test_records_no_analysis_pools_are_named_with_their_reason() -> None:
    """A not-primary record with no primary record of its report at its time point (a subgroup,
    a summary without numbers) is named for its trial; an alternative of a primary record (a
    sensitivity analysis) is not."""
    from metafuse.review.narrative import unpooled_records

    records = load_studies(FIXTURE_REVIEW / "studies")
    assert unpooled_records(records, "A", "leg_pain_improved") == {
        "SSSS": ["Karlsson 2024 (60 months): not the primary analysis"]
    }
    assert unpooled_records(records, "A", "odi") == {
        "SLIP": ["Ghogawala 2016 (time point not stated): not the primary analysis"]
    }
    # Fairbank's and Brox 2006's alternatives share report and time point with a primary record
    assert unpooled_records(records, "B", "odi") == {}
    assert unpooled_records(records, "B", "leg_pain_improved") == {}


def test_a_merged_follow_up_counts_its_trials_and_their_randomised(tmp_path: Path) -> None:
    """A report that merges trials (`includes`) is as many RCTs as it includes, and when it
    prints no count of its own its randomised participants are those its trials randomised
    (hand sums of the fixture's trials.csv)."""
    from metafuse.review.selection import select
    from metafuse.review.study_facts import participants

    studies = tmp_path / "studies"
    shutil.copytree(FIXTURE_REVIEW / "studies", studies)
    trials = pd.read_csv(studies / "trials.csv", dtype=str, keep_default_na=False)
    trials["n_randomised"] = ""
    trials.loc[trials["report_id"] == "brox2003", "n_randomised"] = "64"
    trials.loc[trials["report_id"] == "brox2006", "n_randomised"] = "60"
    trials.to_csv(studies / "trials.csv", index=False)
    records = load_studies(studies)
    five = select(records, "B", "odi", "5y")  # Brox 2010 (attenders, 61 + 50): both Brox trials
    count = participants(five, records, list(five.records))
    assert count.text(1, "RCTs") == "111 analysed (2 RCTs)"
    longest = select(records, "B", "odi", "longest")
    labels = list(longest.records)
    assert sorted(labels) == ["Fairbank 2005", "Froholdt 2012"]
    count = participants(longest, records, labels)  # Froholdt 2012 prints no count of its own
    assert count.text(2, "RCTs") == f"{176 + 173 + 64 + 60} randomised (3 RCTs)"
    assert count.note() == (
        "Randomised in the trials a report follows up: Froholdt 2012: 124 (Brox 2003 64; "
        "Brox 2006 60)."
    )


def test_an_empty_row_counts_trials_not_their_merged_follow_ups() -> None:
    """Comparison B of the fixture has five trials and two merged follow-up reports (Brox 2010 /
    Froholdt 2012 and Mannion 2013, `includes`): an outcome nobody reports is '5 of 5 trials';
    a merged follow-up that reports something counts for the trials it includes."""
    from metafuse.review.narrative import empty_outcome_row

    records = load_studies(FIXTURE_REVIEW / "studies")
    cells = gap_cells(records)
    row = empty_outcome_row(records, "B", "complications", cells, [])
    assert "5 of 5 trials reported no result" in row.comments.text
    # additional surgery: MRC (incomplete) and the merged Brox report (incomplete) reported
    row = empty_outcome_row(records, "B", "additional_surgery", cells, [])
    assert "2 of 5 trials reported no result" in row.comments.text
