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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from metafuse.bias import egger_test, rank_test
from metafuse.evidence import AnalysisData, analysis_data
from metafuse.exceptions import DataError, SpecError
from metafuse.io import locate, read_table, to_json, write_text_atomic
from metafuse.measures import normalise_measure, normalise_method
from metafuse.pooling import pool
from metafuse.results import PooledResult
from metafuse.sensitivity import leave_one_out
from metafuse.studies import COMPARISONS, OUTCOMES, WINDOW_LABELS, StudyRecords, load_studies

#: Arm labels of each comparison (experimental, control), as the forest plot columns show them.
ARM_LABELS = {
    "A": ("Decompression + fusion", "Decompression alone"),
    "B": ("Fusion", "Conservative care"),
}
#: Outcomes where a larger value is better (the forest plot's "Favours" sides swap).
HIGHER_IS_BETTER = frozenset({"odi_responder"})

SPEC_KEYS = {
    "exclude",
    "exclude_weak_sources",
    "exclude_high_risk_of_bias",
    "subgroup",
    "title",
    "data",
    "measure",
    "method",
    "hksj",
    "studies",
    "comparison",
    "outcome",
    "window",
    "grade",
}
GRADE_SPEC_KEYS = {
    "mid",
    "mid_source",
    "assumed_risk",
    "assumed_risk_source",
    "indirectness",
    "overrides",
    "comment",
}


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
    #: GRADE inputs: mid/mid_source, assumed_risk/assumed_risk_source, indirectness, overrides,
    #: comment (see analyses/README.md).
    grade: Mapping[str, Any] = field(default_factory=dict)
    #: Sensitivity analysis: studies left out, each with its reason; and the reasons for leaving
    #: out all weak-source or all high-risk-of-bias trials.
    exclude: tuple[tuple[str, str], ...] = ()
    exclude_weak_sources: str | None = None
    exclude_high_risk_of_bias: str | None = None
    #: trials.csv column whose values split the studies into subgroups.
    subgroup: str | None = None

    @property
    def is_secondary(self) -> bool:
        """True for sensitivity (studies left out) and subgroup analyses: reported as footnotes
        of the main summary-of-findings row, not as rows of their own."""
        return bool(
            self.exclude
            or self.exclude_weak_sources
            or self.exclude_high_risk_of_bias
            or self.subgroup
        )


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
    #: Studies the spec left out, with the reason.
    excluded: tuple[tuple[str, str], ...] = ()
    #: Study label -> subgroup, and the subgroup analysis, when the spec asks for subgroups.
    subgroups: dict[str, str] | None = None
    subgroup_test: dict[str, Any] | None = None


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
    common = {
        "name": path.stem,
        "path": path,
        "title": str(raw.get("title", path.stem)),
        "hksj": hksj,
    }
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
    for key, allowed in (
        ("comparison", COMPARISONS),
        ("outcome", OUTCOMES),
        ("window", WINDOW_LABELS),
    ):
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
        **common,
        method=method,
        studies=root / str(raw["studies"]),
        comparison=raw["comparison"],
        outcome=raw["outcome"],
        window=raw["window"],
        grade=_read_grade(raw.get("grade", {}), fail),
        exclude=_read_exclusions(raw.get("exclude", []), fail),
        exclude_weak_sources=_reason(raw, "exclude_weak_sources", fail),
        exclude_high_risk_of_bias=_reason(raw, "exclude_high_risk_of_bias", fail),
        subgroup=str(raw["subgroup"]) if "subgroup" in raw else None,
    )


def _reason(raw: Mapping[str, Any], key: str, fail) -> str | None:
    if key not in raw:
        return None
    if not isinstance(raw[key], str) or not raw[key].strip():
        raise fail(key, "give the reason for the exclusion as text")
    return raw[key]


def _read_exclusions(raw: Any, fail) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list):
        raise fail("exclude", 'must be a list of { study = "...", reason = "..." }')
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not str(item.get("study", "")).strip():
            raise fail(f"exclude[{i}]", "needs study = the study label")
        if not str(item.get("reason", "")).strip():
            raise fail(f"exclude[{i}]", "an exclusion must give its reason")
        out.append((str(item["study"]), str(item["reason"])))
    return tuple(out)


