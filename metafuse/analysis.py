"""Running analysis specs (``analyses/*.toml``) into ``results/``.

A spec names its data file (relative to the spec's repository root, i.e. the parent of the spec
folder), the measure, the method and HKSJ. Each analysis writes ``results/<name>/pooled.json`` and
``summary.txt`` atomically; outputs are deterministic (sorted keys, no timestamps).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from metafuse.exceptions import DataError, SpecError
from metafuse.io import locate, read_table, to_json, write_text_atomic
from metafuse.measures import normalise_measure, normalise_method
from metafuse.pooling import pool
from metafuse.results import PooledResult

SPEC_KEYS = {"title", "data", "measure", "method", "hksj"}


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: where its data are and how to pool them."""

    name: str
    path: Path
    title: str
    data: Path
    measure: str
    method: str
    hksj: bool


def read_spec(path: Path, root: Path) -> AnalysisSpec:
    """Parse and check one spec; errors name the file and key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"{path}: cannot read spec: {err}") from None
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise SpecError(f"{path}: {unknown[0]}: unknown key")
    for key in ("data", "measure"):
        if key not in raw:
            raise SpecError(f"{path}: {key}: missing required key")
    try:
        measure = normalise_measure(raw["measure"])
    except ValueError as err:
        raise SpecError(f"{path}: measure: {err}") from None
    try:
        method = normalise_method(raw.get("method", "REML"), measure)
    except ValueError as err:
        raise SpecError(f"{path}: method: {err}") from None
    hksj = raw.get("hksj", False)
    if not isinstance(hksj, bool):
        raise SpecError(f"{path}: hksj: must be true or false")
    return AnalysisSpec(
        name=path.stem,
        path=path,
        title=str(raw.get("title", path.stem)),
        data=root / str(raw["data"]),
        measure=measure,
        method=method,
        hksj=hksj,
    )


def run_spec(spec: AnalysisSpec) -> PooledResult:
    """Pool the data of one spec."""
    frame = read_table(spec.data)
    try:
        return pool(frame, spec.measure, spec.method, spec.hksj)
    except DataError as err:
        raise locate(err, frame) from None


def run_all(spec_dir: Path, out_dir: Path) -> list[Path]:
    """Run every ``*.toml`` spec in ``spec_dir`` (sorted by name); return the files written.

    All specs are checked and fitted before anything is written, so an error leaves
    ``out_dir`` as it was.
    """
    root = spec_dir.resolve().parent
    specs = [read_spec(p, root) for p in sorted(spec_dir.glob("*.toml"))]
    fitted = [(spec, run_spec(spec)) for spec in specs]
    written = []
    for spec, result in fitted:
        folder = out_dir / spec.name
        pooled = folder / "pooled.json"
        summary = folder / "summary.txt"
        write_text_atomic(pooled, to_json(result.to_dict()))
        write_text_atomic(summary, f"{spec.title}\n\n{result}\n")
        written += [pooled, summary]
    return written
