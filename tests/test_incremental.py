"""Incremental builds (issue 23): the build cache gives a cold build's bytes, and is never believed.

On the fixture review: a build with the cache and two processes, a rebuild with nothing changed,
and a rebuild after one trial's numbers change each equal a cold build byte for byte; the
rebuilds draw nothing, or only the analyses that pool the changed trial. A cache whose files were
edited, removed or written for another key is ignored. Speed lives in bench/incremental.py.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from metafuse.pipeline import render
from metafuse.pipeline.cache import CACHE_DIR, BuildCache, default_cache_dir
from metafuse.pipeline.keys import Digest
from metafuse.pipeline.outputs import run_all
from metafuse.pipeline.run import Analysis
from tests.hostile_cases import snapshot


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The analyses whose own outputs are written afresh (not taken from the cache)."""
    names: list[str] = []
    original = render.write_analysis

    def counting(analysis: Analysis, folder: Path, records: object = None) -> list[Path]:
        names.append(analysis.spec.name)
        return original(analysis, folder, records)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "write_analysis", counting)
    return names


def change_one_trial(studies: Path) -> None:
    """Fairbank 2005's ODI mean at 24 months (experimental arm): 34.0 -> 33.0."""
    path = studies / "outcomes.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("fairbank2005-odi-24,"))
    assert ",exp,138,34.0,21.1," in lines[row]
    lines[row] = lines[row].replace(",exp,138,34.0,21.1,", ",exp,138,33.0,21.1,")
    path.write_text("\n".join(lines), encoding="utf-8")


def test_cold_warm_and_changed_builds_are_identical(
    project: Path, built: tuple[Path, list[Path]], drawn: list[str]
) -> None:
    cold = snapshot(built[0] / "results")
    out = project / "results"
    cache = BuildCache(default_cache_dir(out))
    assert cache.folder == project / CACHE_DIR
    run_all(project / "analyses", out, jobs=2, cache=cache)
    assert snapshot(out) == cold  # drawn in two processes and stored: the cold bytes
    first = len(drawn)

    warm = run_all(project / "analyses", out, cache=BuildCache(cache.folder))
    assert snapshot(out) == cold
    assert len(drawn) == first  # nothing drawn, nothing planned
    assert sorted(p.relative_to(out).as_posix() for p in warm) == sorted(cold)

    original = (project / "studies" / "outcomes.csv").read_bytes()
    change_one_trial(project / "studies")
    del drawn[:]
    run_all(project / "analyses", out, cache=BuildCache(cache.folder))
    assert "B_odi_2y" in drawn
    assert "B_odi_2y_by_country" in drawn
    assert not [name for name in drawn if not name.startswith("B_odi")]  # only what pools it
    changed = project / "changed"
    run_all(project / "analyses", changed, jobs=2)  # cold
    assert snapshot(out) == snapshot(changed) != cold
    assert CACHE_DIR not in json.loads((out / "manifest.json").read_text())["outputs"]

    # a cache that cannot be trusted (edited, partial, unreadable) is ignored, never believed
    objects = sorted((cache.folder / "objects").glob("??/*"))
    objects[0].write_bytes(objects[0].read_bytes() + b" ")
    objects[-1].unlink()
    for entry in sorted((cache.folder / "entries").glob("*.json"))[:3]:
        entry.write_text("{", encoding="utf-8")
    (project / "studies" / "outcomes.csv").write_bytes(original)
    del drawn[:]
    run_all(project / "analyses", out, cache=BuildCache(cache.folder))
    assert drawn  # redrawn where the cache could not be believed
    assert snapshot(out) == cold


