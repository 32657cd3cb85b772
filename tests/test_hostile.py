"""Issue 24's hostile and careless inputs (``tests/hostile_cases.py``), each run in-process: every
fast case ends in a clean one-line error or in a result its check confirms (nothing written
outside ``--out``, specs that parse back to what the file said, formula cells kept inert, ...).
The slow ones (full builds, signals, GOSH of thousands of studies) are counted by
``bench/hostile.py``, which also runs every case as its own process with a timeout and a memory
cap. Unit tests of the pieces (the number rule, the Markdown escape, the slug, the file guard)
follow."""

from __future__ import annotations

import os
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metafuse.cli import main
from metafuse.exceptions import MetafuseError
from tests import hostile_cases as h
from tests.tolerances import SAME_FORMULA

FAST = [c for c in h.CASES if c.fast]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _invoke(args: tuple[str, ...]) -> h.Outcome:
    result = CliRunner().invoke(main, list(args))
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        kind = "internal"
        output += f"\nTraceback: {type(result.exception).__name__}: {result.exception}"
    else:
        kind = h.classify(result.exit_code, output)
    return h.Outcome(kind, result.exit_code, output)


def _api(expression: str) -> h.Outcome:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            h.run_api(expression)
        except (MetafuseError, ValueError, TypeError) as err:
            return h.Outcome("error", 1, f"Error: {err}")
        except AssertionError as err:
            return h.Outcome("ok", 0, f"accepted: {err}")
        except Exception as err:
            return h.Outcome("internal", 2, f"Traceback: {type(err).__name__}: {err}")
    return h.Outcome("ok", 0, "")


def _marks(case: h.Case) -> list[pytest.MarkDecorator]:
    if case.name.startswith(
        ("rm5/fifo", "spec/fifo", "validate/fifo", "verify/fifo", "merge/fifo")
    ):
        return [pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")]
    return []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=_marks(c)) for c in FAST])
def test_hostile_case(case: h.Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "outside").mkdir()
    monkeypatch.setattr(h, "BUILD_IN_PROCESS", True)
    case.build(work)
    h.BEFORE[str(tmp_path)] = h.snapshot(tmp_path)
    monkeypatch.chdir(work)
    if case.api is not None:
        outcome = _api(case.api)
    else:
        outcome = h.Outcome("ok", 0, "")
        for step in case.steps:
            outcome = _invoke(step)
    verdict, why = h.verdict(case, tmp_path, outcome)
    assert verdict in ("clean error", "handled"), f"{verdict}: {why}\n{outcome.output}"
    if outcome.kind == "error" and case.api is None:
        lines = [x for x in outcome.output.splitlines() if x and not x.startswith("warning:")]
        listed = case.name.startswith(("verify/", "validate/")) or "/validate" in case.name
        assert lines[-1].startswith("Error:") or listed, outcome.output


# --- the pieces ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12.0), ("-0.5", -0.5), (".5", 0.5), ("12.", 12.0), ("1.2e-3", 1.2e-3), ("+4", 4.0),
     (" 3 ", 3.0), ("1E5", 1e5)],
)  # fmt: skip
def test_numbers_a_spreadsheet_reads(text: str, value: float) -> None:
    from metafuse.data.numbers import parse_number

    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [("1_000", "no digit separators: write 1000"), ("１２", "digits must be 0-9"),
     ("١٢", "digits must be 0-9"), ("१२", "digits must be 0-9"), ("inf", "not a number"),
     ("nan", "not a number"), ("1e999", "not a finite number"), ("0x10", "not a number"),
     ("1,5", "not a number"), ("1.2.3", "not a number"), ("", "not a number")],
)  # fmt: skip
def test_what_python_reads_and_a_spreadsheet_does_not(text: str, reason: str) -> None:
    from metafuse.data.numbers import parse_number

    with pytest.raises(ValueError, match="not a") as info:
        parse_number(text)
    assert reason in str(info.value)
    assert repr(text) in str(info.value)


