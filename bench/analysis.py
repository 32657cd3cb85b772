"""``make analysis`` against R metafor: CPU time of the same outputs, side by side.

metafuse: ``metafuse analysis --no-cache --jobs 1`` on the project's specs in a fresh process (a
cold build, no build cache read or written, one process like R; also with ``--jobs`` = the CPUs,
all the workers' CPU time counted): interpreter start, imports, every fit, leave-one-out,
small-study tests, forest PNG+SVG, funnel and GOSH plots, SoF tables in four formats, the HTML
report and the manifest; and, like for like with R, the fits and figures alone (forest PNG+SVG,
funnel from k = 10, leave-one-out from k = 3). R: one Rscript that loads metafor and, for every
analysis, fits ``rma`` to the same effect sizes with the same method, prints it, runs
``leave1out`` (k >= 3), draws ``forest`` as PNG (300 dpi) and SVG and ``funnel`` (k >= 10). GOSH
is not part of the R work by default (metafor's ``gosh`` at k = 13 takes tens of seconds);
``--r-gosh`` adds it (k >= 5, as metafuse draws it).

CPU time is user + system time of the child processes (``getrusage``). The commands run side by
side: ``--repeats`` rounds, each running every command once, so that the machine's slower and
faster spells fall on metafuse and R alike. Times are medians over the rounds; each ratio is
the median of the rounds' own ratios, with their range.
Run: ``make bench-analysis`` or ``.venv/bin/python bench/analysis.py [--repeats 5] [--r-gosh]``.
Prints the metafuse/R CPU ratios and writes bench/analysis_report.json. R is optional: without
Rscript the R side is skipped with a message.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "analysis_report.json"

SAME_WORK = """
import sys, warnings
from pathlib import Path
from metafuse.pipeline.plan import make_plan
from metafuse.pipeline.outputs import run_plan
from metafuse.pipeline.figures import forest_options
from metafuse.plots import forest_plot, funnel_plot, save_plot
out = Path(sys.argv[2])
plan = make_plan(Path(sys.argv[1]))
for a in run_plan(plan):
    if a.result is None:
        continue
    recs = plan.records_of(a.spec)
    p = forest_plot(a.result, title=a.spec.title, subgroups=a.subgroups, **forest_options(a, recs))
    save_plot(p, [out / f"{a.spec.name}_forest.png", out / f"{a.spec.name}_forest.svg"])
    if a.result.k >= 10:
        save_plot(funnel_plot(a.result), out / f"{a.spec.name}_funnel.png")
"""

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
out <- args[2]
gosh_too <- args[3] == "yes"
for (name in unique(d$analysis)) {
  x <- d[d$analysis == name, ]
  k <- nrow(x)
  method <- if (k == 1) "FE" else x$method[1]
  fit <- rma(yi, vi, data = x, method = method, test = if (x$hksj[1]) "knha" else "z",
             slab = x$study)
  writeLines(capture.output(print(fit)), file.path(out, paste0(name, "_summary.txt")))
  if (k >= 3) write.csv(as.data.frame(leave1out(fit)), file.path(out, paste0(name, "_loo.csv")))
  tr <- if (x$ratio[1]) exp else NULL
  h <- 2.5 + 0.22 * k
  png(file.path(out, paste0(name, "_forest.png")), width = 9, height = h, units = "in", res = 300)
  forest(fit, transf = tr, header = TRUE)
  invisible(dev.off())
  svg(file.path(out, paste0(name, "_forest.svg")), width = 9, height = h)
  forest(fit, transf = tr, header = TRUE)
  invisible(dev.off())
  if (k >= 10) {
    png(file.path(out, paste0(name, "_funnel.png")), width = 5, height = 4.2, units = "in",
        res = 300)
    funnel(fit)
    invisible(dev.off())
  }
  if (gosh_too && k >= 5) {
    g <- gosh(fit)
    png(file.path(out, paste0(name, "_gosh.png")), width = 5.5, height = 4.6, units = "in",
        res = 300)
    plot(g)
    invisible(dev.off())
  }
}
"""


