"""Any review, not just the spine one (issue 21): the package holds no word of any review; a
second, unrelated review (tests/fixtures/beta_blockers, a frozen copy of examples/beta_blockers)
validates and builds end to end with no code change and no word of the spine review in any
output; its pooled results agree with metafor; a new review starts with ``metafuse init``."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from metafuse.cli import main
from metafuse.pipeline.outputs import run_all
from metafuse.review.records import load_studies, validate_studies
from metafuse.review.schema import FILES, schemas
from metafuse.review.skeleton import REVIEW_TOML
from metafuse.review.vocabulary import load_review
from tests.conftest import FIXTURE_REVIEW, ROOT
from tests.tolerances import CLOSED_FORM, printed

BETA_BLOCKERS = ROOT / "tests" / "fixtures" / "beta_blockers"
METAFOR = json.loads((ROOT / "tests" / "reference" / "metafor_yusuf1985.json").read_text())
#: Words of ordinary English and of meta-analysis that any review may use; every other word of a
#: review's vocabulary (read from its files below) is that review's own.
_GENERAL_WORDS = """
    abstract after alone arms back better control disc disease experimental from groups higher
    improved index life long meeting merged pain patient plus pmid points preprint process
    randomised rates reduction reported research review scale segment square study surgical
    systematic total trial trials used with without early death deaths beta blocker blockers
    started phase acute term short patients during then oral dose months years analysis cause
    causes overview tables least intervention mortality hospital period versus adults treatment
    swedish additional three
"""
GENERAL = frozenset(_GENERAL_WORDS.split())


def vocabulary(folder: Path) -> set[str]:
    """The distinctive words of the review in ``folder``: its title, comparisons, outcomes and
    harms (review.toml), trial names and authors, arms, and the published reviews it cites."""
    raw = tomllib.loads((folder / "review.toml").read_text(encoding="utf-8"))
    texts = [raw.get("title", "")]
    for comparison in raw["comparisons"].values():
        texts += [str(v) for v in comparison.values()]
    for key, outcome in raw["outcomes"].items():
        texts += [key, outcome.get("label", ""), outcome.get("short", ""), outcome.get("unit", "")]
    for key, harm in raw.get("harms", {}).items():
        if isinstance(harm, dict):
            texts += [key, harm["label"], harm.get("unit", "")]
    trials = pd.read_csv(folder / "trials.csv", dtype=str)
    for column in ("trial", "first_author", "exp_arm", "ctrl_arm"):
        texts += list(trials[column].dropna())
    published = folder / "published_estimates.csv"
    if published.exists():
        texts += list(pd.read_csv(published, dtype=str)["review"])
    words = {
        w.lower() for text in texts for w in re.findall(r"[A-Za-z]+", str(text).replace("_", " "))
    }
    return {w for w in words if len(w) >= 4 and w not in GENERAL}


def occurrences(words: set[str], text: str) -> set[str]:
    """The words found in ``text`` as whole words, any case."""
    found = set(re.findall(r"[A-Za-z]+", text.lower()))
    return words & found


SPINE = vocabulary(FIXTURE_REVIEW / "studies")


def test_the_package_holds_no_word_of_the_spine_review() -> None:
    """The spine review's vocabulary, read from its files, appears nowhere in metafuse/ (the
    second review's words may: the package cites Yusuf et al. 1985 for Peto's method)."""
    assert {"fusion", "lumbar", "oswestry", "laminectomy", "spondylolisthesis"} <= SPINE
    assert {"decompression", "conservative", "reoperation", "fairbank", "brox"} <= SPINE
    found = {}
    for path in sorted((ROOT / "metafuse").rglob("*")):
        if path.suffix in (".py", ".html", ".toml", ".md"):
            words = occurrences(SPINE, path.read_text(encoding="utf-8"))
            if words:
                found[str(path.relative_to(ROOT))] = sorted(words)
    assert found == {}
    assert "xu2021" not in "".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "metafuse").rglob("*.py")
    )


# --- the second review, end to end ---------------------------------------------------------


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The beta-blocker fixture review built once (no analyses/ folder: every analysis is
    automatic). Read only."""
    project = tmp_path_factory.mktemp("second")
    shutil.copytree(BETA_BLOCKERS / "studies", project / "studies")
    run_all(project / "analyses", project / "results")
    return project / "results"


