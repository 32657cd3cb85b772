"""The plan of a build: which analyses exist.

Every comparison x outcome x window of a studies folder that has usable data gets an analysis by
itself, named ``<comparison>_<outcome>_<window>`` (randomised trials) or
``<comparison>_<outcome>_<window>_observational`` (observational studies, never pooled with the
trials); a longest-follow-up analysis that would pool the same records as a bounded window is not
repeated. Specs in ``analyses/`` add analyses (sensitivity and subgroup analyses, CSV files) or
override an automatic one: a primary spec for the same comparison, outcome, window and evidence
group replaces it (its method, GRADE judgements, title). Every primary analysis that uses an SD
borrowed from another trial is repeated without those trials, as
``<name>_without_borrowed_sd``, a sensitivity analysis reported as a footnote of its SoF row.
Each studies folder is read and validated once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from metafuse.exceptions import SpecError
from metafuse.pipeline.spec import AnalysisSpec, read_spec
from metafuse.review.records import StudyRecords, load_studies
from metafuse.review.selection import EVIDENCE, Selection, select
from metafuse.review.vocabulary import FILE_NAME


@dataclass(frozen=True)
class Plan:
    """The analyses of a build, the records they draw on and, for records specs, the selection."""

    root: Path
    specs: tuple[AnalysisSpec, ...]
    records: dict[Path, StudyRecords]
    selections: dict[str, Selection]
    #: The spec files read (inputs of the manifest).
    spec_files: tuple[Path, ...]


def automatic_title(selection: Selection) -> str:
    """'B: Fusion vs Conservative care. Oswestry Disability Index, about 2 years (12-30 months)'."""
    c = selection.comparison
    studies = "" if selection.evidence == "randomised" else f" ({selection.evidence} studies)"
    return (
        f"{c.key}: {c.experimental} vs {c.control}. {selection.outcome.label}, "
        f"{selection.window.label}{studies}"
    )


#: The reason given for leaving out borrowed SDs in the automatic sensitivity analyses.
BORROWED_SD_REASON = "SD borrowed from another trial on the same scale (approximate)"


def _automatic(records: StudyRecords, root: Path) -> list[tuple[AnalysisSpec, Selection]]:
    out = []
    review = records.review
    try:
        folder = records.directory.resolve().relative_to(root.resolve())
    except ValueError:
        folder = records.directory
    for comparison in review.comparisons:
        for outcome in review.outcomes.values():
            if not outcome.applies_to(comparison):
                continue
            for evidence in EVIDENCE:
                seen: list[frozenset[str]] = []
                for window in review.windows.values():
                    selection = select(records, comparison, outcome.key, window.key, evidence)
                    used = frozenset(selection.records.values())
                    if not used or used in seen:
                        continue
                    seen.append(used)
                    suffix = "" if evidence == "randomised" else f"_{evidence}"
                    spec = AnalysisSpec(
                        name=f"{comparison}_{outcome.key}_{window.key}{suffix}",
                        path=None,
                        title=automatic_title(selection),
                        method="REML",
                        hksj=False,
                        studies=root / folder,
                        comparison=comparison,
                        outcome=outcome.key,
                        window=window.key,
                        evidence=evidence,
                    )
                    out.append((spec, selection))
    return out


def without_borrowed_sd(spec: AnalysisSpec) -> AnalysisSpec:
    """The automatic sensitivity analysis of a primary analysis without its borrowed SDs."""
    return dataclasses.replace(
        spec,
        name=f"{spec.name}_without_borrowed_sd",
        title=f"{spec.title} (sensitivity: without borrowed SDs)",
        exclude=(),
        exclude_weak_sources=None,
        exclude_high_risk_of_bias=None,
        subgroup=None,
        exclude_borrowed_sd=BORROWED_SD_REASON,
    )


def _select_for(spec: AnalysisSpec, records: StudyRecords) -> Selection:
    review = records.review
    for key, value, known in (
        ("comparison", spec.comparison, review.comparisons),
        ("outcome", spec.outcome, review.outcomes),
        ("window", spec.window, review.windows),
    ):
        if value not in known:
            raise SpecError(
                f"{spec.path}: {key}: {value!r} is not one of {', '.join(known)} ({review.path})"
            )
    outcome = review.outcomes[str(spec.outcome)]
    if not outcome.applies_to(str(spec.comparison)):
        raise SpecError(
            f"{spec.path}: outcome: {spec.outcome!r} is not an outcome of comparison "
            f"{spec.comparison} ({review.path})"
        )
    return select(records, str(spec.comparison), str(spec.outcome), str(spec.window), spec.evidence)


def make_plan(spec_dir: Path, studies: Path | None = None) -> Plan:
    """Read every spec in ``spec_dir`` (sorted by name) and plan the build.

    ``studies`` is a studies folder to analyse even without specs (default: ``<root>/studies``
    when it holds a ``review.toml``).
    """
    root = spec_dir.resolve().parent
    files = tuple(sorted(spec_dir.glob("*.toml")))
    specs = [read_spec(p, root) for p in files]
    folders = {s.studies for s in specs if s.studies is not None}
    default = studies if studies is not None else root / "studies"
    if (default / FILE_NAME).exists():  # a review.toml that is no file is an error, not skipped
        folders.add(default)
    records = {folder: load_studies(folder) for folder in sorted(folders)}
    explicit = {
        (s.selection_key, s.evidence) for s in specs if s.studies is not None and not s.is_secondary
    }
    names = {s.name for s in specs}
    selections: dict[str, Selection] = {}
    planned: list[AnalysisSpec] = []
    for _folder, recs in records.items():
        for spec, selection in _automatic(recs, root):
            if (spec.selection_key, spec.evidence) in explicit or spec.name in names:
                continue
            planned.append(spec)
            selections[spec.name] = selection
    for spec in specs:
        if spec.studies is not None:
            selections[spec.name] = _select_for(spec, records[spec.studies])
    for spec in [*planned, *specs]:
        if spec.is_secondary or spec.studies is None or not selections[spec.name].borrowed:
            continue
        sensitivity = without_borrowed_sd(spec)
        if sensitivity.name not in names:
            planned.append(sensitivity)
            selections[sensitivity.name] = selections[spec.name]
    ordered = sorted([*planned, *specs], key=lambda s: s.name)
    return Plan(
        root=root, specs=tuple(ordered), records=records, selections=selections, spec_files=files
    )
