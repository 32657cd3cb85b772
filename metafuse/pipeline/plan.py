"""The plan of a build: which analyses exist.

Every comparison x outcome x window of a studies folder that has usable data gets an analysis by
itself, named ``<comparison>_<outcome>_<window>`` (randomised trials) or
``<comparison>_<outcome>_<window>_observational`` (observational studies, never pooled with the
trials); a longest-follow-up analysis that would pool the same records as a bounded window is not
repeated. Specs in ``analyses/`` add analyses (sensitivity and subgroup analyses, CSV files) or
override an automatic one: a primary spec for the same comparison, outcome, window and evidence
group replaces it (its method, GRADE judgements, title). Every primary analysis that uses an SD
borrowed from another trial is repeated without those trials, as
``<name>_without_borrowed_sd``, and every primary analysis with a pooled record that has an
alternative (a ``primary = no`` record of the same report, outcome and time point: final values
beside an adjusted estimate, attenders beside intention to treat) is repeated with the
alternatives, as ``<name>_alternative_records``; both are sensitivity analyses reported as
footnotes of their SoF row. Each records folder is read and validated once.

A project is a folder (the root) holding ``analyses/`` (the specs; optional) and one or more
records folders, each a sub-folder with its ``review.toml``; an automatic analysis pools with its
outcome's declared measure and method (``review.toml``). The pages a review writes (its harms
profile, one page per published review) must not share a name with an analysis.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metafuse.exceptions import SpecError
from metafuse.pipeline.project import review_folders
from metafuse.pipeline.spec import AnalysisSpec, read_spec
from metafuse.review.published import page_name
from metafuse.review.records import StudyRecords, load_studies
from metafuse.review.selection import EVIDENCE, Selection, alternative_selection, select
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

    def records_of(self, spec: AnalysisSpec) -> StudyRecords | None:
        """Return the records folder a spec draws on (None for a spec with a CSV file)."""
        return self.records.get(spec.studies) if spec.studies is not None else None

    @property
    def title(self) -> str:
        """The review's title when the build has one records folder, else ''."""
        if len(self.records) != 1:
            return ""
        return next(iter(self.records.values())).review.title


def automatic_title(selection: Selection) -> str:
    """'B: Drug vs Placebo. Mortality, about 2 years (12-30 months)'."""
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
                        method=outcome.method,
                        hksj=False,
                        studies=root / folder,
                        comparison=comparison,
                        outcome=outcome.key,
                        window=window.key,
                        evidence=evidence,
                    )
                    out.append((spec, selection))
    return out


def _automatic_sensitivity(
    spec: AnalysisSpec, suffix: str, words: str, **keys: Any
) -> AnalysisSpec:
    """Return ``spec`` as an automatic sensitivity analysis of it.

    Its own name and title, none of the primary analysis's exclusions or subgroups, ``keys`` set.
    """
    return dataclasses.replace(
        spec,
        name=f"{spec.name}_{suffix}",
        title=f"{spec.title} (sensitivity: {words})",
        exclude=(),
        exclude_weak_sources=None,
        exclude_high_risk_of_bias=None,
        subgroup=None,
        **keys,
    )


def without_borrowed_sd(spec: AnalysisSpec) -> AnalysisSpec:
    """Return the automatic sensitivity analysis of a primary analysis without its borrowed SDs."""
    return _automatic_sensitivity(
        spec, "without_borrowed_sd", "without borrowed SDs", exclude_borrowed_sd=BORROWED_SD_REASON
    )


def with_alternative_records(spec: AnalysisSpec, changed: tuple[str, ...]) -> AnalysisSpec:
    """Return the automatic sensitivity analysis with each pooled record's alternative.

    ``changed`` says which records change, in words.
    """
    return _automatic_sensitivity(
        spec,
        "alternative_records",
        "alternative records",
        exclude_borrowed_sd=None,
        primary="frequentist",
        alternative_records="; ".join(changed),
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


def review_pages(records: StudyRecords) -> list[str]:
    """Return the output names of the pages a review writes.

    The output names of the pages a review writes: its harms profile (with harms.csv) and one page
    per review named in published_estimates.csv.
    """
    pages = [records.review.harms_page] if records.harms is not None else []
    pub = records.published_estimates
    if pub is not None:
        pages += [page_name(str(r)) for r in dict.fromkeys(pub["review"])]
    return pages


def _check_page_names(records: dict[Path, StudyRecords], names: set[str]) -> None:
    """Return a review page may not take the name of an analysis or of another review's page."""
    taken: dict[str, Path] = {}
    for folder, recs in records.items():
        for page in review_pages(recs):
            if page in names:
                raise SpecError(
                    f"{recs.review.path}: page {page!r} of this review is also the name of an "
                    "analysis; rename the page ([harms] page) or the analysis"
                )
            if page in taken:
                raise SpecError(
                    f"{recs.review.path}: page {page!r} is also a page of {taken[page]}"
                )
            taken[page] = folder


def make_plan(spec_dir: Path, studies: Path | None = None) -> Plan:
    """Read every spec in ``spec_dir`` (sorted by name.

    Read every spec in ``spec_dir`` (sorted by name; the folder is optional) and plan the build.

    ``studies`` is a records folder to analyse even without specs (default: every sub-folder of the
    project root, the parent of ``spec_dir``, that holds a ``review.toml``).
    """
    root = spec_dir.resolve().parent
    if spec_dir.exists() and not spec_dir.is_dir():
        raise SpecError(f"{spec_dir}: not a folder of analysis specs")
    files = tuple(sorted(spec_dir.glob("*.toml"))) if spec_dir.is_dir() else ()
    specs = [read_spec(p, root) for p in files]
    folders = {s.studies for s in specs if s.studies is not None}
    if studies is not None:
        if not (studies / FILE_NAME).is_file():
            raise SpecError(
                f"{studies / FILE_NAME}: missing: a records folder needs its {FILE_NAME}"
            )
        folders.add(studies.resolve())
    else:
        folders.update(review_folders(root))
    if not specs and not folders:
        raise SpecError(
            f"{root}: nothing to analyse: no {spec_dir.name}/*.toml spec and no folder with a "
            f"{FILE_NAME} (start one with: metafuse init {root})"
        )
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
    for i, spec in enumerate(specs):
        if spec.studies is not None:
            selections[spec.name] = _select_for(spec, records[spec.studies])
            if not spec.method:
                specs[i] = dataclasses.replace(spec, method=selections[spec.name].outcome.method)
            specs[i].model(selections[spec.name].outcome.measure)  # checked with the outcome's
    for spec in [*planned, *specs]:
        if spec.is_secondary or spec.studies is None:
            continue
        if selections[spec.name].borrowed:
            sensitivity = without_borrowed_sd(spec)
            if sensitivity.name not in names:
                planned.append(sensitivity)
                selections[sensitivity.name] = selections[spec.name]
        found = alternative_selection(records[spec.studies], selections[spec.name])
        if found is not None and not found[0].frame.empty:  # an unpoolable alternative adds nothing
            sensitivity = with_alternative_records(spec, found[1])
            if sensitivity.name not in names:
                planned.append(sensitivity)
                selections[sensitivity.name] = found[0]
    ordered = sorted([*planned, *specs], key=lambda s: s.name)
    _check_page_names(records, {s.name for s in ordered})
    return Plan(
        root=root, specs=tuple(ordered), records=records, selections=selections, spec_files=files
    )
