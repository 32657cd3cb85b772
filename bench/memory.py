"""Memory and time of big inputs (issue 24): each command runs as its own process; its peak
resident memory (the child's ``ru_maxrss``) and wall time are measured against the issue's goals:

- ``pool`` on a CSV just under the 64 MiB size limit, and on 1,000,000 rows: under 2 GB;
- leave-one-out (and influence) at k = 5,000: under 500 MB;
- GOSH (k = 200 and 5,000) and permutation tests (1,000,000 permutations): bounded, i.e. they
  finish within the timeout and under 2 GB; 10,000,000 permutations are refused.

Run: ``make bench-memory`` (or ``.venv/bin/python bench/memory.py [--code DIR] [--only TEXT]``).
``--code DIR`` runs another checkout's ``metafuse`` (e.g. an export of main, the numbers before
the fixes; ``--report`` names its file), and ``--baseline FILE`` keeps such a report under
"before" in this run's. Writes ``bench/memory_report.json`` for this checkout's code. Every
process runs with an address-space cap (``--cap-gb``, default 8) so that a runaway case fails
instead of taking the machine; such a case reports "over the cap".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 64 * 1024 * 1024
GB = 1024.0


def binary_rows(path: Path, *, rows: int | None = None, size: int | None = None,
                label: Callable[[int], str] = lambda i: f"S{i}") -> None:  # fmt: skip
    """A risk-ratio CSV of ``rows`` rows, or of as many as fit in ``size`` bytes."""
    rng = random.Random(1)
    written, i = 0, 0
    with path.open("w", encoding="utf-8") as fh:
        written += fh.write("study,events_exp,n_exp,events_ctrl,n_ctrl\n")
        while (rows is None or i < rows) and (size is None or written < size - 64):
            ne, nc = rng.randint(20, 500), rng.randint(20, 500)
            line = f"{label(i)},{rng.randint(1, ne - 1)},{ne},{rng.randint(1, nc - 1)},{nc}\n"
            written += fh.write(line)
            i += 1


def generic_rows(path: Path, k: int, moderator: bool = False) -> None:
    rng = random.Random(2)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("study,yi,sei" + (",x" if moderator else "") + "\n")
        for i in range(k):
            extra = f",{i % 4}" if moderator else ""
            fh.write(f"S{i},{rng.gauss(0.2, 0.4):.4f},{rng.uniform(0.05, 0.5):.4f}{extra}\n")


def data_spec(folder: Path, k: int) -> None:
    (folder / "analyses").mkdir()
    generic_rows(folder / "big.csv", k)
    (folder / "analyses" / "big.toml").write_text(
        'data = "big.csv"\nmeasure = "GEN"\n', encoding="utf-8"
    )


#: name -> (builder of the case folder, command arguments, goal in MB, expect a refusal)
CASES: dict[str, tuple[Callable[[Path], None], list[str], float, bool]] = {
    "pool 1,000,000 rows": (
        lambda d: binary_rows(d / "data.csv", rows=1_000_000),
        ["pool", "data.csv", "--measure", "RR"], 2 * GB, False),
    "pool 1,000,000 rows, DerSimonian-Laird": (
        lambda d: binary_rows(d / "data.csv", rows=1_000_000),
        ["pool", "data.csv", "--measure", "RR", "--method", "DL"], 2 * GB, False),
    "pool 2,000,000 rows (the row limit)": (
        lambda d: binary_rows(d / "data.csv", rows=2_000_000),
        ["pool", "data.csv", "--measure", "RR"], 2 * GB, False),
    "pool just under 64 MiB, labelled rows (1.9M studies)": (
        lambda d: binary_rows(d / "data.csv", size=LIMIT, label=lambda i: f"Study {i:07d} et al"),
        ["pool", "data.csv", "--measure", "RR"], 2 * GB, False),
    "pool just under 64 MiB, short rows (2.9M rows: over the row limit)": (
        lambda d: binary_rows(d / "data.csv", size=LIMIT),
        ["pool", "data.csv", "--measure", "RR"], 2 * GB, True),
    "leave-one-out k = 5,000 (REML)": (
        lambda d: generic_rows(d / "data.csv", 5000),
        ["leave-one-out", "data.csv", "--measure", "GEN"], 500, False),
    "influence k = 5,000 (REML)": (
        lambda d: generic_rows(d / "data.csv", 5000),
        ["influence", "data.csv", "--measure", "GEN"], 500, False),
    "analysis of a data spec, k = 5,000": (
        lambda d: data_spec(d, 5000),
        ["analysis", "analyses", "--out", "results", "--quiet"], 2 * GB, False),
    "gosh k = 200 (REML)": (
        lambda d: generic_rows(d / "data.csv", 200),
        ["gosh", "data.csv", "--measure", "GEN"], 2 * GB, False),
    "gosh k = 5,000 (REML)": (
        lambda d: generic_rows(d / "data.csv", 5000),
        ["gosh", "data.csv", "--measure", "GEN"], 2 * GB, False),
    "permutest 1,000,000 permutations (k = 25, DL)": (
        lambda d: generic_rows(d / "data.csv", 25),
        ["permutest", "data.csv", "--measure", "GEN", "--method", "DL", "--iterations",
         "1000000"], 2 * GB, False),
    "permutest 10,000,000 permutations": (
        lambda d: generic_rows(d / "data.csv", 25),
        ["permutest", "data.csv", "--measure", "GEN", "--iterations", "10000000"], 2 * GB, True),
}  # fmt: skip


def measure(argv: list[str], cwd: Path, env: dict[str, str], timeout: float,
            cap: int) -> dict[str, Any]:  # fmt: skip
    """Exit, seconds, peak resident MB and last output line of one process."""

    def limit() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=limit)  # fmt: skip
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                timed_out = True
            time.sleep(0.1)
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip()
    code = os.waitstatus_to_exitcode(status)
    return {
        "exit": code,
        "seconds": round(time.perf_counter() - start, 1),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "timed_out": timed_out,
        "over_cap": "MemoryError" in text or "Unable to allocate" in text,
        "last_line": text.splitlines()[-1][:300] if text else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", type=Path, default=None)
    parser.add_argument("--only", default="")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--cap-gb", type=float, default=8.0)
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument(
        "--baseline", type=Path, default=None, help="a report of another tree, kept as 'before'"
    )
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "METAFUSE_DEBUG")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    if args.code is not None:
        env["PYTHONPATH"] = str(args.code)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        for name, (build, command, goal, refusal) in CASES.items():
            if args.only not in name:
                continue
            folder = Path(tmp) / str(len(rows))
            folder.mkdir()
            build(folder)
            argv = [sys.executable, "-m", "metafuse", *command]
            found = measure(argv, folder, env, args.timeout, int(args.cap_gb * 1024**3))
            finished = not found["timed_out"] and not found["over_cap"]
            ok = finished and found["peak_mb"] < goal and (found["exit"] != 0) == refusal
            row = {"case": name, "goal_mb": goal, "refusal_expected": refusal, "meets_goal": ok,
                   **found}  # fmt: skip
            rows.append(row)
            mark = "ok " if ok else "NO "
            print(f"{mark} {found['peak_mb']:>8.0f} MB {found['seconds']:>7.1f}s  exit "
                  f"{found['exit']}  {name}  | {found['last_line'][:90]}", flush=True)  # fmt: skip
    report = {"code": str(args.code or ROOT), "cap_gb": args.cap_gb, "timeout_s": args.timeout,
              "cases": rows}  # fmt: skip
    if args.baseline is not None:
        report["before"] = json.loads(args.baseline.read_text(encoding="utf-8"))
    target = args.report or (ROOT / "bench" / "memory_report.json" if args.code is None else None)
    if target is not None and not args.only:
        target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
