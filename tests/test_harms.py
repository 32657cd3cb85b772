"""The harms profile: harms.csv validated (file, line, column), the grouping rule, single-arm
proportions pooled as metafor does (and as a hand calculation), published pooled estimates kept
apart from our pools, and the profile's files (deterministic, with forest plots).

Fixture: tests/fixtures/harms (synthetic numbers, marked as such in its sources.csv)."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from metafuse.cli import main
from metafuse.pipeline.harms import figure_value, harms_profile, profile_csv, write_harms
from metafuse.review.harm_groups import (
    HarmGroup,
    follow_up_months,
    follow_up_window,
    group_counts,
    not_poolable_reason,
    pool_group,
)
from metafuse.review.harms import read_harms
from metafuse.review.records import load_studies, validate_studies
from metafuse.review.vocabulary import Window, load_review
from tests.conftest import FIXTURE_REVIEW, ROOT
from tests.tolerances import CLOSED_FORM, ITERATIVE

HARMS_FIXTURE = ROOT / "tests" / "fixtures" / "harms"
TOOLBOX_REFERENCE = ROOT / "tests" / "reference" / "metafor_toolbox.json"
WINDOWS = [Window("2y", "about 2 years (12-30 months)", (12, 30)), Window("5y", "5y", (48, 72))]
#: The harms the fixture review declares (review.toml [harms.<key>]).
REVIEW = load_review(FIXTURE_REVIEW / "studies")
DECLARED = REVIEW.harms


def _fixture() -> pd.DataFrame:
    sources = pd.read_csv(HARMS_FIXTURE / "sources.csv")
    harms, _lines, problems = read_harms(HARMS_FIXTURE, REVIEW, sources)
    assert problems == []
    assert harms is not None
    return harms


def _with_fixture_harms(studies: Path) -> Path:
    """The fixture review's studies folder with the synthetic harms file and its sources."""
    shutil.copy(HARMS_FIXTURE / "harms.csv", studies / "harms.csv")
    extra = (HARMS_FIXTURE / "sources.csv").read_text(encoding="utf-8").splitlines()[1:]
    with (studies / "sources.csv").open("a", encoding="utf-8") as f:
        f.write("\n".join(extra) + "\n")
    return studies


# --- validation -----------------------------------------------------------------------------------


def _edit(studies: Path, old: str, new: str) -> None:
    path = studies / "harms.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("count,4,31,12.9", "count,40,31,12.9", "harms.csv:2: events: events (40) exceed n (31)"),
        ("count,4,31,12.9", "count,4,31,22.9", "harms.csv:2: percent: 22.9 does not match"),
        ("count,4,31,12.9", "count,4.5,31,", "harms.csv:2: events: must be a whole number"),
        ("fx-trial-arm,reoperation", "fx-trial-arm,reop", "harms.csv:2: harm: 'reop' is not one"),
        ("count,4,31,12.9", "count,4,abc,12.9", "harms.csv:2: n: not a number: 'abc'"),
        ("patient,RCT arm,synthetic", "patient,trial arm,synthetic", "harms.csv:2: design:"),
        ("Table 2,4/31 reoperated,no", "Table 2,4/31 reoperated,maybe", "harms.csv:2: weak:"),
        (",fx-trial,Table 2", ",fx-nowhere,Table 2", "harms.csv:2: source_id: unknown source"),
        ("10.0,8.0,12.0", "14.0,8.0,12.0", "harms.csv:9: estimate: 14 lies outside its CI"),
        ("10.0,8.0,12.0", "10.0,8.0,", "harms.csv:9: ci_low: a CI needs both"),
        (
            "abstract,12 of 80,yes",
            "abstract,12 of 80,no",
            "harms.csv:6: weak: source 'fx-meeting' is weak",
        ),
        ("count,7,,", "count,,,", "harms.csv:11: events: a count figure needs events"),
        ("harm_id,harm,", "id,harm,", "harms.csv:1: harm_id: missing required column"),
    ],
)
def test_validation_names_file_line_and_column(
    studies: Path, old: str, new: str, expected: str
) -> None:
    _with_fixture_harms(studies)
    assert [p for p in validate_studies(studies) if not p.warning] == []
    _edit(studies, old, new)
    errors = [str(p) for p in validate_studies(studies) if not p.warning]
    assert any(e.endswith(expected) or expected in e for e in errors), errors
    assert all(e.startswith(str(studies / "harms.csv")) for e in errors), errors


