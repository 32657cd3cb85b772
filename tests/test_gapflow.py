"""The gap-filling workflow on a copy of the fixture review: gaps --template -> fill -> merge ->
validate -> pooled, merge refusing bad fills (one line per problem, nothing written), and
reconcile of two extractions.

The numbers typed into the filled rows are invented test inputs for "Example 2030", a fictional
trial added here (as tests/test_studies.py does); the expected effect is computed by hand below.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from metafuse import pool
from metafuse.cli import main
from metafuse.review.reconcile import same_value
from metafuse.review.records import load_studies
from metafuse.review.selection import select
from tests.conftest import FIXTURE_REVIEW
from tests.tolerances import CLOSED_FORM

SOURCE = (
    "example2030,Example A et al. Test J 2030;1:1-9,https://example.org,full text,primary,\n"
    "example2030-abstract,Example A et al. (abstract),,abstract,primary,\n"
)
#: An incomplete record of Example 2030: events from its abstract, denominators not given.
INCOMPLETE = "".join(
    f"example2030-addsurg-24,example2030,additional_surgery,24,by randomised group,arm,{arm},,,,"
    f"{events},,,,,,further surgery (lower is better),yes,,example2030-abstract,Abstract,"
    f"{events} had further surgery,no,\n"
    for arm, events in (("exp", 5), ("ctrl", 9))
)
TRIAL = (
    "example2030,Example,Example,2030,Test J,1:1-9,,,B,chronic low back pain,Nowhere,fusion,"
    "rehabilitation,40,41,2 years,,RCT,example2030,Methods,40 were assigned to fusion and 41 "
    "to rehabilitation,no,\n"
)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _line(rows: list[dict[str, str]], record: str, arm: str) -> int:
    """The file line of a template row (header is line 1; no cell holds a line break)."""
    return 2 + next(i for i, r in enumerate(rows) if r["record_id"] == record and r["arm"] == arm)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Once per module: the fixture studies with Example 2030 (trial and source only) and the
    gap template written by ``metafuse gaps --template``."""
    folder = tmp_path_factory.mktemp("gapflow")
    studies = folder / "studies"
    shutil.copytree(FIXTURE_REVIEW / "studies", studies)
    with (studies / "sources.csv").open("a", encoding="utf-8") as fh:
        fh.write(SOURCE)
    with (studies / "trials.csv").open("a", encoding="utf-8") as fh:
        fh.write(TRIAL)
    with (studies / "outcomes.csv").open("a", encoding="utf-8") as fh:
        fh.write(INCOMPLETE)
    path = folder / "template.csv"
    code, out = _run("gaps", str(studies), "--template", str(path))
    assert code == 0, out
    assert f"{path}: " in out
    return folder


@pytest.fixture
def studies(prepared: Path, tmp_path: Path) -> Path:
    """A writable copy of the prepared studies folder (beside its template)."""
    shutil.copytree(prepared, tmp_path / "copy")
    return tmp_path / "copy" / "studies"


@pytest.fixture
def template(studies: Path) -> Path:
    return studies.parent / "template.csv"


def _fill(rows: list[dict[str, str]], record: str, arm: str, **values: str) -> None:
    row = next(r for r in rows if r["record_id"] == record and r["arm"] == arm)
    row.update(values)


def test_template_layout(template: Path, studies: Path) -> None:
    header = (studies / "outcomes.csv").read_text(encoding="utf-8").splitlines()[0]
    assert template.read_text(encoding="utf-8").splitlines()[0] == header + ",window,to_fill"
    rows = _read(template)
    new = [r for r in rows if r["record_id"] == "example2030-odi-2y"]
    assert [r["arm"] for r in new] == ["exp", "ctrl"]
    for row in new:
        assert row["report_id"] == "example2030"
        assert row["window"] == "2y"
        for col in ("n", "mean", "sd", "timepoint_months", "source_id", "location", "quote"):
            assert row[col] == ""
    # an incomplete record (SSSS 2-year ODI: means from the abstract, no n or SD) as it stands,
    # with its source columns emptied and what it lacks named
    ssss = next(r for r in rows if r["record_id"] == "forsth2016-odi-24" and r["arm"] == "exp")
    assert (ssss["mean"], ssss["source_id"]) == ("27", "")
    assert ssss["to_fill"].startswith("sd, n;")
    # never over a studies file
    code, out = _run("gaps", str(studies), "--template", str(studies / "outcomes.csv"))
    assert code == 1
    assert "would overwrite a studies file" in out


