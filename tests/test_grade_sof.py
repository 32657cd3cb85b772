"""GRADE rules, absolute effects, summary-of-findings rendering, manifest and verify."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from metafuse import pool
from metafuse.analysis import read_spec, run_all, verify
from metafuse.cli import main
from metafuse.exceptions import SpecError
from metafuse.grade import (
    StudyInfo,
    assess,
    optimal_information_size_binary,
    optimal_information_size_continuous,
)
from metafuse.sof import absolute_binary, mean_difference_text
from tests.conftest import ROOT


def test_optimal_information_size_by_hand() -> None:
    # control risk 0.20, RRR 25% -> 0.15; z = 1.959964 + 0.841621 = 2.801585, z^2 = 7.848879
    # per group = 7.848879 * (0.2*0.8 + 0.15*0.85) / 0.05^2 = 902.62 -> 903; total 1806
    assert optimal_information_size_binary(0.20) == 1806
    # SD 20, difference 10: per group = 2 * 7.848879 * 400 / 100 = 62.79 -> 63; total 126
    assert optimal_information_size_continuous(20, 10) == 126


def test_absolute_effects_by_hand() -> None:
    # ACR 200 per 1000, RR 0.5 (0.25 to 1.0): 100 per 1000; 100 fewer (150 fewer to 0 fewer)
    risk, diff = absolute_binary(0.2, 0.5, 0.25, 1.0)
    assert risk == "100 per 1000"
    assert diff == "100 fewer per 1000 (from 150 fewer to 0 fewer)"
    assert mean_difference_text(-2.1, -6.95, 2.75) == "MD 2.10 lower (6.95 lower to 2.75 higher)"


def _result(yi, sei):
    return pool(
        pd.DataFrame({"study": [f"s{i}" for i in range(len(yi))], "yi": yi, "sei": sei}),
        "GEN",
        "DL",
    )


def _infos(result, rob="low"):
    return [StudyInfo(s.study, s.weight_percent, rob, 100.0) for s in result.studies]


def test_rules_and_levels() -> None:
    precise = _result([-5.0, -5.2, -4.8], [0.5, 0.5, 0.5])
    c = assess(precise, _infos(precise), ratio=False)
    assert c.level == "high"
    assert c.label() == "⊕⊕⊕⊕ HIGH"
    c = assess(precise, _infos(precise, "high"), ratio=False)
    assert c.domains[0].rating == "very serious"
    assert c.level == "low"
    vague = _result([-5.0, 6.0, 0.5], [2.0, 2.0, 2.0])
    c = assess(vague, _infos(vague), ratio=False, mid=1.0)
    assert c.domains[1].rating == "very serious"  # I^2 >= 75% with Q p < 0.10
    assert c.domains[3].rating == "very serious"  # CI beyond +/- MID on both sides
    assert c.level == "very low"
    over = assess(vague, _infos(vague), ratio=False, overrides={"inconsistency": (
        "serious", "differences explained by the populations")})  # fmt: skip
    dom = over.domains[1]
    assert (dom.rating, dom.judged, dom.suggested) == ("serious", True, "very serious")


def test_sof_outputs_are_deterministic_and_complete(project: Path) -> None:
    out = project / "results"
    first = run_all(project / "analyses", out)
    names = {p.name for p in first}
    for comparison in ("A", "B"):
        for stem in ("sof", "evidence_profile"):
            for fmt in ("md", "csv", "html", "docx"):
                assert f"{stem}_{comparison}.{fmt}" in names
    text = (out / "sof_B.md").read_text()
    assert "Complications; any follow-up" in text  # missing outcomes listed, not hidden
    assert "Risk of bias: rated down one level" in text
    snapshot = {p: p.read_bytes() for p in first}
    second = run_all(project / "analyses", out)
    assert all(p.read_bytes() == snapshot[p] for p in second)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest) == {"metafuse_version", "dependencies", "inputs", "outputs"}
    assert "studies/outcomes.csv" in manifest["inputs"]
    assert "sof_A.docx" in manifest["outputs"]


def test_verify(project: Path) -> None:
    tmp_path = project
    out = tmp_path / "results"
    run_all(tmp_path / "analyses", out)
    assert verify(tmp_path / "analyses", out) == []
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", "--analyses", str(tmp_path / "analyses"), "--results",
                              str(out)])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    target = out / "B_odi_2y" / "pooled.json"
    target.write_text(target.read_text().replace('"k": 3', '"k": 4'))
    problems = verify(tmp_path / "analyses", out)
    assert any("B_odi_2y/pooled.json: altered" in p for p in problems)
    bad = runner.invoke(main, ["verify", "--analyses", str(tmp_path / "analyses"), "--results",
                               str(out)])  # fmt: skip
    assert bad.exit_code == 1
    assert "pooled.json" in bad.output


@pytest.mark.parametrize(
    ("grade", "key"),
    [
        ("mid = 10\n", "mid_source"),
        ('indirectness = { rating = "serious" }\n', "indirectness"),
        ('overrides.imprecision = { rating = "awful", reason = "x" }\n', "imprecision"),
        ('overrides.colour = { rating = "serious", reason = "x" }\n', "colour"),
        ("assumed_risk = 1.5\nassumed_risk_source = 'x'\n", "assumed_risk"),
    ],
)
def test_grade_spec_errors(tmp_path: Path, grade: str, key: str) -> None:
    spec = tmp_path / "analyses" / "x.toml"
    spec.parent.mkdir()
    spec.write_text('studies = "studies"\ncomparison = "A"\noutcome = "odi"\nwindow = "2y"\n'
                    f"[grade]\n{grade}", encoding="utf-8")  # fmt: skip
    with pytest.raises(SpecError, match=key):
        read_spec(spec, tmp_path)


def test_overlapping_reports_are_not_double_counted() -> None:
    """Brox 2003 and 2006 are merged in Froholdt 2012: the longest follow-up uses the merged
    report only (studies/trials.csv column includes)."""
    from metafuse.evidence import analysis_data
    from metafuse.studies import load_studies

    data = analysis_data(load_studies(ROOT / "studies"), "B", "odi", "longest")
    assert list(data.frame.study) == ["Fairbank 2005", "Froholdt 2012"]