def _text(path: Path) -> str:
    if path.suffix == ".docx":
        with zipfile.ZipFile(path) as z:
            return z.read("word/document.xml").decode("utf-8")
    return path.read_text(encoding="utf-8")


def test_it_validates_with_undated_records_unknown_years_and_a_declared_harm() -> None:
    studies = BETA_BLOCKERS / "studies"
    assert [str(p) for p in validate_studies(studies) if not p.warning] == []
    records = load_studies(studies)
    undated = records.outcomes.drop_duplicates("record_id")["timepoint_months"].isna()
    assert undated.sum() >= 100  # most records state no time point
    assert records.trials["year"].isna().all()
    assert records.review.harms["cardiogenic_shock"].grouping == "none"
    assert records.review.outcomes["death"].measure_label == "Peto OR"


def test_it_builds_with_no_word_of_the_spine_review(second: Path) -> None:
    texts = [
        p
        for p in second.rglob("*")
        if p.suffix in (".md", ".html", ".csv", ".txt", ".json", ".svg", ".docx")
    ]
    assert len(texts) > 30
    found = {str(p.relative_to(second)): sorted(occurrences(SPINE, _text(p))) for p in texts}
    assert {k: v for k, v in found.items() if v} == {}


def test_its_index_is_titled_and_links_its_harms_and_published_review_pages(second: Path) -> None:
    index = (second / "index.html").read_text(encoding="utf-8")
    title = load_review(BETA_BLOCKERS / "studies").title
    assert f"<h1>{title}</h1>" in index
    assert 'href="harms.html">Harms of early beta blockade' in index
    assert 'href="published_freemantle_1999_bmj.html">Freemantle 1999 (BMJ) beside' in index
    harms = (second / "harms.md").read_text(encoding="utf-8")
    assert "# Harms of early beta blockade in myocardial infarction" in harms
    assert "## Cardiogenic shock" in harms
    assert "no number entered (see notes)" in harms  # the gap stays visible


def test_pooled_results_agree_with_metafor_rma_peto(second: Path) -> None:
    for case in METAFOR["cases"]:
        ours = json.loads((second / case["analysis"] / "pooled.json").read_text())
        assert (ours["measure"], ours["method"]) == ("OR", "PETO")
        assert ours["k"] == case["k_estimable"]  # double-zero trials are left out (convention)
        assert ours["Q_df"] == case["Q_df"]
        for key in ("estimate", "se", "ci_low", "ci_high", "pval", "Q", "Q_pval", "I2"):
            assert ours[key] == pytest.approx(case[key], **CLOSED_FORM), (case["analysis"], key)


def test_the_sof_table_says_the_measure_and_method_it_uses(second: Path) -> None:
    sof = (second / "sof_long_term.md").read_text(encoding="utf-8")
    case = next(c for c in METAFOR["cases"] if c["analysis"] == "long_term_death_longest")
    shown = f"Peto OR {math.exp(case['estimate']):.2f} ({math.exp(case['ci_low']):.2f} to "
    assert shown in sof
    assert "Peto's fixed-effect method" in sof
    assert " RR " not in sof


def test_freemantles_odds_ratios_are_computed_from_the_printed_reductions(second: Path) -> None:
    """Freemantle 1999 abstract: '23% reduction in the odds of death in long term trials (95%
    confidence interval 15% to 31%)' and '4% reduction ... in short term trials (-8% to 15%)':
    OR = 1 - reduction (Cochrane Handbook 5.1, 12.5.1), by hand 0.77 (0.69 to 0.85) and 0.96
    (0.85 to 1.08)."""
    pub = load_studies(BETA_BLOCKERS / "studies").published_estimates
    assert pub is not None
    rows = pub.set_index("estimate_id")
    for rid, expected in (
        ("freemantle1999-death-long", (0.77, 0.69, 0.85)),
        ("freemantle1999-death-short", (0.96, 0.85, 1.08)),
    ):
        got = tuple(rows.loc[rid, ["estimate", "ci_low", "ci_high"]])
        assert got == pytest.approx(expected, **printed(12))
    page = (second / "published_freemantle_1999_bmj.md").read_text(encoding="utf-8")
    assert "OR 0.77 [0.69, 0.85] (computed here from what they print" in page