def _read_grade(raw: Any, fail) -> dict[str, Any]:
    """Check the [grade] table: judgements need a rating and a reason, numbers need a source."""
    from metafuse.findings import GRADE_KEYS
    from metafuse.grade import RATINGS

    if not isinstance(raw, dict):
        raise fail("grade", "must be a table")
    unknown = sorted(set(raw) - GRADE_SPEC_KEYS)
    if unknown:
        raise fail(f"grade.{unknown[0]}", "unknown key")
    for number, source in (("mid", "mid_source"), ("assumed_risk", "assumed_risk_source")):
        if number in raw:
            if not isinstance(raw[number], int | float) or raw[number] <= 0:
                raise fail(f"grade.{number}", "must be a positive number")
            if not str(raw.get(source, "")).strip():
                raise fail(f"grade.{source}", f"{number} needs its source")
    if "assumed_risk" in raw and not raw["assumed_risk"] < 1:
        raise fail("grade.assumed_risk", "must be a proportion below 1")

    def judgement(key: str, value: Any) -> None:
        if not isinstance(value, dict) or value.get("rating") not in RATINGS:
            raise fail(key, f"needs rating = one of {', '.join(RATINGS)}")
        if not str(value.get("reason", "")).strip():
            raise fail(key, "a judgement must give its reason")

    if "indirectness" in raw:
        judgement("grade.indirectness", raw["indirectness"])
    for domain, value in raw.get("overrides", {}).items():
        if domain not in GRADE_KEYS:
            raise fail(f"grade.overrides.{domain}", f"unknown domain; use {', '.join(GRADE_KEYS)}")
        judgement(f"grade.overrides.{domain}", value)
    return dict(raw)


def run_spec(spec: AnalysisSpec, records: StudyRecords | None = None) -> AnalysisOutcome:
    """Pool the data of one spec (``records``: the already loaded studies folder, if any)."""
    if spec.data is not None:
        frame = read_table(spec.data)
        try:
            result = pool(frame, spec.measure or "GEN", spec.method, spec.hksj)
        except DataError as err:
            raise locate(err, frame) from None
        return AnalysisOutcome(spec, result)
    if records is None:
        records = load_studies(spec.studies or "studies")
    data = analysis_data(records, str(spec.comparison), str(spec.outcome), str(spec.window))
    data, excluded = _apply_exclusions(spec, data, records)
    if data.frame.empty:
        return AnalysisOutcome(spec, None, data, excluded=excluded)
    result = pool(data.frame, data.measure, spec.method, spec.hksj)
    groups = test = None
    if spec.subgroup is not None:
        groups, test = _subgroups(spec, data, records)
    loo = small = None
    if result.k >= 3:
        loo = leave_one_out(data.frame, data.measure, spec.method, spec.hksj)
    if result.k >= SMALL_STUDY_MIN_K:
        small = {
            "egger": egger_test(data.frame, data.measure),
            "rank": rank_test(data.frame, data.measure),
        }
    return AnalysisOutcome(spec, result, data, loo, small, excluded, groups, test)


def _report_of(data: AnalysisData, records, label: str) -> str:
    o = records.outcomes
    return str(o.loc[o["record_id"] == data.records[label], "report_id"].iloc[0])


def _apply_exclusions(spec: AnalysisSpec, data: AnalysisData, records):
    """Leave out the studies the spec names, or all weak-source / high-risk trials; every
    exclusion keeps its reason. An excluded label that is not in the analysis is an error."""
    import dataclasses

    drop: dict[str, str] = {}
    labels = list(data.frame["study"]) if not data.frame.empty else []
    for study, reason in spec.exclude:
        if study not in labels:
            raise SpecError(
                f"{spec.path}: exclude: study {study!r} is not in this analysis "
                f"(its studies: {', '.join(labels) or 'none'})"
            )
        drop[study] = reason
    if spec.exclude_weak_sources:
        for label in data.weak:
            drop.setdefault(label, spec.exclude_weak_sources)
    if spec.exclude_high_risk_of_bias:
        rob = records.risk_of_bias
        for label in labels:
            report = _report_of(data, records, label)
            high = rob[
                (rob["report_id"] == report)
                & (rob["domain"] == "overall")
                & (rob["judgement"] == "high")
            ]
            if not high.empty:
                drop.setdefault(label, spec.exclude_high_risk_of_bias)
    if not drop:
        return data, ()
    keep = ~data.frame["study"].isin(list(drop))
    data = dataclasses.replace(
        data,
        frame=data.frame[keep].reset_index(drop=True),
        weak=tuple(w for w in data.weak if w not in drop),
        derived=tuple(d for d in data.derived if d not in drop),
        records={k: v for k, v in data.records.items() if k not in drop},
    )
    return data, tuple(drop.items())