def test_cache_entries_are_checked_before_use(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    (tmp_path / "a.txt").write_bytes(b"alpha")
    key, other = "a" * 64, "b" * 64
    cache.put(key, [("x/a.txt", tmp_path / "a.txt")], {"n": 1})
    found = cache.get(key)
    assert found is not None
    assert found.files == {"x/a.txt": b"alpha"}
    assert found.notes == {"n": 1}
    assert (cache.folder / "CACHEDIR.TAG").is_file()
    entry = cache.folder / "entries" / f"{key}.json"
    record = json.loads(entry.read_text(encoding="utf-8"))
    shutil.copy(entry, cache.folder / "entries" / f"{other}.json")
    assert cache.get(other) is None  # an entry names its own key
    for change in (
        {"format": 0},
        {"files": [["../a.txt", record["files"][0][1]]]},
        {"files": [["a.txt", "0" * 64]]},
        {"files": "a.txt"},
    ):
        entry.write_text(json.dumps(record | change), encoding="utf-8")
        assert cache.get(key) is None
    assert cache.get("not a key") is None


def test_an_unwritable_cache_costs_only_time(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    cache = BuildCache(blocked / "cache")
    cache.put("c" * 64, [("a.txt", blocked)])
    assert cache.get("c" * 64) is None
    cache.prune()


@dataclasses.dataclass(frozen=True)
class _Spec:
    name: str
    level: float = 0.95


@dataclasses.dataclass(frozen=True)
class _Grown(_Spec):
    model: tuple[str, ...] = ()


def test_keys_read_values_exactly() -> None:
    def key(*values: object) -> str:
        return Digest(*values).hexdigest()

    assert key(_Spec("a")) == key(_Spec("a")) != key(_Spec("a", 0.9))
    assert key(_Spec("a")) != key(_Grown("a"))  # a field more is another spec
    assert key(0.1 + 0.2) != key(0.3)
    assert key(1) != key(1.0) != key("1")
    assert key(["a", "b"]) != key(["ab"]) != key(("a", "b"))
    assert key({"a": 1, "b": 2}) != key({"b": 2, "a": 1})  # a vocabulary's order is output
    frame = pd.DataFrame({"study": ["x", "y"], "mean": [1.0, 2.0]})
    changed = frame.assign(mean=[1.0, 2.0000000001])
    assert key(frame) == key(frame.copy()) != key(changed)
    with pytest.raises(TypeError, match="no cache key"):
        key(object())


def test_the_command_line_cache_and_jobs(tmp_path: Path) -> None:
    """``--no-cache`` reads and writes no cache; the default keeps one beside --out (outside it);
    ``--jobs`` takes a positive count."""
    from click.testing import CliRunner

    from metafuse.cli import main

    (tmp_path / "analyses").mkdir()
    (tmp_path / "trials.csv").write_text(
        "study,events_exp,n_exp,events_ctrl,n_ctrl\nA,4,123,11,139\nB,6,306,29,303\n"
        "C,3,231,11,220\n",
        encoding="utf-8",
    )
    (tmp_path / "analyses" / "rr.toml").write_text(
        'data = "trials.csv"\nmeasure = "RR"\n', encoding="utf-8"
    )
    runner = CliRunner()

    def build(out: str, *options: str) -> dict[str, bytes]:
        args = ["analysis", str(tmp_path / "analyses"), "--out", str(tmp_path / out), "--quiet"]
        done = runner.invoke(main, [*args, *options])
        assert done.exit_code == 0, done.output
        return snapshot(tmp_path / out)

    cold = build("cold", "--no-cache", "--jobs", "1")
    assert not (tmp_path / CACHE_DIR).exists()
    assert build("results") == cold
    assert (tmp_path / CACHE_DIR / "CACHEDIR.TAG").is_file()
    assert not [name for name in cold if CACHE_DIR in name]
    assert build("results", "--jobs", "2") == cold  # restored: nothing changed
    done = runner.invoke(main, ["analysis", str(tmp_path / "analyses"), "--jobs", "0"])
    assert done.exit_code == 2
    assert "--jobs" in done.output


def _fonts_held() -> int:
    from metafuse.text.metrics import _font

    return _font.cache_info().currsize


def test_a_forked_worker_opens_its_own_fonts() -> None:
    """Font objects do not cross a fork: a worker reading the font file through its parent's
    file offset drew wrong glyphs ("failed to load glyph") when both drew at once."""
    import multiprocessing

    from metafuse.text.metrics import text_width

    text_width("Favours", 8.0)
    assert _fonts_held() >= 1
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_fonts_held) == 0
