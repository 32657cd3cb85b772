"""The CLI: summaries, JSON, and one-line errors with exit code 1 (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from metafuse.cli import main
from metafuse.results import RESULT_KEYS
from tests.conftest import ROOT

BCG = str(ROOT / "examples" / "bcg" / "bcg.csv")
HEADER = "study,events_exp,n_exp,events_ctrl,n_ctrl\n"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_pool_summary_and_json() -> None:
    res = run("pool", BCG, "--measure", "RR", "--method", "REML")
    assert res.exit_code == 0, res.output
    assert "Pooled risk ratio" in res.output
    assert "tau^2" in res.output
    res = run("pool", BCG, "--measure", "rr", "--method", "dl", "--hksj", "--json")
    data = json.loads(res.output)
    assert set(data) == {*RESULT_KEYS, "studies", "exp"}
    assert data["method"] == "DL"
    assert data["hksj"] is True
    assert data["k"] == 13


def test_python_dash_m_is_the_same_cli() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "metafuse",
            "pool",
            BCG,
            "--measure",
            "OR",
            "--method",
            "MH",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["method"] == "MH"
    # a bad file through the real process: one line on stderr, exit code 1, no traceback
    bad = subprocess.run(
        [sys.executable, "-m", "metafuse", "pool", str(ROOT / "README.md"), "--measure", "RR"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (HEADER + "A,12,10,3,10\n", "bad.csv:2 (study 'A'): events_exp: events_exp (12) exceeds"),
        (HEADER + "A,2,10,3,10\nB,1,x,3,10\n", "bad.csv:3 (study 'B'): n_exp: not a number"),
        (HEADER + "A,2,10,-3,10\n", "bad.csv:2 (study 'A'): events_ctrl:"),
        (
            HEADER + "A,2,10,3\n",
            "bad.csv:2: malformed CSV: expected 5 fields as in the header, found 4",
        ),
        (HEADER + "A,2,10,3,\n", "bad.csv:2 (study 'A'): n_ctrl: missing value"),
        (
            HEADER + "A,2,10,3,10,9\n",
            "bad.csv:2: malformed CSV: expected 5 fields as in the header, found 6",
        ),
        ("study,events_exp,n_exp\nA,1,2\n", "bad.csv: events_ctrl: missing required column"),
        ("", "bad.csv: empty file"),
        ("\x00\x01binary", "bad.csv: binary file"),
        ("study,study\n1,2\n", "bad.csv: header: duplicated column name 'study'"),
    ],
)
def test_bad_input_is_one_line_with_exit_1(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    before = path.read_bytes()
    proc = CliRunner().invoke(main, ["pool", str(path), "--measure", "RR"])
    assert proc.exit_code == 1
    assert "Traceback" not in proc.output
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].replace(str(tmp_path) + "/", "").startswith("Error: " + expected)
    assert path.read_bytes() == before  # inputs are never modified


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "Müller,1,10,2,10\n").encode("latin-1"))
    res = run("pool", str(path), "--measure", "RR")
    assert res.exit_code == 1
    assert "not UTF-8" in res.output


def test_keep00_keeps_double_zero_studies(tmp_path: Path) -> None:
    """An explicit False on the command line reaches pool(): --keep00 (drop00=False) used to be
    dropped as if not given, and the double-zero study silently left out."""
    path = tmp_path / "dz.csv"
    path.write_text(HEADER + "A,0,10,0,12\nB,3,20,5,20\nC,4,15,2,18\n", encoding="utf-8")
    counts = {}
    for flag in ("--drop00", "--keep00"):
        res = run("pool", str(path), "--measure", "RR", "--method", "FE", flag, "--json")
        assert res.exit_code == 0, res.output
        counts[flag] = json.loads(res.stdout)["k"]
    assert counts == {"--drop00": 2, "--keep00": 3}


def test_excluded_study_is_announced(tmp_path: Path) -> None:
    path = tmp_path / "gap.csv"
    path.write_text(HEADER + "A,2,10,3,10\nB,,,,\nC,1,10,4,12\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "metafuse", "pool", str(path), "--measure", "OR", "--method", "FE"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    assert "warning: study 'B' has no data" in proc.stderr
    assert "Excluded: B: no data" in proc.stdout


def test_duplicate_labels_pool_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(HEADER + "Shechter,2,10,3,10\nShechter,4,12,5,11\n", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "metafuse",
            "pool",
            str(path),
            "--measure",
            "RR",
            "--method",
            "FE",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning: duplicate study labels" in proc.stderr
    studies = [s["study"] for s in json.loads(proc.stdout)["studies"]]
    assert studies == ["Shechter (1)", "Shechter (2)"]
