"""Issue 11, one test per class of defect a hostile or careless user found: formula injection,
silent nonsense, interrupted builds, tracebacks on bad paths and values, resource bounds and
labels drawn as plain text. (Spec names, verify and impossible records are tested in
test_pipeline.py and test_studies.py.)"""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from metafuse import pool
from metafuse.cli import main
from metafuse.exceptions import DataError
from metafuse.files import FORMULA_STARTS, csv_cell, to_csv
from metafuse.pipeline.outputs import run_all
from tests.test_studies import _add_trial

BINARY = (
    "study,events_exp,n_exp,events_ctrl,n_ctrl\nA,4,123,11,139\nB,6,306,29,303\nC,3,231,11,220\n"
)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def one_line_error(result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [x for x in result.output.splitlines() if not x.startswith("warning:")]
    assert len(lines) == 1, result.output
    return lines[0]


# --- 1. formula injection -------------------------------------------------------------------


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","a")', "+1+1", "-cmd", "@SUM(A1)",
                                  "\tx", "\rx"])  # fmt: skip
def test_formula_cells_are_made_inert(text: str) -> None:
    assert csv_cell(text) == "'" + text
    assert csv_cell("-1.5") == "-1.5"  # numbers stay numbers
    row = next(csv.reader(io.StringIO(to_csv(["label"], [[text]]).splitlines()[1])))
    assert not row[0].startswith(FORMULA_STARTS)


def test_no_output_csv_carries_a_formula(project: Path) -> None:
    """A study label and a GRADE comment that look like formulas reach no CSV cell unescaped."""
    _add_trial(project / "studies")
    trials = project / "studies" / "trials.csv"
    # the trial's label is its first author + year: make the author a formula
    trials.write_text(trials.read_text(encoding="utf-8").replace(
        "example2030,Example,Example,2030", 'example2030,"=HYPERLINK(""http://x"")",Example,2030'
    ), encoding="utf-8")  # fmt: skip
    (project / "analyses" / "odi.toml").write_text(
        'studies = "studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'
        '[grade]\ncomment = "=cmd|calc"\n',
        encoding="utf-8",
    )
    run_all(project / "analyses", project / "results")
    seen = 0
    for path in (project / "results").rglob("*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            for cell in row:
                seen += 1
                if cell.startswith(FORMULA_STARTS):
                    float(cell)  # only numbers may start with - or +
    assert seen > 100
    sof = (project / "results" / "sof_B.csv").read_text(encoding="utf-8")
    assert "=cmd|calc" in sof  # the comment is there, after the statement, never a cell start


# --- 2. silent nonsense ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "measure"),
    [
        (pd.DataFrame({"study": ["a", "b"], "mean_exp": [1e308, 1.0], "sd_exp": [1.0, 1.0],
                       "n_exp": [10, 10], "mean_ctrl": [-1e308, 0.0], "sd_ctrl": [1.0, 1.0],
                       "n_ctrl": [10, 10]}), "MD"),
        (pd.DataFrame({"study": ["a", "b"], "yi": [1e200, 0.1], "sei": [1e-200, 0.1]}), "GEN"),
        (pd.DataFrame({"study": ["a", "b"], "events": [5, 1e308], "n": [10, 1e308]}), "PLO"),
    ],
)  # fmt: skip
def test_overflow_is_an_error_naming_the_study(frame: pd.DataFrame, measure: str) -> None:
    with pytest.raises(DataError) as info:
        pool(frame, measure, "REML")
    assert "a" in str(info.value) or "b" in str(info.value)


@pytest.mark.parametrize("add", ["-0.5", "nan", "inf"])
def test_option_values_are_range_checked(tmp_path: Path, add: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(BINARY, encoding="utf-8")
    line = one_line_error(invoke("pool", str(path), "--measure", "RR", "--add", add))
    assert "add" in line


def test_non_estimable_studies_get_their_true_reason() -> None:
    frame = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.2, 0.3], "sei": [0.1, 0.1, 0.1]})
    frame.loc[1, "sei"] = 0.0
    with pytest.raises(DataError, match="sei"):
        pool(frame, "GEN", "REML")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pool(pd.read_csv(io.StringIO(BINARY + "D,0,10,0,12\n")), "RR", "REML")
    assert any("no events in either arm" in str(w.message) for w in caught)
    assert result.k == 3


