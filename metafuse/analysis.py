"""Running analysis specs (``analyses/*.toml``) into ``results/``.

A spec either names a CSV file of study rows (``data`` + ``measure``) or selects from the curated
records (``studies`` + ``comparison`` + ``outcome`` + ``window``); paths are relative to the
repository root (the parent of the spec folder). Each analysis writes ``results/<name>/pooled.json``
(the :meth:`~metafuse.results.PooledResult.to_dict` contract), ``summary.txt``, ``forest.png``,
``forest.svg`` and ``funnel.png`` atomically, only after every spec has been read and fitted;
outputs are deterministic (sorted keys, no timestamps, pinned fonts).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from metafuse.bias import egger_test, rank_test
from metafuse.evidence import AnalysisData, analysis_data
from metafuse.exceptions import DataError, SpecError
from metafuse.io import locate, read_table, to_json, write_text_atomic
from metafuse.measures import normalise_measure, normalise_method
from metafuse.pooling import pool
from metafuse.results import PooledResult
from metafuse.sensitivity import leave_one_out
from metafuse.studies import COMPARISONS, OUTCOMES, WINDOW_LABELS, load_studies

#: Arm labels of each comparison (experimental, control), as the forest plot columns show them.
ARM_LABELS = {"A": ("Decompression + fusion", "Decompression alone"),
              "B": ("Fusion", "Conservative care")}  # fmt: skip
#: Outcomes where a larger value is better (the forest plot's "Favours" sides swap).
HIGHER_IS_BETTER = frozenset({"odi_responder"})

SPEC_KEYS = {"title", "data", "measure", "method", "hksj", "studies", "comparison", "outcome",
             "window"}  # fmt: skip


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: where its data are and how to pool them."""

    name: str
    path: Path
    title: str
    method: str
    hksj: bool
    data: Path | None = None
    measure: str | None = None
    studies: Path | None = None
    comparison: str | None = None
    outcome: str | None = None
    window: str | None = None


#: Small-study tests need at least this many studies (Cochrane Handbook 13.3.5.4; GRADE).
SMALL_STUDY_MIN_K = 10


@dataclass(frozen=True)
class AnalysisOutcome:
    """A fitted spec: the pooled result (None when no trial has usable data) and its data."""

    spec: AnalysisSpec
    result: PooledResult | None
    data: AnalysisData | None = None
    #: Leave-one-out table (k >= 3) and small-study tests (k >= 10), else None.
    leave_one_out: pd.DataFrame | None = None
    small_study: dict[str, dict[str, float]] | None = None