def child_cpu(command: list[str], cwd: Path) -> float:
    """User + system CPU seconds of one child process (and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, timeout=1800)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def export_effects(spec_dir: Path, target: Path) -> tuple[int, int]:
    """The effect sizes of every analysis with data, as R reads them; (analyses, studies)."""
    from metafuse.pipeline.outputs import run_plan
    from metafuse.pipeline.plan import make_plan

    rows = []
    for a in run_plan(make_plan(spec_dir)):
        r = a.result
        if r is None or r.effects is None:
            continue
        e = r.effects
        for label, y, v, ok in zip(e.labels, e.yi, e.vi, e.estimable, strict=True):
            if ok:
                method = "FE" if r.method in ("MH", "PETO") else r.method
                rows.append(
                    {
                        "analysis": a.spec.name,
                        "study": label,
                        "yi": y,
                        "vi": v,
                        "method": method,
                        "hksj": "TRUE" if r.hksj else "FALSE",
                        "ratio": "TRUE" if r.is_ratio else "FALSE",
                    }
                )
    frame = pd.DataFrame(rows)
    frame.to_csv(target, index=False)
    return frame["analysis"].nunique(), len(frame)


def r_versions() -> dict[str, str]:
    script = 'cat(R.version.string, "\\n", as.character(packageVersion("metafor")), sep = "")'
    proc = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    r, metafor = proc.stdout.strip().split("\n")
    return {"R": r, "metafor": metafor}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--r-gosh", action="store_true", help="add metafor's gosh (k >= 5) to R")
    parser.add_argument("--specs", type=Path, default=ROOT / "analyses")
    args = parser.parse_args()
    # the package's bytecode written first, as `make install` does (see the Makefile)
    compileall.compile_dir(ROOT / "metafuse", quiet=1)
    python = sys.executable
    metafuse = str(Path(python).with_name("metafuse"))
    report: dict[str, object] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    jobs = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build = [metafuse, "analysis", str(args.specs), "--out", str(work / "full"), "--no-cache"]
        (work / "same").mkdir()
        commands = {
            "full": [*build, "--jobs", "1"],
            "parallel": [*build, "--jobs", str(jobs)],
            "same": [python, "-c", SAME_WORK, str(args.specs), str(work / "same")],
        }
        n_analyses, n_studies = export_effects(args.specs, work / "effects.csv")
        if shutil.which("Rscript") is None:
            print("Rscript not found: the R side is skipped")
        else:
            (work / "r").mkdir()
            script = work / "analysis.R"
            script.write_text(R_SCRIPT, encoding="utf-8")
            gosh = "yes" if args.r_gosh else "no"
            commands["r"] = [
                "Rscript",
                str(script),
                str(work / "effects.csv"),
                str(work / "r"),
                gosh,
            ]
        # side by side: each round runs every command once, so a slower or faster spell of the
        # machine falls on metafuse and R alike; ratios are taken within a round
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                cpu[name].append(child_cpu(command, ROOT))
        full, parallel, same = (median(cpu[k]) for k in ("full", "parallel", "same"))
        report |= {
            "analyses_pooled": n_analyses,
            "studies": n_studies,
            "rounds": args.repeats,
            "metafuse_make_analysis_cpu_s": round(full, 3),
            f"metafuse_make_analysis_jobs_{jobs}_cpu_s": round(parallel, 3),
            "metafuse_fits_and_figures_cpu_s": round(same, 3),
        }
        print(f"metafuse analysis (every output):   {full:6.2f} s CPU ({parallel:.2f} s with "
              f"--jobs {jobs})")  # fmt: skip
        print(f"metafuse fits + forest/funnel only: {same:6.2f} s CPU")
        if "r" in cpu:
            r_cpu = median(cpu["r"])
            ratios = {
                key: [m / r for m, r in zip(cpu[name], cpu["r"], strict=True)]
                for key, name in (("every", "full"), ("same", "same"))
            }
            report |= {
                **r_versions(),
                "r_includes_gosh": args.r_gosh,
                "r_metafor_cpu_s": round(r_cpu, 3),
                "ratio_make_analysis_to_r": round(median(ratios["every"]), 3),
                "ratio_same_work_to_r": round(median(ratios["same"]), 3),
                "ratio_make_analysis_to_r_range": [round(min(ratios["every"]), 3),
                                                   round(max(ratios["every"]), 3)],
                "ratio_same_work_to_r_range": [round(min(ratios["same"]), 3),
                                               round(max(ratios["same"]), 3)],
            }  # fmt: skip
            print(f"R metafor fits + forest/funnel:     {r_cpu:6.2f} s CPU")
            print(
                f"metafuse/R CPU ratio, median of {args.repeats} rounds (range): "
                f"{median(ratios['every']):.2f} ({min(ratios['every']):.2f}-"
                f"{max(ratios['every']):.2f}) every output, {median(ratios['same']):.2f} "
                f"({min(ratios['same']):.2f}-{max(ratios['same']):.2f}) the same work"
            )
    REPORT.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
