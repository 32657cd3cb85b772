"""The pipeline on the frozen fixture review: specs checked key by key, analyses that follow the
data, SoF rows for every declared outcome, atomic and deterministic outputs, and verify."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from metafuse.cli import main
from metafuse.exceptions import SpecError
from metafuse.files import to_json
from metafuse.pipeline.manifest import MANIFEST, compare, read_manifest
from metafuse.pipeline.outputs import run_all, run_plan
from metafuse.pipeline.plan import make_plan
from metafuse.pipeline.spec import read_spec
from metafuse.pipeline.tables import sof_tables
from metafuse.report.writers import render_table
from tests.test_studies import _add_trial

RECORDS_SPEC = 'studies = "studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('data = "examples/bcg.csv"\nmeasure = "XX"\n', "measure"),
        ('data = "examples/bcg.csv"\nmeasure = "RR"\nmethod = "NOPE"\n', "method"),
        ('data = "examples/bcg.csv"\nmeasure = "RR"\nhksj = "yes"\n', "hksj"),
        ('data = "examples/bcg.csv"\nmeasure = "RR"\ncolour = "red"\n', "colour"),
        ('data = "examples/bcg.csv"\nmeasure = ["RR"]\n', "measure"),
        ('data = "examples/bcg.csv"\nmeasure = "RR"\nexclude = []\n', "exclude"),
        ('data = "examples/bcg.csv"\nmeasure = "RR"\nlevel = 1.5e3\n', "level"),
        ('studies = "studies"\ncomparison = ["A"]\noutcome = "odi"\nwindow = "2y"\n', "comparison"),
        ('studies = "studies"\ncomparison = "A"\noutcome = "odi"\n', "window"),
        ('measure = "RR"\n', "data"),
        ("this is = not toml [", "cannot read spec"),
        (RECORDS_SPEC + "[grade]\nmid = nan\nmid_source = 'x'\n", "grade.mid"),
        (RECORDS_SPEC + "[grade]\nmid = true\nmid_source = 'x'\n", "grade.mid"),
        (RECORDS_SPEC + "[grade]\ncomment = 3\n", "grade.comment"),
    ],
)
def test_invalid_spec_names_file_and_key(project: Path, text: str, key: str) -> None:
    path = project / "analyses" / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=key) as info:
        read_spec(path, project)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["..", ".", "manifest.json", "sof_A", "a b", "index"])
def test_spec_names_are_plain_and_unreserved(project: Path, name: str) -> None:
    path = project / "analyses" / f"{name}.toml"
    path.write_text('data = "examples/bcg.csv"\nmeasure = "RR"\n', encoding="utf-8")
    with pytest.raises(SpecError, match="file name"):
        read_spec(path, project)


def test_analyses_follow_the_data(project: Path) -> None:
    """Without specs, every comparison x outcome x window with data gets its analysis; a
    longest-follow-up analysis that repeats a window's records is not duplicated."""
    plan = make_plan(project / "analyses")
    names = {s.name for s in plan.specs}
    assert {"B_odi_2y", "B_odi_5y", "B_odi_longest", "A_odi_2y", "example_bcg"} <= names
    assert "A_odi_5y" not in names  # SSSS 5-year ODI lacks n: no usable data
    assert "B_back_pain_longest" not in names  # same Brox 2010 record as B_back_pain_5y


def test_a_spec_overrides_the_automatic_analysis(project: Path) -> None:
    (project / "analyses" / "odi_two_years.toml").write_text(
        RECORDS_SPEC + 'method = "DL"\n', encoding="utf-8"
    )
    plan = make_plan(project / "analyses")
    odi = [s for s in plan.specs if s.selection_key == ("B", "odi", "2y") and not s.is_secondary]
    assert [(s.name, s.method) for s in odi] == [("odi_two_years", "DL")]