def read_spec(path: Path, root: Path) -> AnalysisSpec:
    """Parse and check one spec; errors name the file and key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"{path}: cannot read spec: {err}") from None

    def fail(key: str, message: str) -> SpecError:
        return SpecError(f"{path}: {key}: {message}")

    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise fail(unknown[0], "unknown key")
    if ("data" in raw) == ("studies" in raw):
        raise fail("data", "give either data (a CSV file) or studies (the curated records)")
    hksj = raw.get("hksj", False)
    if not isinstance(hksj, bool):
        raise fail("hksj", "must be true or false")
    common = {"name": path.stem, "path": path, "title": str(raw.get("title", path.stem)),
              "hksj": hksj}  # fmt: skip
    if "data" in raw:
        if "measure" not in raw:
            raise fail("measure", "missing required key")
        try:
            measure = normalise_measure(raw["measure"])
        except ValueError as err:
            raise fail("measure", str(err)) from None
        try:
            method = normalise_method(raw.get("method", "REML"), measure)
        except ValueError as err:
            raise fail("method", str(err)) from None
        return AnalysisSpec(**common, method=method, data=root / str(raw["data"]), measure=measure)
    for key, allowed in (("comparison", COMPARISONS), ("outcome", OUTCOMES),
                         ("window", WINDOW_LABELS)):  # fmt: skip
        if key not in raw:
            raise fail(key, "missing required key")
        if raw[key] not in allowed:
            raise fail(key, f"{raw[key]!r} is not one of {', '.join(allowed)}")
    method = str(raw.get("method", "REML")).upper()
    try:
        normalise_method(method, "GEN")
    except ValueError as err:
        raise fail("method", str(err)) from None
    if "measure" in raw:
        raise fail("measure", "is chosen from the records (RR or MD); do not set it")
    return AnalysisSpec(
        **common, method=method, studies=root / str(raw["studies"]),
        comparison=raw["comparison"], outcome=raw["outcome"], window=raw["window"],
    )  # fmt: skip


def run_spec(spec: AnalysisSpec) -> AnalysisOutcome:
    """Pool the data of one spec."""
    if spec.data is not None:
        frame = read_table(spec.data)
        try:
            result = pool(frame, spec.measure or "GEN", spec.method, spec.hksj)
        except DataError as err:
            raise locate(err, frame) from None
        return AnalysisOutcome(spec, result)
    records = load_studies(spec.studies or "studies")
    data = analysis_data(records, str(spec.comparison), str(spec.outcome), str(spec.window))
    if data.frame.empty:
        return AnalysisOutcome(spec, None, data)
    result = pool(data.frame, data.measure, spec.method, spec.hksj)
    loo = small = None
    if result.k >= 3:
        loo = leave_one_out(data.frame, data.measure, spec.method, spec.hksj)
    if result.k >= SMALL_STUDY_MIN_K:
        small = {"egger": egger_test(data.frame, data.measure),
                 "rank": rank_test(data.frame, data.measure)}  # fmt: skip
    return AnalysisOutcome(spec, result, data, loo, small)


def summary_text(outcome: AnalysisOutcome) -> str:
    """The human-readable summary of one analysis."""
    spec, data = outcome.spec, outcome.data
    lines = [spec.title, ""]
    if data is not None:
        lines.append(f"Comparison {data.comparison}: {COMPARISONS[data.comparison]}")
        lines.append(f"Outcome: {OUTCOMES[data.outcome]}; {WINDOW_LABELS[data.window]}")
        if data.measure == "GEN":
            scale = "log risk ratio" if data.ratio else "mean difference"
            lines.append(f"Generic inverse variance on the {scale} scale (arm-level and "
                         "contrast-only trials together)")  # fmt: skip
        lines.append("")
    lines.append(str(outcome.result) if outcome.result is not None else "No trial has usable data.")
    if data is not None:
        for label, reason in data.incomplete:
            lines.append(f"Not pooled: {label}: {reason}")
        if data.weak:
            lines.append("Weak sources: " + ", ".join(data.weak))
        if data.derived:
            lines.append("Derived numbers (see studies/outcomes.csv): " + ", ".join(data.derived))
    if outcome.result is not None and data is not None:
        k = outcome.result.k
        lines.append("")
        if outcome.leave_one_out is not None:
            lines.append("Leave-one-out (analysis scale):")
            lines.append(outcome.leave_one_out.to_string(index=False, float_format="{:.4f}".format))
        else:
            lines.append(f"Leave-one-out: not informative with k = {k} (needs at least 3 studies).")
        if outcome.small_study is not None:
            eg, rk = outcome.small_study["egger"], outcome.small_study["rank"]
            lines.append(f"Egger's test: t = {eg['statistic']:.3f}, df = {eg['df']}, "
                         f"p = {eg['pval']:.4f}; rank test: tau = {rk['tau']:.3f}, "
                         f"p = {rk['pval']:.4f}")  # fmt: skip
        else:
            lines.append(f"Small-study effects: not assessable with k = {k} "
                         f"(tests need at least {SMALL_STUDY_MIN_K} studies).")  # fmt: skip
    return "\n".join(lines) + "\n"


def run_all(spec_dir: Path, out_dir: Path) -> list[Path]:
    """Run every ``*.toml`` spec in ``spec_dir`` (sorted by name); return the files written.

    All specs are checked and fitted before anything is written, so an error leaves
    ``out_dir`` as it was.
    """
    root = spec_dir.resolve().parent
    specs = [read_spec(p, root) for p in sorted(spec_dir.glob("*.toml"))]
    fitted = [run_spec(spec) for spec in specs]
    written = []
    for outcome in fitted:
        folder = out_dir / outcome.spec.name
        pooled = folder / "pooled.json"
        summary = folder / "summary.txt"
        payload = outcome.result.to_dict() if outcome.result is not None else {"k": 0}
        write_text_atomic(pooled, to_json(payload))
        write_text_atomic(summary, summary_text(outcome))
        written += [pooled, summary]
        if outcome.leave_one_out is not None:
            loo = folder / "leave_one_out.csv"
            write_text_atomic(loo, outcome.leave_one_out.to_csv(index=False, lineterminator="\n"))
            written.append(loo)
        if outcome.result is not None:
            written += _plots(outcome, folder)
    return written


def _plots(outcome: AnalysisOutcome, folder: Path) -> list[Path]:
    from metafuse.plots import forest_plot, funnel_plot, save_plot

    spec, data = outcome.spec, outcome.data
    labels: dict[str, str] = {}
    if data is not None:
        exp, ctrl = ARM_LABELS[data.comparison]
        labels = {"label_exp": exp, "label_ctrl": ctrl}
        if data.outcome in HIGHER_IS_BETTER:
            labels |= {"favours_exp": f"Favours [{ctrl}]", "favours_ctrl": f"Favours [{exp}]"}
    assert outcome.result is not None
    if data is not None and data.measure == "GEN":
        labels |= {"ratio": data.ratio, "measure_label": "Risk Ratio" if data.ratio
                   else "Mean Difference"}  # fmt: skip
    forest = forest_plot(outcome.result, title=spec.title, **labels)
    paths = [save_plot(forest, folder / "forest.png"), save_plot(forest, folder / "forest.svg")]
    paths.append(save_plot(funnel_plot(outcome.result, title=spec.title), folder / "funnel.png"))
    return paths