def test_round_trip_template_fill_merge_validate_pool(template: Path, studies: Path) -> None:
    rows = _read(template)
    common = {
        "timepoint_months": "24",
        "analysis": "intention to treat",
        "source_id": "example2030",
        "location": "Table 2",
        "quote": "ODI at 2 years 30.0 (18.0) 33.0 (19.0)",
    }
    _fill(rows, "example2030-odi-2y", "exp", n="38", mean="30.0", sd="18.0", **common)
    _fill(rows, "example2030-odi-2y", "ctrl", n="39", mean="33.0", sd="19.0", **common)
    # the incomplete record: its denominators from the full text, which shows the whole row
    table3 = {"source_id": "example2030", "location": "Table 3", "quote": "5/40 and 9/41"}
    _fill(rows, "example2030-addsurg-24", "exp", n="40", **table3)
    _fill(rows, "example2030-addsurg-24", "ctrl", n="41", **table3)
    _write(template, rows)
    before = (studies / "outcomes.csv").read_bytes()
    code, out = _run("merge", str(template), str(studies), "--dry-run")
    assert code == 0, out
    assert "would add example2030-odi-2y (exp)" in out
    # a fill from another source says which source cells it replaces (was only in the written file)
    assert "example2030-addsurg-24 (exp): n from" in out
    assert "also changes source_id, location, quote, caveat" in out
    code, out = _run("merge", str(template), str(studies), "--dry-run", "--json")
    data = json.loads(out)
    assert (code, data["ok"], data["written"], len(data["changes"])) == (0, True, None, 4)
    assert (studies / "outcomes.csv").read_bytes() == before
    code, out = _run("merge", str(template), str(studies))
    assert code == 0, out
    assert "2 rows added, 2 rows filled" in out
    assert "example2030-addsurg-24 (exp): n from" in out
    after = (studies / "outcomes.csv").read_bytes()
    assert after.startswith(before[: before.index(b"example2030-addsurg-24")])  # bytes kept
    assert _run("validate", str(studies))[0] == 0
    data = select(load_studies(studies), "B", "odi", "2y")
    assert "Example 2030" in data.labels
    res = pool(data.frame, data.measure, "REML", **data.pool_options())
    assert res.k == 4
    ex = data.frame.set_index("study").loc["Example 2030"]
    # by hand: MD = 30.0 - 33.0 = -3; SE = sqrt(18^2/38 + 19^2/39) = sqrt(8.5263 + 9.2564)
    assert ex["yi"] == pytest.approx(-3.0, **CLOSED_FORM)
    assert ex["sei"] == pytest.approx((18.0**2 / 38 + 19.0**2 / 39) ** 0.5, **CLOSED_FORM)
    surgery = select(load_studies(studies), "B", "additional_surgery", "2y")
    assert surgery.labels == ["Example 2030"]
    cells = surgery.frame.iloc[0][["events_exp", "n_exp", "events_ctrl", "n_ctrl"]]
    assert cells.tolist() == [5, 40, 9, 41]
    row = load_studies(studies).outcomes.set_index(["record_id", "arm"])
    caveat = row.loc[("example2030-addsurg-24", "exp"), "caveat"]
    assert caveat == "numbers first recorded from example2030-abstract (Abstract)"
    # merging the same template again adds nothing new: its rows are now in outcomes.csv
    code, out = _run("merge", str(template), str(studies))
    assert code == 0
    assert "nothing to merge" in out


def test_bad_fills_are_all_reported_and_nothing_is_written(template: Path, studies: Path) -> None:
    rows = _read(template)
    ok = {"timepoint_months": "24", "analysis": "ITT", "location": "T2", "quote": "q"}
    _fill(rows, "example2030-odi-2y", "exp", n="38", mean="30", sd="18", **ok)  # no source_id
    _fill(
        rows,
        "example2030-odi-2y",
        "ctrl",
        n="39",
        mean="330",
        sd="19",
        source_id="example2030",
        **ok,
    )
    _fill(rows, "forsth2016-odi-24", "exp", n="100", sd="20", mean="28", source_id="x", **ok)
    _write(template, rows)
    before = {p.name: p.read_bytes() for p in studies.iterdir()}
    code, out = _run("merge", str(template), str(studies))
    assert code == 1
    t = str(template)
    exp, ctrl = _line(rows, "example2030-odi-2y", "exp"), _line(rows, "example2030-odi-2y", "ctrl")
    ssss = _line(rows, "forsth2016-odi-24", "exp")
    for expected in (
        f"{t}:{exp}: source_id: a filled value needs its source_id, location and quote",
        f"{t}:{ctrl}: mean: 330 lies outside the declared",
        f"{t}:{ssss}: mean: would change '27'",
        f"{t}:{ssss}: source_id: unknown source 'x' (not in sources.csv)",
        "nothing merged",
    ):
        assert expected in out, out
    assert {p.name: p.read_bytes() for p in studies.iterdir()} == before