def _long_term_death(project: Path) -> tuple[Any, list[Any]]:
    """The plan of ``project`` and its long-term mortality analysis fitted (no figures)."""
    from metafuse.pipeline.outputs import run_plan
    from metafuse.pipeline.plan import make_plan

    plan = make_plan(project / "analyses")
    specs = tuple(s for s in plan.specs if s.name == "long_term_death_longest")
    return plan, run_plan(dataclasses.replace(plan, specs=specs))


def test_their_measure_beside_ours_re_pooled_from_the_same_arms(tmp_path: Path) -> None:
    """A published row in RR beside our Peto OR: ours is re-pooled as an RR from the same 2x2
    tables (Mantel-Haenszel, as metafor's rma.mh gives it) and set beside theirs."""
    from metafuse.pipeline.replication_page import write_published_reviews

    studies = tmp_path / "studies"
    shutil.copytree(BETA_BLOCKERS / "studies", studies)
    path = studies / "published_estimates.csv"
    row = (
        pd.read_csv(path, dtype=str)
        .iloc[[0]]
        .assign(
            estimate_id="test-rr",
            review="Test 2000 (J Test)",
            measure="RR",
            estimate="0.8",
            ci_low="0.7",
            ci_high="0.9",
            derivation=None,
        )
    )
    pd.concat([pd.read_csv(path, dtype=str), row]).to_csv(path, index=False)
    plan, analyses = _long_term_death(tmp_path)
    write_published_reviews(plan.records[studies.resolve()], analyses, tmp_path / "out")
    page = (tmp_path / "out" / "published_test_2000_j_test.md").read_text(encoding="utf-8")
    ref = METAFOR["repooled_rr"]
    rr = [f"{math.exp(ref[k]):.2f}" for k in ("estimate", "ci_low", "ci_high")]
    assert f"in their measure: Risk ratio {rr[0]} [{rr[1]}, {rr[2]}] (MH, re-pooled" in page
    assert "ours re-pooled as RR from the same arm data" in page


# --- starting a review -----------------------------------------------------------------------