@FUZZ
@given(st.text(min_size=1, max_size=12))
def test_the_number_rule_agrees_with_its_definition(text: str) -> None:
    """Accepted exactly when ASCII digits, one sign, one point and an exponent make it up."""
    import re

    from metafuse.data.numbers import is_number

    pattern = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
    assert is_number(text) == bool(re.fullmatch(pattern, text.strip(" \t\n\r\f\v")))


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
     ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)>"),
     ("[x](javascript:alert(1))", "[x\\](javascript:alert(1))"),
     ("![i](http://x/t.png)", "![i\\](http://x/t.png)"), ("[r]: http://x", "[r\\]: http://x"),
     ("[a][r]", "[a\\][r]"), ("&lt;b&gt;", "&amp;lt;b&amp;gt;"), ("<!-- c -->", "&lt;!-- c -->"),
     ("tau < 0.98; I2 >= 50%", "tau < 0.98; I2 >= 50%"), ("RR 0.40 [0.17, 0.98]", None),
     ("**bold** AT&T (see [outcomes.odi] in review.toml)", None)],
)  # fmt: skip
def test_markdown_escape(text: str, escaped: str | None) -> None:
    """Raw HTML, entities and link syntax are made inert; text without them is unchanged."""
    from metafuse.report.document import escape_markdown

    assert escape_markdown(text) == (text if escaped is None else escaped)


def test_every_markdown_writer_escapes() -> None:
    from metafuse.report.document import Bullets, Figure, Heading, Paragraph, Table, to_markdown
    from metafuse.report.table_document import RenderedCell, Section, TableDocument
    from metafuse.report.writers import to_html as table_html
    from metafuse.report.writers import to_markdown as table_markdown

    bad = "<script>x</script> [a](javascript:b)"
    page = to_markdown(
        [Heading(bad), Paragraph(bad), Bullets((bad,)), Table((bad,), ((bad,),)), Figure("f", bad)]
    )
    cell = RenderedCell(bad, ("a",), link="javascript:b")
    doc = TableDocument(
        bad, ((bad, bad),), (Section(bad, (bad,), ((cell,),)),), (("a", bad),), (bad,)
    )
    page += table_markdown(doc)
    assert "<script" not in page
    assert "<script" not in table_html(doc)
    assert "](javascript" not in page.replace("\\](", "")


@FUZZ
@given(st.text(max_size=40))
def test_an_imported_name_is_always_a_plain_safe_name(outcome_id: str) -> None:
    """Whatever a RevMan file calls an outcome, its files are plain names inside --out."""
    from types import SimpleNamespace

    from metafuse.pipeline.spec import NAME, RESERVED, RESERVED_PREFIXES
    from metafuse.revman.interchange import MAX_NAME, spec_name

    name = spec_name(SimpleNamespace(id=outcome_id))  # type: ignore[arg-type]
    assert NAME.match(name)
    assert len(name) <= MAX_NAME + len("outcome-")
    assert name.lower() not in RESERVED
    assert not name.lower().startswith(RESERVED_PREFIXES)