def test_a_schema_error_is_located_in_the_template(template: Path, studies: Path) -> None:
    rows = _read(template)
    values = {"analysis": "ITT", "source_id": "example2030", "location": "T2", "quote": "q"}
    _fill(rows, "example2030-odi-2y", "exp", n="abc", mean="30", sd="18", **values)
    _fill(rows, "example2030-odi-2y", "ctrl", n="39", mean="33", sd="19", **values)
    _write(template, rows)
    code, out = _run("merge", str(template), str(studies))
    assert code == 1
    assert f"{template}:{_line(rows, 'example2030-odi-2y', 'exp')}: n: not a number: 'abc'" in out
    # no time point: a warning that the record counts only where its time point falls
    assert "timepoint_months: warning: no time point is outside the template row's window" in out


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda text: text.replace(",quote,", ",words,", 1), ":1: quote: missing required column"),
        (lambda text: text + text.splitlines()[1] + "\n", "is also on line 2 of the template"),
        (lambda text: "\x00binary", "binary file"),
    ],
)
def test_broken_templates(template: Path, studies: Path, mutate, expected: str) -> None:
    template.write_text(mutate(template.read_text(encoding="utf-8")), encoding="utf-8")
    before = (studies / "outcomes.csv").read_bytes()
    code, out = _run("merge", str(template), str(studies))
    assert code == 1
    assert expected in out
    assert (studies / "outcomes.csv").read_bytes() == before


def test_same_value() -> None:
    assert same_value("12", "12.0")
    assert same_value("1.2e1", "12")
    assert same_value(None, "")
    assert same_value("NA", None)
    assert same_value("Table  2,\nrow 3", "Table 2, row 3")
    assert not same_value("12", "12.1")
    assert not same_value("12", None)
    assert not same_value("per protocol", "per-protocol")


def test_reconcile_two_extractions(studies: Path, tmp_path: Path) -> None:
    a = studies / "outcomes.csv"
    text = a.read_text(encoding="utf-8")
    b = tmp_path / "b.csv"
    lines = text.splitlines(keepends=True)
    changed = [
        line.replace(",138,34.0,21.1,", ",138.0,34,12.1,", 1) for line in lines
    ]  # 138 vs 138.0 and 34.0 vs 34 agree; 21.1 vs 12.1 does not
    b.write_text("".join(changed[:-1]), encoding="utf-8")  # and the last row is missing
    code, out = _run("reconcile", str(a), str(a))
    assert code == 0
    assert "agree" in out
    code, out = _run("reconcile", str(a), str(b))
    assert code == 1
    assert f"fairbank2005-odi-24 (exp): sd: A '21.1' ({a}:2) vs B '12.1' ({b}:2)" in out
    assert "n: A" not in out
    assert "mean: A" not in out
    last = len(lines)
    assert f": only in A ({a}:{last})" in out
    code, out = _run("reconcile", str(a), str(b), "--json")
    data = json.loads(out)
    assert data["agree"] is False
    assert [(d["record_id"], d["arm"], d["column"]) for d in data["disagreements"]] == [
        ("fairbank2005-odi-24", "exp", "sd")
    ]
    assert _run("reconcile", str(a), str(b), "--ignore", "sd")[1].count("sd: A") == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("study,n\nx,1\n", ":1: record_id: missing required column"),
        ("record_id,arm,n\nr1,exp,1\nr1,exp,2\n", ":3: record_id: 'r1' (exp) is also on line 2"),
        ("record_id,arm\n\x00", "binary file"),
    ],
)
def test_reconcile_bad_input(studies: Path, tmp_path: Path, content: str, expected: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    code, out = _run("reconcile", str(studies / "outcomes.csv"), str(bad))
    assert code == 2
    assert expected in out
    assert len(out.strip().splitlines()) == 1
