"""Incremental ``metafuse analysis``: CPU of a rebuild against a cold build of the same review.

On a copy of the project (``analyses/`` and ``studies/``), each in a fresh process, CPU time
(user + system of the process and its workers, ``getrusage``) and wall time of:

- ``cold``: ``metafuse analysis --no-cache`` (no cache read or written);
- ``first``: a build that fills an empty cache (a cold build plus the cache's writes);
- ``unchanged``: the same build again, nothing changed;
- ``changed``: the build after one trial's numbers change (one cell of outcomes.csv, by default
  Fairbank 2005's adjusted ODI difference at 24 months, given a new value for every run so that
  each run redraws what a real edit redraws);
- ``floor``: what any fresh process pays for that rebuild before reading a record, and the redraw
  of the analyses that pool the changed record (``bench/rebuild_floor.py``), a floor under
  ``changed``.

Medians of ``--repeats`` runs, with ``--jobs`` processes (default: the CPUs available). Every
rebuild's results are compared byte for byte with the cold build of the same inputs.
Run: ``make bench-incremental`` or ``.venv/bin/python bench/incremental.py [--repeats 5]``.
Prints the ratios to the cold build and writes bench/incremental_report.json.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "incremental_report.json"


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Return the CPU seconds (the process and its children) and wall seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, timeout=1800)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def set_cell(outcomes: Path, record: str, column: str, value: str) -> None:
    """Give ``column`` of every row of ``record`` in outcomes.csv the text ``value``."""
    text = outcomes.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    if column not in header:
        raise SystemExit(f"{outcomes}: no column {column!r}")
    hits = [r for r in rows[1:] if r and r[0] == record]
    if not hits or any(not r[header.index(column)] for r in hits):
        raise SystemExit(f"{outcomes}: no record {record!r} with a value in {column!r}")
    for r in hits:
        r[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    outcomes.write_text(out.getvalue(), encoding="utf-8")


def value_of(outcomes: Path, record: str, column: str) -> float:
    rows = list(csv.DictReader(io.StringIO(outcomes.read_text(encoding="utf-8"))))
    return float(next(r[column] for r in rows if r["record_id"] == record))


def rebuild_floor(work: Path, record: str) -> dict[str, Any]:
    """Return ``bench/rebuild_floor.py``'s measures, run in a fresh process in ``work``."""
    script = ROOT / "bench" / "rebuild_floor.py"
    done = subprocess.run(
        [sys.executable, str(script), record],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return dict(json.loads(done.stdout))


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--record", default="fairbank2005-odi-24-adjusted")
    parser.add_argument("--column", default="estimate")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()
    # the package's bytecode written first, as `make install` does (see the Makefile)
    compileall.compile_dir(ROOT / "metafuse", quiet=1)
    metafuse = str(Path(sys.executable).with_name("metafuse"))
    build = [metafuse, "analysis", "analyses", "--quiet", "--jobs", str(args.jobs)]
    cpu: dict[str, list[float]] = {"cold": [], "first": [], "unchanged": [], "changed": []}
    wall: dict[str, list[float]] = {k: [] for k in cpu}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for folder in ("analyses", "studies"):
            shutil.copytree(ROOT / folder, work / folder)
        outcomes = work / "studies" / "outcomes.csv"
        start = value_of(outcomes, args.record, args.column)
        for _ in range(args.repeats):
            shutil.rmtree(work / ".metafuse-cache", ignore_errors=True)
            for name in ("first", "cold"):
                extra = ["--no-cache"] if name == "cold" else []
                c, w = run([*build, "--out", f"results_{name}", *extra], work)
                cpu[name].append(c)
                wall[name].append(w)
            c, w = run([*build, "--out", "results_first"], work)
            cpu["unchanged"].append(c)
            wall["unchanged"].append(w)
            assert tree(work / "results_first") == tree(work / "results_cold")
        for i in range(args.repeats):
            set_cell(outcomes, args.record, args.column, f"{start - 0.01 * (i + 1):.2f}")
            c, w = run([*build, "--out", "results_first"], work)
            cpu["changed"].append(c)
            wall["changed"].append(w)
        run([*build, "--out", "results_cold", "--no-cache"], work)
        assert tree(work / "results_first") == tree(work / "results_cold"), "rebuild != cold"
        floors = [rebuild_floor(work, args.record) for _ in range(args.repeats)]
    cold = statistics.median(cpu["cold"])
    cpu_median = {k: median(v) for k, v in cpu.items()}
    wall_median = {k: median(v) for k, v in wall.items()}
    ratio = {k: round(statistics.median(v) / cold, 3) for k, v in cpu.items()}
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "jobs": args.jobs,
        "repeats": args.repeats,
        "changed_cell": f"outcomes.csv {args.record} {args.column}",
        "cpu_s_median": cpu_median,
        "wall_s_median": wall_median,
        "ratio_to_cold_cpu": ratio,
        "identical_to_cold": True,
        "floor": {
            "analyses_redrawn": floors[0]["analyses"],
            "imports_cpu_s": median([f["imports"] for f in floors]),
            "plan_cpu_s": median([f["plan"] for f in floors]),
            "draw_cpu_s": median([f["draw"] for f in floors]),
            "cpu_s": median([f["imports"] + f["draw"] for f in floors]),
            "ratio_to_cold_cpu": round(
                statistics.median([f["imports"] + f["draw"] for f in floors]) / cold, 3
            ),
            "with_plan_ratio_to_cold_cpu": round(
                statistics.median([f["imports"] + f["plan"] + f["draw"] for f in floors]) / cold,
                3,
            ),
        },
    }
    for name in cpu:
        print(
            f"{name:>9}: {cpu_median[name]:6.2f} s CPU ({ratio[name]:.3f} of cold), "
            f"{wall_median[name]:6.2f} s wall"
        )
    floor = report["floor"]
    print(
        f"    floor: {floor['cpu_s']:6.2f} s CPU ({floor['ratio_to_cold_cpu']:.3f} of cold): "
        f"imports {floor['imports_cpu_s']:.2f} s, redrawing "
        f"{len(floor['analyses_redrawn'])} analyses {floor['draw_cpu_s']:.2f} s; with reading, "
        f"checking and planning the records ({floor['plan_cpu_s']:.2f} s): "
        f"{floor['with_plan_ratio_to_cold_cpu']:.3f} of cold"
    )
    args.report.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