@FUZZ
@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30))
def test_every_imported_spec_parses_back_to_what_the_file_said(
    outcome_id: str, comparison: str, name: str
) -> None:
    """Text from the file (IDs, names; newlines, quotes, control characters) lands in the spec's
    values only, as the file said it, and adds no key."""
    import pandas as pd

    from metafuse.revman._model import RevManOutcome
    from metafuse.revman.interchange import outcome_spec

    outcome = RevManOutcome(
        id=outcome_id, name=name, comparison=comparison, comparison_id=outcome_id[::-1],
        kind="continuous", measure="MD", method="IV", random=False, ratio=False,
        data=pd.DataFrame({"study": ["a"]}), stored=None,  # type: ignore[arg-type]
        subgroups=(), settings={"ci_total": 90.0},
    )  # fmt: skip
    raw = tomllib.loads(outcome_spec(outcome, "analyses/x.csv"))
    assert raw == {
        "title": f"{comparison}: {name}",
        "data": "analyses/x.csv",
        "measure": "MD",
        "method": "FE",
        "convention": "revman5",
        "level": 0.9,
    }


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    from metafuse.exceptions import DataError
    from metafuse.files import read_regular_bytes

    with pytest.raises(DataError, match="a folder"):
        read_regular_bytes(tmp_path)
    with pytest.raises(DataError, match="a device"):
        read_regular_bytes("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        with pytest.raises(DataError, match="FIFO"):
            read_regular_bytes(tmp_path / "pipe")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(DataError, match="too large"):
        read_regular_bytes(big, max_bytes=100)
    assert read_regular_bytes(big, max_bytes=101) == b"x" * 101


def test_a_killed_builds_staging_folder_is_removed_by_the_next(tmp_path: Path) -> None:
    from metafuse.pipeline.outputs import remove_stale_staging

    out = tmp_path / "results"
    alive = tmp_path / f".results.staging-{os.getpid()}-abc"
    dead = tmp_path / ".results.staging-999999999-abc"
    old = tmp_path / ".results.staging-x1y2"
    other = tmp_path / ".other.staging-1-abc"
    for folder in (alive, dead, old, other):
        folder.mkdir()
    assert sorted(remove_stale_staging(out)) == sorted([dead, old])
    assert alive.is_dir()
    assert other.is_dir()


def test_sigterm_is_an_interrupt_inside_a_build() -> None:
    import signal

    from metafuse.pipeline.outputs import terminate_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == before


def test_leave_one_out_in_blocks_equals_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of refits give the numbers of one batch, bit for bit (each subset is fitted on its
    own), for leave-one-out, cumulative and influence."""
    import importlib

    import pandas as pd

    from metafuse import pool

    # the toolbox package exports functions of these names, so fetch the modules themselves
    inf = importlib.import_module("metafuse.toolbox.influence")
    sens = importlib.import_module("metafuse.toolbox.sensitivity")

    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {"study": [f"S{i}" for i in range(23)], "yi": rng.normal(0.2, 0.4, 23),
         "sei": rng.uniform(0.1, 0.5, 23)}
    )  # fmt: skip
    for method, hksj in (("REML", False), ("DL", True), ("PM", False)):
        result = pool(frame, "GEN", method, hksj)
        whole = (sens.leave_one_out(result), sens.cumulative(result), inf.influence(result))
        monkeypatch.setattr(sens, "BLOCK_CELLS", 50)
        blocks = (sens.leave_one_out(result), sens.cumulative(result), inf.influence(result))
        monkeypatch.undo()
        for a, b in zip(whole, blocks, strict=True):
            pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)


def test_the_variance_of_q_without_the_k_by_k_matrix() -> None:
    """Var(Q) from the factored form equals the k x k projection's (moment estimators' SE of
    tau^2 for large k), to rounding."""
    from metafuse.engine import tau2_se
    from metafuse.engine.problem import Problem

    rng = np.random.default_rng(3)
    for p in (1, 3):
        y, v = rng.normal(size=(2, 30)), rng.uniform(0.01, 1.0, (2, 30))
        mask = rng.random((2, 30)) < 0.8
        X = None
        if p > 1:
            X = np.concatenate([np.ones((2, 30, 1)), rng.normal(size=(2, 30, p - 1))], axis=-1)
        problem = Problem.of(y, v, mask=mask, X=X)
        tau2 = rng.uniform(0.0, 0.5, 2)
        factored = tau2_se._q_variance_factored(problem, 1.0 / v, tau2)
        s = np.where(mask, v + tau2[:, None], 0.0)
        projection = tau2_se._projection(problem, 1.0 / v)
        full = 2.0 * np.einsum("mij,mi,mj->m", projection**2, s, s)
        assert factored == pytest.approx(full, **SAME_FORMULA)


def test_imported_study_csv_parses_back_to_the_files_numbers(tmp_path: Path) -> None:
    """Study names with quotes, commas, line breaks and formula starts reach the imported CSV as
    cells of their own (a formula kept inert), and the numbers are the file's."""
    import html

    from metafuse.data.csv import read_table
    from metafuse.files import csv_cell
    from metafuse.revman.interchange import import_rm5

    names = ('Smith, "J" 2001', "=cmd|' /C calc'!A0", "Li\n2003")
    studies = "".join(
        f'<STUDY ID="{sid}" NAME="{html.escape(name).replace(chr(10), "&#10;")}"/>'
        for (sid, _), name in zip(h.STUDY_ROWS, names, strict=True)
    )
    path = tmp_path / "review.rm5"
    path.write_text(h.rm5(studies=studies), encoding="utf-8")
    written = import_rm5(path, tmp_path / "analyses")
    table = read_table(next(p for p in written if p.suffix == ".csv"))
    expected = [csv_cell(n) for n in names]
    assert table.frame["study"].tolist() == expected
    first = table.frame.iloc[0]
    numbers = [float(first[c]) for c in ("mean_exp", "sd_exp", "n_exp")]
    assert numbers == [float(x) for x in h.CONT_VALUES[0][:3]]