def test_validate_command_reports_harms_problems(studies: Path) -> None:
    _with_fixture_harms(studies)
    _edit(studies, "count,4,31,12.9", "count,40,31,12.9")
    result = CliRunner().invoke(main, ["validate", str(studies)])
    assert result.exit_code == 1
    assert "harms.csv:2: events: events (40) exceed n (31)" in result.output
    assert "Traceback" not in result.output


def test_a_bad_harms_file_stops_the_build(studies: Path) -> None:
    _with_fixture_harms(studies)
    _edit(studies, "count,4,31,12.9", "count,40,31,12.9")
    out = studies.parent / "results"
    result = CliRunner().invoke(
        main, ["analysis", str(studies.parent / "analyses"), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 1
    assert "harms.csv:2: events: events (40) exceed n (31)" in result.output
    assert not out.exists()


def test_live_layout_reads_as_printed() -> None:
    """Numbers keep their printed form for display ('12.9', not a float repr)."""
    harms = _fixture().set_index("harm_id")
    assert harms.loc["fx-review-pooled", "printed_estimate"] == "10.0"
    assert figure_value(harms.loc["fx-review-pooled"]) == "10.0% (95% CI 8.0 to 12.0)"
    assert figure_value(harms.loc["fx-trial-arm"]) == "4/31 (12.9%)"
    assert figure_value(harms.loc["fx-cohort-2y"]) == "20/150 (13.3%, computed)"
    no_n = figure_value(harms.loc["fx-trial-no-n"])
    assert no_n == "7 events, denominator not printed"


# --- grouping rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "months", "window"),
    [
        ("2 years", (24.0, 24.0), "2y"),
        ("24 months", (24.0, 24.0), "2y"),
        ("mean 1.5 years", (18.0, 18.0), "2y"),
        ("1 to 2 years (trial follow-up)", (12.0, 24.0), "2y"),
        ("to the end of 2013 (mean 3.9 years)", (46.8, 46.8), None),
        ("5 years", (60.0, 60.0), "5y"),
        ("mean 12.6 years (range 10-17); 72% followed", (151.2, 151.2), None),
        ("1 to 5 years", (12.0, 60.0), None),
        ("at least 12 months", None, None),
        ("not stated", None, None),
        (None, None, None),
    ],
)
def test_follow_up_is_read_from_its_text(
    text: str | None, months: tuple[float, float] | None, window: str | None
) -> None:
    assert follow_up_months(text) == (pytest.approx(months) if months else None)
    found = follow_up_window(text, WINDOWS)
    assert (found.key if found else None) == window


def test_grouping_rule() -> None:
    """Same harm, same unit, same follow-up window; single-study counts with n only."""
    groups = {g.key: g.harm_ids for g in group_counts(_fixture(), DECLARED, WINDOWS)}
    assert groups == {
        "non_union_patient_2y": ("fx-cohort-nonunion",),
        "reoperation_patient_2y": ("fx-trial-arm", "fx-cohort-2y", "fx-registry-2y"),
        "reoperation_patient_5y": ("fx-cohort-5y",),
        "reoperation_fx-meeting-unstated": ("fx-meeting-unstated",),
        "reoperation_patient-year_2y": ("fx-registry-per-year",),
    }


def test_what_is_never_pooled_says_why() -> None:
    harms = _fixture().set_index("harm_id", drop=False)
    reasons = {h: not_poolable_reason(harms.loc[h]) for h in harms.index}
    assert "never re-pooled" in str(reasons["fx-review-pooled"])
    assert "crude total over several studies" in str(reasons["fx-review-total"])
    assert "percentage" in str(reasons["fx-registry-percent"])
    assert "no denominator" in str(reasons["fx-trial-no-n"])
    groups = group_counts(harms.reset_index(drop=True), DECLARED, WINDOWS)
    pooled = {h for g in groups for h in g.harm_ids}
    assert pooled == {h for h, r in reasons.items() if r is None}


# --- pooling --------------------------------------------------------------------------------------


def test_fixed_effect_logit_pool_by_hand() -> None:
    """Inverse-variance pool of logits log(x / (n - x)), variance 1/x + 1/(n - x)."""
    harms = _fixture()
    groups = group_counts(harms, DECLARED, WINDOWS)
    group = next(g for g in groups if g.key == "reoperation_patient_2y")
    counts = [(4, 31), (20, 150), (9, 60)]
    y = [math.log(x / (n - x)) for x, n in counts]
    w = [1 / (1 / x + 1 / (n - x)) for x, n in counts]
    est = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sum(w)
    se = 1 / math.sqrt(sum(w))
    res = pool_group(group, harms, method="FE")
    assert res.estimate == pytest.approx(est, **CLOSED_FORM)
    assert res.se == pytest.approx(se, **CLOSED_FORM)
    back = res.back_transformed()
    ilogit = [1 / (1 + math.exp(-v)) for v in (est, est - 1.959963984540054 * se)]
    assert back["estimate"] == pytest.approx(ilogit[0], **CLOSED_FORM)
    assert back["ci_low"] == pytest.approx(ilogit[1], **CLOSED_FORM)


def test_reml_logit_pool_matches_metafor() -> None:
    """metafor 3.8: rma(escalc("PLO", xi, ni), method = "REML") on dat.pritz1997, with
    predict(transf = transf.ilogit) (tests/reference/run_metafor_toolbox.R)."""
    ref = json.loads(TOOLBOX_REFERENCE.read_text(encoding="utf-8"))
    case = ref["proportion"]["pritz1997/PLO/REML"]
    data = pd.DataFrame(ref["datasets"]["pritz1997"]).rename(columns={"study": "harm_id"})
    group = HarmGroup("pritz", "non_union", "patient", WINDOWS[0], tuple(data["harm_id"]))
    res = pool_group(group, data)
    assert (res.measure, res.method) == ("PLO", "REML")
    assert [res.estimate, res.se, res.tau2] == pytest.approx(
        [case["estimate"], case["se"], case["tau2"]], **ITERATIVE
    )
    back = res.back_transformed()
    assert [back["estimate"], back["ci_low"], back["ci_high"]] == pytest.approx(
        [case["back_estimate"], case["back_ci_low"], case["back_ci_high"]], **ITERATIVE
    )


# --- the profile ------------------------------------------------------------------------------


def test_published_estimates_are_shown_never_pooled(studies: Path) -> None:
    profile = harms_profile(load_studies(_with_fixture_harms(studies)))
    assert profile is not None
    members = {h for g, _ in profile.groups for h in g.harm_ids}
    assert "fx-review-pooled" not in members
    assert "fx-review-total" not in members
    table = pd.read_csv(io.StringIO(profile_csv(profile))).set_index("row")
    assert table.loc["fx-review-pooled", "kind"] == "published pooled estimate"
    assert "never re-pooled" in table.loc["fx-review-pooled", "pooling"]
    pooled = table.loc["reoperation_patient_2y"]
    assert pooled["kind"] == "pooled here (PLO, REML)"
    assert (pooled["events"], pooled["n"], pooled["n_studies"]) == (33, 241, 3)


def test_profile_files_and_forest_plots(studies: Path, tmp_path: Path) -> None:
    records = load_studies(_with_fixture_harms(studies))
    first = write_harms(records, tmp_path / "a")
    names = sorted(p.relative_to(tmp_path / "a").as_posix() for p in first)
    assert "harms_fusion.md" in names
    assert "harms_fusion/forest_reoperation_patient_2y.png" in names
    again = write_harms(records, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    md = (tmp_path / "a" / "harms_fusion.md").read_text(encoding="utf-8")
    assert "Grouping rule:" in md
    assert "Pooled here (logit proportions, REML, k = 3)" in md
    assert "**WEAK SOURCE**" in md
    assert "fx-review-pooled: a published pooled estimate: shown as published" in md
    html = (tmp_path / "a" / "harms_fusion.html").read_text(encoding="utf-8")
    assert "<strong>WEAK SOURCE</strong>" in html
    assert 'src="harms_fusion/forest_reoperation_patient_2y.png"' in html


def test_no_harms_file_no_profile(studies: Path, tmp_path: Path) -> None:
    (studies / "harms.csv").unlink()
    assert write_harms(load_studies(studies), tmp_path) == []