def test_init_writes_a_skeleton_that_validates_and_builds(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    studies = tmp_path / "new" / "studies"
    assert (tmp_path / "new" / "analyses").is_dir()
    assert not list((tmp_path / "new" / "analyses").iterdir())
    review = load_review(studies)
    layouts = schemas(review)
    for name in FILES:
        header = (studies / f"{name}.csv").read_text(encoding="utf-8").strip().split(",")
        assert header == list(layouts[name].columns)  # every column, required and optional
    assert [str(p) for p in validate_studies(studies)] == []
    run_all(tmp_path / "new" / "analyses", tmp_path / "new" / "results")
    sof = (tmp_path / "new" / "results" / "sof_A.md").read_text(encoding="utf-8")
    assert "No trial result could be pooled" in sof
    # records but no analysis yet: a second build is a build, not "nothing to build"
    run_all(tmp_path / "new" / "analyses", tmp_path / "new" / "results")
    again = runner.invoke(main, ["init", str(tmp_path / "new")])
    assert again.exit_code == 1
    assert "never overwrites" in again.output


def test_the_readme_walkthrough_reaches_an_sof_row(tmp_path: Path) -> None:
    """README's "Start a review in any folder", followed literally: its rows, appended to the
    skeleton's CSV files, validate and give the SoF row the README promises (RR from 8/100 vs
    15/100: 0.53, by hand)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Start a review in any folder", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"cat >> studies/(\w+)\.csv <<'EOF'\n(.*?)\nEOF", section, re.S)
    assert {name for name, _ in blocks} == {"sources", "trials", "outcomes"}
    assert CliRunner().invoke(main, ["init", str(tmp_path / "myreview")]).exit_code == 0
    studies = tmp_path / "myreview" / "studies"
    for name, rows in blocks:
        with (studies / f"{name}.csv").open("a", encoding="utf-8") as out:
            out.write(rows + "\n")
    assert [str(p) for p in validate_studies(studies)] == []
    run_all(tmp_path / "myreview" / "analyses", tmp_path / "myreview" / "results")
    sof = (tmp_path / "myreview" / "results" / "sof_A.md").read_text(encoding="utf-8")
    promised = re.search(r'now has the row "([^"]+)"', section.replace("\n", " "))
    assert promised is not None
    row = next(line for line in sof.splitlines() if line.startswith("| All-cause mortality"))
    assert row.startswith(f"| {promised[1]} |"), row
    assert "RR 0.53" in row, row


def test_the_skeleton_explains_every_key_of_review_toml() -> None:
    from metafuse.review.harm_declarations import HARM_KEYS

    keys = {"title", "label", "experimental", "control", "population", "setting"}
    keys |= {"intervention", "comparator", "type", "short", "unit", "range", "better", "mid"}
    keys |= {"mid_source", "comparisons", "measure", "method", "months", "longest", "page"}
    keys |= set(HARM_KEYS) | {"kind", "scale", "source"} | {"designs", "harms", "windows"}
    for key in keys:
        assert re.search(rf"(^|[\s#\[.]){key}\b", REVIEW_TOML, re.M), key


# --- the validator accepts what the docs allow, and says what it refuses ----------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('measure = "OR"\nmethod = "PETO"', 'measure = "SMD"', "a binary outcome pools RR, OR, RD"),
        ('method = "PETO"', 'method = "NOPE"', "unknown method"),
        (
            'measure = "OR"\nmethod = "PETO"',
            'measure = "RR"\nmethod = "PETO"',
            "PETO pools only OR",
        ),
        ('grouping = "none"', 'grouping = "sometimes"', "must be one of window, all, none"),
        (
            '[harms.cardiogenic_shock]\nlabel = "Cardiogenic shock"',
            "[harms.cardiogenic_shock]",
            "label",
        ),
    ],
)
def test_review_toml_errors_name_the_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    studies = tmp_path / "studies"
    shutil.copytree(BETA_BLOCKERS / "studies", studies)
    path = studies / "review.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = [str(p) for p in validate_studies(studies)]
    assert any("review.toml" in p and expected in p for p in problems), problems


def test_a_harm_not_declared_is_an_error_naming_the_row(tmp_path: Path) -> None:
    studies = tmp_path / "studies"
    shutil.copytree(BETA_BLOCKERS / "studies", studies)
    path = studies / "harms.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",cardiogenic_shock,", ",shock,", 1))
    problems = [str(p) for p in validate_studies(studies)]
    assert any("harms.csv:2: harm: 'shock' is not one of" in p for p in problems), problems


def test_year_and_journal_may_be_unknown_or_empty_and_label_resolves_clashes(
    tmp_path: Path,
) -> None:
    studies = tmp_path / "studies"
    shutil.copytree(BETA_BLOCKERS / "studies", studies)
    trials = pd.read_csv(studies / "trials.csv", dtype=str, keep_default_na=False)
    trials.loc[0, ["year", "journal"]] = ["", ""]
    trials.loc[1, ["year", "journal"]] = ["1979", "Unknown"]
    trials.to_csv(studies / "trials.csv", index=False)
    assert [str(p) for p in validate_studies(studies) if not p.warning] == []
    records = load_studies(studies)
    assert records.label(trials.loc[0, "report_id"]) == trials.loc[0, "label"]
    trials.loc[:1, "label"] = ""
    trials.loc[1, ["first_author", "year"]] = [trials.loc[0, "first_author"], ""]
    trials.to_csv(studies / "trials.csv", index=False)
    problems = [str(p) for p in validate_studies(studies)]
    assert any("give one of them a distinct `label`" in p for p in problems), problems


def test_every_column_of_every_file_is_documented_in_one_table() -> None:
    """studies/README.md's column table lists every column of the six files, each as the
    schema needs it: required, may be empty, or optional column."""
    from metafuse.review.harms import harms_schema
    from metafuse.review.published import published_schema

    review = load_review(BETA_BLOCKERS / "studies")
    layouts = {
        **schemas(review),
        "harms": harms_schema(review),
        "published_estimates": published_schema(review),
    }
    text = (ROOT / "studies" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)\.csv` \| `(\w+)` \| ([a-z ]+) \|", text, re.M)
    documented = {(file, column): needed for file, column, needed in rows}
    expected = {
        (name, column): (
            "optional column"
            if not spec.required
            else ("may be empty" if spec.nullable else "required")
        )
        for name, layout in layouts.items()
        for column, spec in layout.columns.items()
    }
    assert documented == expected


# --- the protocol's measure and method --------------------------------------------------------


def test_absolute_effects_from_an_odds_ratio_and_a_risk_ratio_by_the_handbook() -> None:
    """Cochrane Handbook 5.1, 12.5.4.3: OR 0.73 at an assumed control risk of 0.3 is 62 fewer per
    1000; 12.5.4.2: RR 0.92 at 0.3 is 24 fewer per 1000."""
    from metafuse.review.imprecision import absolute_per_1000

    assert round(absolute_per_1000("OR", 0.3, 0.73)) == -62
    assert round(absolute_per_1000("RR", 0.3, 0.92)) == -24
    # a risk difference of -0.05 at 0.3: 250 per 1000, 50 fewer (by hand)
    assert round(absolute_per_1000("RD", 0.3, -0.05)) == -50


def test_an_outcome_declaring_rr_and_mantel_haenszel_pools_with_them(tmp_path: Path) -> None:
    """The same trials with `measure = "RR"`, `method = "MH"`: metafor's rma.mh gives the
    pooled RR; the SoF row says RR, and the subtitle the Mantel-Haenszel method."""
    from metafuse.pipeline.tables import sof_tables
    from metafuse.report.writers import render_table

    shutil.copytree(BETA_BLOCKERS / "studies", tmp_path / "studies")
    path = tmp_path / "studies" / "review.toml"
    text = path.read_text(encoding="utf-8")
    old = '[outcomes.death]\nlabel = "All-cause mortality"\nshort = "death"\ntype = "binary"\n'
    old += 'better = "lower"\nmeasure = "OR"\nmethod = "PETO"'
    assert old in text
    path.write_text(text.replace(old, old.replace('"OR"', '"RR"').replace("PETO", "MH")))
    plan, analyses = _long_term_death(tmp_path)
    ours = analyses[0].result
    ref = METAFOR["repooled_rr"]
    assert (ours.measure, ours.method) == ("RR", "MH")
    for key in ("estimate", "ci_low", "ci_high"):
        assert getattr(ours, key) == pytest.approx(ref[key], **CLOSED_FORM)
    table = dict(sof_tables(analyses, plan.records))["long_term"]
    sof = render_table(table, "sof", "md").decode()
    rr = f"RR {math.exp(ref['estimate']):.2f} ({math.exp(ref['ci_low']):.2f} to"
    assert rr in sof
    assert "Mantel-Haenszel fixed-effect method and Peto's fixed-effect method" in sof


def test_contrasts_in_another_measure_are_named_not_pooled(project: Path) -> None:
    """A continuous outcome declared SMD: the spine fixture's MD contrasts are listed as not
    pooled with their reason; its arm-level trials pool as SMD."""
    from metafuse.review.selection import select

    path = project / "studies" / "review.toml"
    text = path.read_text(encoding="utf-8")
    old = 'unit = "ODI points"\nrange = [0, 100]\nbetter = "lower"\n'
    assert old in text
    path.write_text(text.replace(old, old + 'measure = "SMD"\n', 1), encoding="utf-8")
    data = select(load_studies(project / "studies"), "B", "odi", "2y")
    assert data.measure == "SMD"
    assert any("contrast given as MD, not SMD" in why for _label, why in data.incomplete)


def test_a_table_method_lists_contrast_records_as_not_pooled(tmp_path: Path) -> None:
    """Peto's method pools 2x2 tables: a trial given only as an odds ratio with its CI is named
    as not pooled, with the reason (a synthetic contrast row added to the fixture)."""
    from metafuse.review.selection import select

    studies = tmp_path / "studies"
    shutil.copytree(BETA_BLOCKERS / "studies", studies)
    outcomes = pd.read_csv(studies / "outcomes.csv", dtype=str, keep_default_na=False)
    rid = outcomes["record_id"].iloc[0]
    first = outcomes[outcomes["record_id"] == rid]
    outcomes.loc[outcomes["record_id"] == rid, "primary"] = "no"  # the arm rows: alternatives
    contrast = first.iloc[[0]].assign(
        record_id=rid + "-or",
        data_type="contrast",
        arm="",
        n="",
        events="",
        measure="OR",
        estimate="0.9",
        ci_low="0.5",
        ci_high="1.6",
        direction="exp-ctrl",
        primary="yes",
    )
    pd.concat([outcomes, contrast]).to_csv(studies / "outcomes.csv", index=False)
    assert [str(p) for p in validate_studies(studies) if not p.warning] == []
    records = load_studies(studies)
    data = select(records, "short_term", "death", "longest")
    label = records.label(first["report_id"].iloc[0])
    reasons = dict(data.incomplete)
    assert "a contrast cannot enter a PETO analysis" in reasons[label]
    assert data.measure == "OR"  # the other trials still pool as 2x2 tables


def test_mantel_haenszel_on_a_continuous_outcome_is_an_error(project: Path) -> None:
    path = project / "studies" / "review.toml"
    text = path.read_text(encoding="utf-8")
    old = 'unit = "ODI points"\nrange = [0, 100]\nbetter = "lower"\n'
    assert old in text
    path.write_text(text.replace(old, old + 'method = "MH"\n', 1), encoding="utf-8")
    problems = [str(p) for p in validate_studies(project / "studies")]
    assert any("outcomes.odi.method" in p and "pools only RR, OR, RD" in p for p in problems), (
        problems
    )


# --- names the build writes ------------------------------------------------------------------


def test_a_spec_may_not_take_the_name_of_a_review_page(project: Path) -> None:
    from metafuse.exceptions import SpecError
    from metafuse.pipeline.plan import make_plan

    (project / "analyses" / "harms_fusion.toml").write_text(
        'data = "examples/bcg.csv"\nmeasure = "RR"\n', encoding="utf-8"
    )
    with pytest.raises(SpecError, match="page 'harms_fusion' of this review"):
        make_plan(project / "analyses")
    (project / "analyses" / "harms_fusion.toml").unlink()
    (project / "analyses" / "published_x.toml").write_text(
        'data = "examples/bcg.csv"\nmeasure = "RR"\n', encoding="utf-8"
    )
    with pytest.raises(SpecError, match="reserved for an output of the build"):
        make_plan(project / "analyses")


def test_two_reviews_that_would_share_a_page_are_an_error(tmp_path: Path) -> None:
    studies = tmp_path / "studies"
    shutil.copytree(BETA_BLOCKERS / "studies", studies)
    path = studies / "published_estimates.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[1, "review"] = "Freemantle 1999 [BMJ]"
    frame.to_csv(path, index=False)
    problems = [str(p) for p in validate_studies(studies)]
    assert any("would share the page 'published_freemantle_1999_bmj'" in p for p in problems)


def test_harm_grouping_all_pools_whatever_the_follow_up_and_none_never() -> None:
    from metafuse.review.harm_declarations import Harm
    from metafuse.review.harm_groups import group_counts
    from metafuse.review.harms import read_harms

    fixture = ROOT / "tests" / "fixtures" / "harms"
    review = load_review(FIXTURE_REVIEW / "studies")
    harms, _lines, problems = read_harms(fixture, review, pd.read_csv(fixture / "sources.csv"))
    assert problems == []
    assert harms is not None
    windows = review.bounded_windows()
    every = group_counts(
        harms, {"reoperation": Harm("reoperation", "Reoperation", "", "all")}, windows
    )
    assert [g.key for g in every] == ["reoperation_patient_all", "reoperation_patient-year_all"]
    assert all(g.any_follow_up for g in every)
    never = group_counts(
        harms, {"reoperation": Harm("reoperation", "Reoperation", "", "none")}, windows
    )
    assert all(len(g.harm_ids) == 1 for g in never)
    assert sum(len(g.harm_ids) for g in never) == sum(len(g.harm_ids) for g in every)


def test_absolute_effects_follow_from_the_comparator_risk_shown(second: Path) -> None:
    """GRADEpro's arithmetic on the numbers the row prints: the median control risk is shown per
    1000 and the risk with the intervention is computed from that number (odds conversion for a
    Peto OR), so that 'risk with' minus 'risk without' is the difference printed."""
    sof = (second / "sof_long_term.md").read_text(encoding="utf-8")
    row = next(line for line in sof.splitlines() if line.startswith("| All-cause mortality"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    acr = int(re.match(r"(\d+) per 1000", cells[1])[1]) / 1000  # type: ignore[index]
    pooled = json.loads((second / "long_term_death_longest" / "pooled.json").read_text())
    odds = acr / (1 - acr)
    ratios = (pooled["exp"]["estimate"], pooled["exp"]["ci_low"], pooled["exp"]["ci_high"])
    risk = [odds * r / (1 + odds * r) for r in ratios]
    assert cells[2].startswith(f"{risk[0] * 1000:.0f} per 1000 ({risk[1] * 1000:.0f} to")
    fewer = [round((acr - r) * 1000) for r in risk]
    assert cells[3] == (f"{fewer[0]} fewer per 1000 (from {fewer[1]} fewer to {fewer[2]} fewer)"), (
        cells[3]
    )
    assert int(cells[1].split()[0]) - int(cells[2].split()[0]) == fewer[0]


def test_participants_and_comparator_risk_count_the_studies_pooled(second: Path) -> None:
    """A trial with no events in either group is not in k (Peto OR): it is not counted among the
    participants either, and the note names it (hand count from the fixture's outcomes.csv)."""
    rows = pd.read_csv(BETA_BLOCKERS / "studies" / "outcomes.csv")
    pooled = json.loads((second / "short_term_death_longest" / "pooled.json").read_text())
    used = {s["study"] for s in pooled["studies"] if s["yi"] is not None}
    assert len(used) == pooled["k"]
    trials = pd.read_csv(BETA_BLOCKERS / "studies" / "trials.csv")
    short = set(trials.loc[trials["comparison"] == "short_term", "report_id"])
    death = rows[
        (rows["outcome"] == "death") & (rows["primary"] == "yes") & rows["report_id"].isin(short)
    ]
    death = death[death["events"].notna() & death["n"].notna()]  # the unreported are not pooled
    by_record = death.groupby("record_id").agg(events=("events", "sum"), n=("n", "sum"))
    with_events = by_record[by_record["events"] > 0]
    assert len(with_events) + (by_record["events"] == 0).sum() == len(by_record)
    sof = (second / "sof_short_term.md").read_text(encoding="utf-8")
    row = next(line for line in sof.splitlines() if line.startswith("| All-cause mortality"))
    assert f"{with_events['n'].sum():.0f} analysed ({pooled['k']} RCTs)" in row, row
    dropped = int((by_record["events"] == 0).sum())
    assert f"Not counted: {dropped} studies that do not enter the pooled estimate" in sof


def test_a_row_label_says_for_how_many_studies_no_follow_up_is_stated(second: Path) -> None:
    """'12 to 36 months' must not read as the follow-up of every pooled trial when some do not
    state one (counted by hand from the fixture's outcomes.csv)."""
    rows = pd.read_csv(BETA_BLOCKERS / "studies" / "outcomes.csv")
    trials = pd.read_csv(BETA_BLOCKERS / "studies" / "trials.csv")
    long_term = set(trials.loc[trials["comparison"] == "long_term", "report_id"])
    death = rows[
        (rows["outcome"] == "death")
        & (rows["primary"] == "yes")
        & rows["report_id"].isin(long_term)
        & rows["events"].notna()
    ].drop_duplicates("record_id")
    stated = death["timepoint_months"].dropna()
    unstated = int(death["timepoint_months"].isna().sum())
    assert unstated > 0
    assert len(stated) > 0
    sof = (second / "sof_long_term.md").read_text(encoding="utf-8")
    span = f"{stated.min():g} to {stated.max():g} months"
    label = f"longest follow-up: {span} (not stated for {unstated} studies)"
    assert f"| All-cause mortality; {label}" in sof
