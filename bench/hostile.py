"""Hostile and careless inputs of issue 24 (``tests/hostile_cases.py``), each run as its own
process with a timeout and a memory cap, counted by what happened: a clean error, handled, silently
wrong, an internal error, a hang or a resource failure.

Run: ``make bench-hostile`` (or ``.venv/bin/python bench/hostile.py [--code DIR] [--only TEXT]``).
``--code DIR`` runs the cases against another checkout's ``metafuse`` (e.g. an export of
``main``: the numbers before the fixes); the case definitions and checks are always this
checkout's. Writes ``bench/hostile_report.json`` (``--report`` to choose; the default only for
this checkout's code); ``--baseline FILE`` keeps another tree's report under "before". The cap
is an address-space limit of 4 GiB per case (a case that needs more fails as "resources").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MEMORY_CAP = 4 * 1024**3


def _cases() -> Any:
    spec = importlib.util.spec_from_file_location("hostile_cases", ROOT / "tests/hostile_cases.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hostile_cases"] = module
    spec.loader.exec_module(module)
    return module


def _limit() -> None:
    os.setsid()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _environment(code: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("METAFUSE_DEBUG", "PYTHONPATH")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float,
         send: str | None, after: float) -> tuple[str, int | None, str, float, float]:  # fmt: skip
    """(kind, exit code, output, seconds, peak MB) of one process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=_limit)  # fmt: skip
        status, usage, timed_out = None, None, False
        while status is None:
            pid, raw, usage = os.wait4(proc.pid, os.WNOHANG)
            elapsed = time.perf_counter() - start
            if pid:
                status = raw
                break
            if send is not None and elapsed >= after:
                os.killpg(proc.pid, getattr(signal, send))
                send = None
            if elapsed > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                timed_out = True
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    seconds = time.perf_counter() - start
    peak = usage.ru_maxrss / 1024 if usage is not None else 0.0
    if timed_out:
        return "hang", None, text, seconds, peak
    return "", proc.returncode, text, seconds, peak


def run_case(h: Any, case: Any, base: Path, code: Path | None) -> dict[str, Any]:
    folder = base / case.name.replace("/", "__")
    work = folder / "work"
    work.mkdir(parents=True)
    (folder / "outside").mkdir()
    case.build(work)
    h.BEFORE[str(folder)] = h.snapshot(folder)
    env = _environment(code)
    if case.api is not None:
        steps: list[Any] = [([sys.executable, str(Path(__file__).resolve()), "--api", case.api],
                             None)]  # fmt: skip
    else:
        steps = []
        for step in case.steps:
            args, send = (step[0], step[1]) if isinstance(step[0], tuple) else (step, None)
            steps.append(([sys.executable, "-m", "metafuse", *args], send))
    total, peak = 0.0, 0.0
    for argv, send in steps:
        kind, rc, text, seconds, mb = _run(argv, work, env, case.timeout, send, case.signal_after)
        total, peak = total + seconds, max(peak, mb)
    if not kind:
        kind = h.classify(rc, text)
        if steps[-1][1] is not None and rc is not None and rc < 0:
            kind = "error"  # killed by the signal the case sent: judged by its check
    outcome = h.Outcome(kind, rc, text, total, peak)
    name, why = h.verdict(case, folder, outcome)
    return {
        "case": case.name,
        "group": case.group,
        "owner": case.owner,
        "verdict": name,
        "why": why,
        "exit": rc,
        "seconds": round(total, 2),
        "peak_mb": round(peak, 1),
        "message": text.strip().splitlines()[-1][:240] if text.strip() else "",
    }


def _api(expression: str) -> None:
    from metafuse.exceptions import MetafuseError

    h = _cases()
    try:
        h.run_api(expression)
    except (MetafuseError, ValueError, TypeError) as err:
        print(f"Error: {err}", file=sys.stderr)
        sys.exit(1)
    except AssertionError as err:
        print(f"accepted: {err}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", type=Path, default=None)
    parser.add_argument("--only", default="")
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument(
        "--baseline", type=Path, default=None, help="a report of another tree, kept as 'before'"
    )
    parser.add_argument("--api", default=None)
    args = parser.parse_args()
    if args.api is not None:
        _api(args.api)
        return
    if args.code is not None:  # builders that run metafuse use the same code
        os.environ["PYTHONPATH"] = str(args.code)
    h = _cases()
    cases = [c for c in h.CASES if args.only in c.name]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        for case in cases:
            row = run_case(h, case, Path(tmp), args.code)
            rows.append(row)
            print(f"{row['verdict']:<20} {row['seconds']:>7.1f}s {row['peak_mb']:>7.0f}MB  "
                  f"{case.name}  {row['why'] or ''}", flush=True)  # fmt: skip
    counts = Counter(r["verdict"] for r in rows)
    by_group: dict[str, Counter[str]] = {}
    for r in rows:
        by_group.setdefault(r["group"], Counter())[r["verdict"]] += 1
    report = {
        "code": str(args.code or ROOT),
        "cases": len(rows),
        "verdicts": dict(sorted(counts.items())),
        "by_group": {g: dict(sorted(c.items())) for g, c in sorted(by_group.items())},
        "rows": rows,
    }
    if args.baseline is not None:
        before = json.loads(args.baseline.read_text(encoding="utf-8"))
        report["before"] = {k: before[k] for k in ("code", "cases", "verdicts", "by_group")}
        report["before_rows"] = before["rows"]
    print(json.dumps(report["verdicts"]))
    target = args.report or (ROOT / "bench" / "hostile_report.json" if args.code is None else None)
    if target is not None and not args.only:
        target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
