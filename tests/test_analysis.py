"""Analysis specs: errors name the spec file and key; outputs are atomic and deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from metafuse.analysis import read_spec, run_all
from metafuse.exceptions import SpecError


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('data = "examples/bcg.csv"\nmeasure = "XX"\n', "measure"),
        ('data = "examples/bcg.csv"\nmeasure = "RR"\nmethod = "NOPE"\n', "method"),
        ('data = "examples/bcg.csv"\nmeasure = "RR"\nhksj = "yes"\n', "hksj"),
        ('data = "examples/bcg.csv"\nmeasure = "RR"\ncolour = "red"\n', "colour"),
        ('studies = "studies"\ncomparison = "C"\noutcome = "odi"\nwindow = "2y"\n', "comparison"),
        ('studies = "studies"\ncomparison = "A"\noutcome = "odi"\n', "window"),
        ('measure = "RR"\n', "data"),
        ("this is = not toml [", "cannot read spec"),
    ],
)
def test_invalid_spec_names_file_and_key(project: Path, text: str, key: str) -> None:
    path = project / "analyses" / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=key) as info:
        read_spec(path, project)
    assert str(path) in str(info.value)


def test_an_error_in_one_spec_writes_nothing(project: Path) -> None:
    (project / "analyses" / "zz_bad.toml").write_text('measure = "RR"\n', encoding="utf-8")
    out = project / "results"
    with pytest.raises(SpecError):
        run_all(project / "analyses", out)
    assert not out.exists()


def test_rerun_gives_identical_bytes(project: Path) -> None:
    out = project / "results"
    first = run_all(project / "analyses", out)
    snapshot = {p: p.read_bytes() for p in first}
    second = run_all(project / "analyses", out)
    assert first == second
    assert all(p.read_bytes() == snapshot[p] for p in second)
    assert "No trial has usable data." in (out / "A_odi_5y" / "summary.txt").read_text()


def test_exclusions_keep_their_reasons(project: Path) -> None:
    from metafuse.analysis import run_spec

    spec = read_spec(project / "analyses" / "B_odi_2y_arm_level_only.toml", project)
    outcome = run_spec(spec)
    assert [label for label, _ in outcome.excluded] == ["Brox 2003", "Brox 2006"]
    assert all("direction" in reason for _, reason in outcome.excluded)
    assert outcome.result is not None
    assert outcome.result.k == 1
    assert spec.is_secondary


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
    from metafuse.analysis import run_spec

    path = project / "analyses" / "x.toml"
    path.write_text('studies = "studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'
                    + extra, encoding="utf-8")  # fmt: skip
    with pytest.raises(SpecError, match=key) as info:
        run_spec(read_spec(path, project))
    assert str(path) in str(info.value)