def test_degenerate_small_study_test_is_not_estimable() -> None:
    from metafuse.toolbox.bias import egger_test

    frame = pd.DataFrame({"study": list("abcdefghij"), "yi": [0.3] * 10, "sei": [0.2] * 10})
    out = egger_test(frame, "GEN")
    assert out.statistic is None
    assert out.pval is None
    assert "not estimable" in str(out.note)
    assert "note" in out.to_dict()


# --- 4. interrupted builds leave the previous results ---------------------------------------


def test_an_interrupt_while_writing_leaves_results_as_they_were(project: Path, monkeypatch) -> None:
    import shutil

    shutil.rmtree(project / "studies")  # data specs only: a small build
    for spec in (project / "analyses").glob("*.toml"):
        if spec.name != "example_bcg.toml":
            spec.unlink()
    (project / "analyses" / "bcg_dl.toml").write_text(
        'data = "examples/bcg.csv"\nmeasure = "RR"\nmethod = "DL"\n', encoding="utf-8"
    )
    out = project / "results"
    run_all(project / "analyses", out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    import metafuse.pipeline.figures as figures

    calls = {"n": 0}
    original = figures.analysis_figures

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(figures, "analysis_figures", interrupted)
    bcg = project / "examples" / "bcg.csv"  # the next build would change results
    bcg.write_text(bcg.read_text(encoding="utf-8").replace(",4,", ",5,", 1), encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        run_all(project / "analyses", out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in project.iterdir() if p.name.startswith(".results")]


# --- 6. tracebacks: paths, values, parsers --------------------------------------------------


def test_unwritable_output_paths_are_one_line(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text(BINARY, encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    one_line_error(invoke("pool", str(data), "--measure", "RR", "-o", str(blocker / "out.txt")))
    one_line_error(invoke("forest", str(data), "--measure", "RR", "-o", str(tmp_path / "x.bmp")))
    # click's own usage error for a path option: its two usage lines and one "Error:" line
    done = invoke("analysis", str(tmp_path), "--out", str(blocker))
    assert done.exit_code == 2
    assert "Traceback" not in done.output
    assert "is a file" in done.output


def test_a_very_long_derivation_is_refused() -> None:
    from metafuse.review.derivations import parse_derivation

    with pytest.raises(ValueError, match="too long"):
        parse_derivation("sd_from_se(se=" + "(" * 100_000 + "1" + ")" * 100_000 + ")")


def test_ratio_display_does_not_overflow(tmp_path: Path) -> None:
    frame = pd.DataFrame({"study": ["a", "b"], "yi": [800.0, 850.0], "sei": [1.0, 1.0]})
    with pytest.raises(DataError):
        pool(frame, "GEN", "REML", ratio=True)


# --- 8. bounds and plain-text labels ---------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_non_regular_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "regular file" in one_line_error(invoke("pool", str(fifo), "--measure", "RR"))
    assert "regular file" in one_line_error(invoke("pool", "/dev/zero", "--measure", "RR"))


def test_oversized_input_is_refused(tmp_path: Path) -> None:
    from metafuse.data.csv import read_bytes_checked

    path = tmp_path / "big.csv"
    path.write_text(BINARY * 10, encoding="utf-8")
    with pytest.raises(DataError, match="file too large"):
        read_bytes_checked(path, max_bytes=100)


def test_a_study_called_na_is_a_study() -> None:
    frame = pd.read_csv(io.StringIO(BINARY.replace("\nC,", "\nNA,")), keep_default_na=False)
    result = pool(frame, "RR", "FE")
    assert "NA" in [s.study for s in result.studies]


def test_labels_are_plain_text_in_figures(tmp_path: Path) -> None:
    from metafuse.plots import forest_plot, save_plot

    frame = pd.read_csv(io.StringIO(BINARY.replace("\nA,", "\n$5 vs $10 \\frac{a}{b},")))
    result = pool(frame, "RR", "REML")
    svg = save_plot(forest_plot(result), tmp_path / "f.svg").read_text(encoding="utf-8")
    assert np.isfinite(result.estimate)
    assert "frac" in svg or "$5 vs $10" in svg.replace("&#36;", "$")
