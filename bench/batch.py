"""Batch-engine benchmark: fits per second of pool_many at k = 10 for each method, with the ratio to
one fixed-effect pass over the same arrays (the memory-bound floor), plus GOSH at k = 13 against one
pool() call, and permutation tests; metafor's times for the same work when R is installed.

Run: ``make bench`` (or ``.venv/bin/python bench/batch.py [rows] [report.json]``). Prints a table
and writes bench/batch_report.json (or the given path). Timings are the CPU time of this process
(``time.process_time``: other work on a shared machine does not count), best of 3 (best of 1 for the
iterative methods); goals (issue 23): DL at most 8x and REML at most 60x the fixed-effect floor
at k = 10, GOSH at k = 13 within 20x one pool() call. To compare with another checkout, run this
script with ``PYTHONPATH`` pointing at it, side by side, and compare the ratios.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from metafuse import pool, pool_many
from metafuse.files import to_json, write_text_atomic
from metafuse.toolbox.gosh import gosh
from metafuse.toolbox.permutation import permutation_test

METHODS = ("FE", "DL", "HE", "SJ", "HS", "PM", "EB", "ML", "REML")
K = 10


def best_of(fn, repeats: int = 3) -> float:
    """Smallest CPU time of ``repeats`` calls (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def floor(y: np.ndarray, v: np.ndarray) -> None:
    """One fixed-effect pass: weights, weighted mean and its variance."""
    w = 1.0 / v
    sw = w.sum(axis=1)
    _ = (w * y).sum(axis=1) / sw, 1.0 / sw


def metafor_seconds(rows: int) -> dict[str, float] | None:
    """metafor's CPU time for the same fits (a loop of rma() calls on a sample), with R."""
    if shutil.which("Rscript") is None:
        print("R not found: metafor timings skipped")
        return None
    script = f"""
suppressMessages(library(metafor)); set.seed(1); n <- 200; k <- {K}
v <- matrix(10^runif(n*k, -2, 0), n); y <- matrix(rnorm(n*k, 0, sqrt(v + 0.05)), n)
out <- c()
for (m in c("DL", "REML")) {{
  t <- system.time(for (i in 1:n) try(rma(y[i,], v[i,], method=m), silent=TRUE))
  t <- sum(t[c("user.self", "sys.self")])
  out[m] <- t / n * {rows}
}}
cat(sprintf("%s=%.6f", names(out), out), sep="\\n")
"""
    proc = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=600)
    return {line.split("=")[0]: float(line.split("=")[1]) for line in proc.stdout.split()}


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = np.random.default_rng(20261123)
    v = 10 ** rng.uniform(-2, 0, (rows, K))
    y = rng.normal(0, np.sqrt(v + rng.choice([0.0, 0.01, 0.05, 0.2], (rows, 1))))
    base = best_of(lambda: floor(y, v))
    report: dict[str, object] = {"rows": rows, "k": K, "floor_seconds": base, "methods": {}}
    print(f"pool_many, {rows:,} meta-analyses of k = {K}; fixed-effect floor {base * 1e3:.1f} ms")
    for method in METHODS:
        seconds = best_of(lambda m=method: pool_many(y, v, m), repeats=1 if method in
                          ("ML", "REML", "PM", "EB") else 3)  # fmt: skip
        report["methods"][method] = {
            "fits_per_second": rows / seconds,  # type: ignore[index]
            "ratio_to_floor": seconds / base,
        }
        print(f"  {method:5} {rows / seconds:>12,.0f} fits/s   {seconds / base:>8.1f} x floor")
    bcg = pd.read_csv(Path(__file__).resolve().parent.parent / "examples" / "bcg" / "bcg.csv")
    fit = pool(bcg, "RR", "FE")
    one = best_of(lambda: pool(bcg, "RR", "FE"), 5)
    g = best_of(lambda: gosh(fit), 3)
    perm = best_of(lambda: permutation_test(pool(bcg, "RR", "REML")), 1)
    report |= {
        "gosh_k13_seconds": g,
        "pool_seconds": one,
        "gosh_over_pool": g / one,
        "permutest_k13_exact_seconds": perm,
    }
    print(f"GOSH, k = 13 (8,191 subsets): {g * 1e3:.1f} ms = {g / one:.1f} x one pool() call")
    print(f"permutation test, k = 13 (8,192 sign patterns, REML): {perm * 1e3:.0f} ms")
    r = metafor_seconds(rows)
    if r is not None:
        report["metafor_seconds"] = r
        for method, seconds in r.items():
            mine = rows / report["methods"][method]["fits_per_second"]  # type: ignore[index]
            print(
                f"  metafor {method}: {seconds:.1f} s for {rows:,} fits ({seconds / mine:.0f} x "
                "slower than pool_many)"
            )
    path = (
        Path(sys.argv[2])
        if len(sys.argv) > 2
        else Path(__file__).resolve().parent / "batch_report.json"
    )
    write_text_atomic(path, to_json(json.loads(json.dumps(report))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