def _subgroups(spec: AnalysisSpec, data: AnalysisData, records):
    from metafuse.regression import subgroup

    trials = records.trials.set_index("report_id")
    if spec.subgroup not in trials.columns:
        raise SpecError(f"{spec.path}: subgroup: {spec.subgroup!r} is not a column of trials.csv")
    groups = {
        label: str(trials.at[_report_of(data, records, label), spec.subgroup])
        for label in data.frame["study"]
    }
    if len(set(groups.values())) < 2:
        return groups, None
    frame = data.frame.assign(_subgroup=[groups[s] for s in data.frame["study"]])
    return groups, subgroup(frame, data.measure, spec.method, "_subgroup")


def summary_text(outcome: AnalysisOutcome) -> str:
    """The human-readable summary of one analysis."""
    spec, data = outcome.spec, outcome.data
    lines = [spec.title, ""]
    if data is not None:
        lines.append(f"Comparison {data.comparison}: {COMPARISONS[data.comparison]}")
        lines.append(f"Outcome: {OUTCOMES[data.outcome]}; {WINDOW_LABELS[data.window]}")
        if data.measure == "GEN":
            scale = "log risk ratio" if data.ratio else "mean difference"
            lines.append(
                f"Generic inverse variance on the {scale} scale (arm-level and "
                "contrast-only trials together)"
            )
        lines.append("")
    lines.append(str(outcome.result) if outcome.result is not None else "No trial has usable data.")
    if data is not None:
        for label, reason in data.incomplete:
            lines.append(f"Not pooled: {label}: {reason}")
        if data.weak:
            lines.append("Weak sources: " + ", ".join(data.weak))
        if data.derived:
            lines.append("Derived numbers (see studies/outcomes.csv): " + ", ".join(data.derived))
        for label, reason in outcome.excluded:
            lines.append(f"Excluded by this sensitivity analysis: {label}: {reason}")
        if outcome.subgroup_test is not None:
            t = outcome.subgroup_test
            lines.append(
                f"Test for subgroup differences ({outcome.spec.subgroup}): Chi² = "
                f"{t['Q_between']:.2f}, df = {t['Q_between_df']}, "
                f"p = {t['Q_between_pval']:.4f}"
            )
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
            lines.append(
                f"Egger's test: t = {eg['statistic']:.3f}, df = {eg['df']}, "
                f"p = {eg['pval']:.4f}; rank test: tau = {rk['tau']:.3f}, "
                f"p = {rk['pval']:.4f}"
            )
        else:
            lines.append(
                f"Small-study effects: not assessable with k = {k} "
                f"(tests need at least {SMALL_STUDY_MIN_K} studies)."
            )
    return "\n".join(lines) + "\n"


def run_all(spec_dir: Path, out_dir: Path) -> list[Path]:
    """Run every ``*.toml`` spec in ``spec_dir`` (sorted by name); return the files written.

    All specs are checked and fitted before anything is written, so an error leaves
    ``out_dir`` as it was. Besides the per-analysis files, writes the summary-of-findings table
    and GRADE evidence profile of each comparison (``sof_<A|B>`` and ``evidence_profile_<A|B>``
    as .md, .csv, .html and .docx) and ``manifest.json`` (versions and SHA-256 of every input and
    output).
    """
    root = spec_dir.resolve().parent
    specs = [read_spec(p, root) for p in sorted(spec_dir.glob("*.toml"))]
    # each studies folder is read and validated once, then shared by its specs and SoF tables
    records = {s.studies: load_studies(s.studies) for s in specs if s.studies is not None}
    fitted = [run_spec(spec, records.get(spec.studies)) for spec in specs]
    tables = _sof_tables(fitted, records)
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
    written += _write_tables(tables, out_dir)
    written.append(write_manifest(root, specs, out_dir, written))
    return written


def _sof_tables(fitted: list[AnalysisOutcome], records: dict[Path | None, StudyRecords]):
    from metafuse.findings import sof_table

    by_dir: dict[Path, list[AnalysisOutcome]] = {}
    for o in fitted:
        if o.spec.studies is not None:
            by_dir.setdefault(o.spec.studies, []).append(o)
    tables = []
    for folder, outcomes in by_dir.items():
        for comparison in COMPARISONS:
            tables.append((comparison, sof_table(comparison, outcomes, records[folder])))
    return tables