def test_reviewer_adds_a_trial_and_everything_follows(project: Path) -> None:
    """A fictional trial (ODI arm data and additional surgery, comparison B) enters the ODI
    2-year analysis and gives the additional-surgery SoF row data, without a new spec."""
    _add_trial(project / "studies")
    plan = make_plan(project / "analyses")
    analyses = {a.spec.name: a for a in run_plan(plan)}
    assert "Example 2030" in [s.study for s in analyses["B_odi_2y"].result.studies]
    assert analyses["B_additional_surgery_2y"].result.k == 1
    table = dict(sof_tables(list(analyses.values()), plan.records))["B"]
    rows = [r for r in table.all_rows() if r.key == "additional_surgery"]
    assert rows[0].certainty is not None
    assert rows[0].studies == 1


def test_an_empty_sd_is_named_in_the_sof_table(project: Path) -> None:
    _add_trial(project / "studies", sd_exp="")
    plan = make_plan(project / "analyses")
    analyses = run_plan(plan)
    table = dict(sof_tables(analyses, plan.records))["B"]
    text = render_table(table, "sof", "md").decode()
    assert "Not pooled: Example 2030 (the intervention group's SD not reported)" in text
    summary = next(a for a in analyses if a.spec.name == "B_odi_2y")
    assert ("Example 2030", "missing sd (exp)") in summary.selection.incomplete


def test_exclusions_keep_their_reasons(project: Path) -> None:
    plan = make_plan(project / "analyses")
    analysis = {a.spec.name: a for a in run_plan(plan)}["B_odi_2y_arm_level_only"]
    assert [label for label, _ in analysis.excluded] == ["Brox 2003", "Brox 2006"]
    assert all("direction" in reason for _, reason in analysis.excluded)
    assert analysis.result is not None
    assert analysis.result.k == 1
    assert analysis.spec.is_secondary


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('exclude = [{ study = "Nobody 1999", reason = "x" }]\n', "exclude"),
        ('exclude = [{ study = "Brox 2003" }]\n', "exclude"),
        ('exclude_weak_sources = ""\n', "exclude_weak_sources"),
        ('subgroup = "colour"\n', "subgroup"),
    ],
)
def test_exclusion_and_subgroup_errors(project: Path, extra: str, key: str) -> None:
    (project / "analyses" / "x.toml").write_text(RECORDS_SPEC + extra, encoding="utf-8")
    with pytest.raises(SpecError, match=key):
        run_plan(make_plan(project / "analyses"))


def test_an_error_leaves_results_as_they_were(project: Path) -> None:
    out = project / "results"
    out.mkdir()
    (out / "old.txt").write_text("previous build", encoding="utf-8")
    (project / "analyses" / "zz_bad.toml").write_text('measure = "RR"\n', encoding="utf-8")
    with pytest.raises(SpecError):
        run_all(project / "analyses", out)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert not [p for p in project.iterdir() if p.name.startswith(".results")]


def test_build_is_complete_and_deterministic(built: tuple[Path, list[Path]]) -> None:
    project, first = built
    out = project / "results"
    names = {p.relative_to(out).as_posix() for p in first}
    for comparison in ("A", "B"):
        for stem in ("sof", "evidence_profile"):
            for fmt in ("md", "csv", "html", "docx"):
                assert f"{stem}_{comparison}.{fmt}" in names
    assert "Complications; any follow-up" in (out / "sof_B.md").read_text()
    for page in ("harms_fusion.md", "harms_fusion.html", "harms_fusion.csv"):
        assert page in names
    xu = "published_xu_2021_world_neurosurg"
    assert {f"{xu}.md", f"{xu}.html"} <= names  # one page per review of published_estimates.csv
    assert "published_saltychev_2014_int_j_rehabil_res.html" in names
    assert any(n.startswith("harms_fusion/forest_") and n.endswith(".png") for n in names)
    manifest = json.loads((out / MANIFEST).read_text())
    assert set(manifest) == {"metafuse_version", "dependencies", "inputs", "outputs"}
    assert "studies/outcomes.csv" in manifest["inputs"]
    assert "studies/review.toml" in manifest["inputs"]
    snapshot = {p: p.read_bytes() for p in first}
    again = project / "again"
    second = run_all(project / "analyses", again)
    assert {p.relative_to(again) for p in second} == {p.relative_to(out) for p in first}
    assert all((again / p.relative_to(out)).read_bytes() == snapshot[p] for p in first)


