"""Convergence simulation: fit 100,000+ meta-analyses with every tau^2 estimator, count failures.

Grid: k = 2..40 studies; tau^2 in {0, 0.001, 0.01, 0.1, 1, 10}; within-study variances log-uniform
over two orders of magnitude (plain, outlier, identical-studies scenarios) or four (wide-variances);
one study shifted 10-50 SDs (outlier); all studies identical (identical). A failure is a
non-finite or negative tau^2, an estimate that does not solve its estimating equation, or an
invalid Q-profile CI, and (REML, ML) a reported tau^2 below the maximum of the likelihood on a
dense grid (not the global maximum). Goal: 0.

Run: ``make bench`` (or ``.venv/bin/python bench/convergence.py``); writes
bench/convergence_report.json (deterministic: fixed seed, sorted keys).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from metafuse.engine.simulation import run
from metafuse.files import to_json, write_text_atomic

SEED = 20261122
KS = range(2, 41)
TAU2 = (0.0, 0.001, 0.01, 0.1, 1.0, 10.0)
REPS = 120  # per (k, tau2, scenario): 39 * 6 * 4 * 120 = 112,320 meta-analyses


def main() -> int:
    start = time.perf_counter()
    report = run(SEED, KS, TAU2, REPS)
    report["grid"] = {
        "seed": SEED,
        "k": [KS.start, KS.stop - 1],
        "tau2": list(TAU2),
        "reps_per_cell": REPS,
    }
    out = Path(__file__).with_name("convergence_report.json")
    write_text_atomic(out, to_json(report))
    elapsed = time.perf_counter() - start
    print(
        f"{report['meta_analyses']} meta-analyses x {len(report['by_method'])} estimators: "
        f"{report['failures']} failures ({elapsed:.0f} s); report: {out}"
    )
    for method, counts in report["by_method"].items():
        print(f"  {method:5s} {counts}")
    return 0 if report["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