def _write_tables(tables, out_dir: Path) -> list[Path]:
    from metafuse.io import write_bytes_atomic
    from metafuse.sof import render_table

    written = []
    for comparison, table in tables:
        for kind, stem in (("sof", "sof"), ("profile", "evidence_profile")):
            for fmt in ("md", "csv", "html", "docx"):
                path = out_dir / f"{stem}_{comparison}.{fmt}"
                write_bytes_atomic(path, render_table(table, kind, fmt))
                written.append(path)
    return written


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(root: Path, specs: list[AnalysisSpec], out_dir: Path, outputs: list[Path]) -> dict:
    """Versions, and SHA-256 of every input (specs, study files, data files) and output."""
    from importlib import metadata

    from metafuse._version import __version__

    inputs: set[Path] = set()
    for spec in specs:
        inputs.add(spec.path)
        if spec.data is not None:
            inputs.add(spec.data)
        if spec.studies is not None:
            inputs.update(spec.studies.glob("*.csv"))
    deps = {}
    for name in (
        "numpy",
        "scipy",
        "pandas",
        "statsmodels",
        "plotnine",
        "matplotlib",
        "click",
        "pandera",
        "python-docx",
    ):
        try:
            deps[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            deps[name] = "not installed"

    def rel(path: Path, base: Path) -> str:
        return path.resolve().relative_to(base.resolve()).as_posix()

    return {
        "metafuse_version": __version__,
        "dependencies": deps,
        "inputs": {rel(p, root): _sha256(p) for p in sorted(inputs)},
        "outputs": {rel(p, out_dir): _sha256(p) for p in sorted(outputs)},
    }


def write_manifest(
    root: Path, specs: list[AnalysisSpec], out_dir: Path, outputs: list[Path]
) -> Path:
    """Write ``out_dir/manifest.json`` (sorted keys, no timestamps)."""
    path = out_dir / "manifest.json"
    write_text_atomic(path, to_json(manifest(root, specs, out_dir, outputs)))
    return path


def verify(spec_dir: Path, results_dir: Path) -> list[str]:
    """Recompute every analysis in a temporary folder and compare with ``results/manifest.json``.

    Returns the differences (empty when the results reproduce): files altered or missing in
    ``results_dir``, inputs changed since the manifest was written, and outputs whose recomputed
    bytes differ. Nothing in ``spec_dir``, the studies or ``results_dir`` is modified.
    """
    import json
    import tempfile

    manifest_path = results_dir / "manifest.json"
    try:
        recorded = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [f"{manifest_path}: cannot read manifest ({err})"]
    problems = []
    for name, digest in sorted(recorded.get("outputs", {}).items()):
        path = results_dir / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif _sha256(path) != digest:
            problems.append(f"{path}: altered (SHA-256 differs from the manifest)")
    root = spec_dir.resolve().parent
    for name, digest in sorted(recorded.get("inputs", {}).items()):
        path = root / name
        if not path.is_file():
            problems.append(f"{path}: input missing")
        elif _sha256(path) != digest:
            problems.append(f"{path}: input changed since the results were built")
    with tempfile.TemporaryDirectory() as tmp:
        run_all(spec_dir, Path(tmp))
        fresh = json.loads((Path(tmp) / "manifest.json").read_text(encoding="utf-8"))
    for name in sorted(set(recorded.get("outputs", {})) | set(fresh["outputs"])):
        a, b = recorded.get("outputs", {}).get(name), fresh["outputs"].get(name)
        if a != b:
            what = (
                "not produced any more"
                if b is None
                else "new output"
                if a is None
                else ("recomputed bytes differ")
            )
            problems.append(f"{results_dir / name}: {what}")
    return problems


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
        labels |= {
            "ratio": data.ratio,
            "measure_label": "Risk Ratio" if data.ratio else "Mean Difference",
        }
    forest = forest_plot(outcome.result, title=spec.title, subgroups=outcome.subgroups, **labels)
    paths = [save_plot(forest, folder / "forest.png"), save_plot(forest, folder / "forest.svg")]
    paths.append(save_plot(funnel_plot(outcome.result, title=spec.title), folder / "funnel.png"))
    return paths