def _verify_copy(built: tuple[Path, list[Path]], tmp_path: Path) -> tuple[Path, Path, dict]:
    project, _ = built
    out = tmp_path / "results"
    shutil.copytree(project / "results", out)
    fresh, problems = read_manifest(project / "results" / MANIFEST)
    assert fresh is not None
    assert not problems
    return project, out, fresh


def _compare(project: Path, out: Path, fresh: dict) -> list[str]:
    recorded, problems = read_manifest(out / MANIFEST)
    return problems if recorded is None or problems else compare(recorded, project, out, fresh)


def test_verify_sees_extra_missing_altered_and_stale(built, tmp_path: Path) -> None:
    project, out, fresh = _verify_copy(built, tmp_path)
    assert _compare(project, out, fresh) == []
    (out / "extra.txt").write_text("x", encoding="utf-8")
    (out / "old_analysis").mkdir()
    (out / "old_analysis" / "pooled.json").write_text("{}", encoding="utf-8")
    target = out / "B_odi_2y" / "pooled.json"
    target.write_text(target.read_text().replace('"k": 3', '"k": 4'))
    (out / "sof_A.md").unlink()
    problems = "\n".join(_compare(project, out, fresh))
    for text in (
        "extra.txt: extra file",
        "old_analysis/pooled.json: extra file",
        "B_odi_2y/pooled.json: altered",
        "sof_A.md: missing",
    ):
        assert text in problems


def test_verify_sees_edited_manifest_fields(built, tmp_path: Path) -> None:
    project, out, fresh = _verify_copy(built, tmp_path)
    path = out / MANIFEST
    data = json.loads(path.read_text())
    data["dependencies"]["numpy"] = "0.0.1"
    data["metafuse_version"] = "9.9.9"
    first_input = sorted(data["inputs"])[0]
    del data["inputs"][first_input]
    path.write_text(to_json(data))
    problems = "\n".join(_compare(project, out, fresh))
    assert "numpy recorded 0.0.1" in problems
    assert "metafuse_version: recorded 9.9.9" in problems
    assert "input not in the manifest" in problems
    path.write_text(to_json(data).replace("{", "{ ", 1))  # whitespace edited by hand
    assert "not byte-identical" in "\n".join(_compare(project, out, fresh))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["outputs"].update({"../../etc/passwd": "0" * 64}), "not a path inside"),
        (lambda d: d["inputs"].update({"/etc/passwd": "0" * 64}), "not a path inside"),
        (lambda d: d.update({"outputs": ["a"]}), "'outputs' must map"),
        (lambda d: d.pop("inputs"), "missing key 'inputs'"),
    ],
)
def test_verify_refuses_bad_manifests(built, tmp_path: Path, edit, expected: str) -> None:
    project, out, fresh = _verify_copy(built, tmp_path)
    data = json.loads((out / MANIFEST).read_text())
    edit(data)
    (out / MANIFEST).write_text(to_json(data))
    assert any(expected in p for p in _compare(project, out, fresh))


def test_verify_command(built, tmp_path: Path) -> None:
    """The command recomputes and passes on a clean build, and fails naming an extra file (the
    recomputation is the same; the second run compares without rebuilding)."""
    project, out, fresh = _verify_copy(built, tmp_path)
    runner = CliRunner()
    args = ["verify", "--analyses", str(project / "analyses"), "--results", str(out)]
    (out / "extra.txt").write_text("x", encoding="utf-8")
    bad = runner.invoke(main, args)
    assert bad.exit_code == 1
    assert "extra.txt" in bad.output
    (out / "extra.txt").unlink()
    assert _compare(project, out, fresh) == []
