"""Each published meta-analysis of ``published_estimates.csv``.

Each published meta-analysis of ``published_estimates.csv`` (its ``review`` column) beside our own
analyses, comparison by comparison and outcome by outcome: their figures, ours (the fitted analyses
of this build), the trials on each side, and every difference with its reason.

Like is set beside like: where their measure is not our protocol's (their OR, our RR) and our
analysis pools arm-level 2x2 tables or means, ours is re-pooled in their measure from the same arm
data and shown beside theirs; where it cannot be (contrast records, another outcome type) the
difference of measures is named. The reasons come from the data: the trial x outcome x window cells
we lack (:func:`metafuse.review.gaps.gap_cells`), the designs each side admits, the follow-up each
side uses, events that they pool together and our records keep apart (their row's caveat says
'unlike events'; our arm records say which event each arm counts), and what their source leaves
unprinted. Their estimates are never pooled with ours: their trials are unknown and may overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from metafuse.measures import TABLE_METHODS, normalise_method
from metafuse.pipeline.replication_reasons import (
    Difference,
    Ours,
    clause,
    differences,
    number_text,
    result_text,
    their_measure,
)
from metafuse.pipeline.run import Analysis
from metafuse.pooling import pool
from metafuse.review.gaps import GapCell, gap_cells
from metafuse.review.published import page_name
from metafuse.review.records import StudyRecords
from metafuse.review.vocabulary import MEASURE_NAMES, OUTCOME_MEASURES


@dataclass(frozen=True)
class OutcomeComparison:
    """Their published row for one outcome, our analyses of it, and the differences."""

    outcome: str
    label: str
    theirs: pd.Series
    ours: tuple[Ours, ...]
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class ComparisonSection:
    """Their rows for one of our comparisons, with our trials of that comparison."""

    comparison: str
    comparison_label: str
    #: 'experimental / control' arm names of the comparison (review.toml).
    arms: str
    our_trials: tuple[tuple[str, ...], ...]
    outcomes: tuple[OutcomeComparison, ...]


@dataclass(frozen=True)
class PublishedReview:
    """Everything the page of one published review shows."""

    review: str
    page: str
    citation: str
    quotes: tuple[str, ...]
    their_studies: str
    their_patients: str
    their_designs: str
    their_trials: str
    sections: tuple[ComparisonSection, ...]

    @property
    def outcomes(self) -> tuple[OutcomeComparison, ...]:
        """Every outcome row of every comparison, in page order."""
        return tuple(o for s in self.sections for o in s.outcomes)


def published_reviews(records: StudyRecords) -> list[str]:
    """Return the reviews named in published_estimates.csv, in file order (none without it)."""
    pub = records.published_estimates
    return [] if pub is None else list(dict.fromkeys(str(r) for r in pub["review"]))


def _distinct(values: pd.Series, missing: str) -> str:
    shown = list(dict.fromkeys(v for v in values if isinstance(v, str) and v))
    return ", ".join(shown) if shown else missing


def repooled(analysis: Analysis, measure: str) -> str | None:
    """Our analysis re-pooled in ``measure`` from the same arm-level data.

    Our analysis re-pooled in ``measure`` from the same arm-level data (same trials and, where it
    applies to the measure, the same method; a Mantel-Haenszel or Peto analysis falls back to
    Mantel-Haenszel, else to REML); None when the data are contrasts or of another type.
    """
    s, r = analysis.selection, analysis.result
    if s is None or r is None or s.measure == "GEN":
        return None
    if measure not in OUTCOME_MEASURES[s.outcome.type] or measure == s.outcome.measure:
        return None
    method = analysis.spec.method
    try:
        method = normalise_method(method, measure)
    except ValueError:
        method = "MH" if method in TABLE_METHODS else "REML"
    other = pool(
        s.frame,
        measure,
        method,
        analysis.spec.hksj,
        warn_excluded=False,
        **analysis.spec.pool_options(),
        scale_name=MEASURE_NAMES[measure],
        unit=s.outcome.unit if measure == "MD" else None,
    )
    b = other.back_transformed()
    text = result_text(other.display_scale.label, b["estimate"], b["ci_low"], b["ci_high"])
    return f"{text} ({method}, re-pooled here from the same arm data)"


def _ours(analyses: list[Analysis], comparison: str, row: pd.Series) -> tuple[Ours, ...]:
    outcome, theirs = str(row["outcome"]), their_measure(row)
    out = []
    for a in analyses:
        s, r = a.selection, a.result
        if s is None or r is None or a.spec.is_secondary:
            continue
        if s.comparison.key != comparison or s.outcome.key != outcome:
            continue
        b = r.back_transformed()
        text = result_text(r.display_scale.label, b["estimate"], b["ci_low"], b["ci_high"])
        again = repooled(a, theirs) if theirs is not None else None
        out.append(Ours(a.spec.name, s.window.label, r.k, tuple(s.labels), text, again))
    return tuple(out)


def _their_trials(rows: pd.DataFrame) -> str:
    """Return what is known of their included trials.

    What is known of their included trials: no file lists them, so 'not found', with the caveat
    clause of their rows that says so.
    """
    said = [c for c in (clause(v, "trials") for v in rows["caveat"]) if c]
    where = f": '{said[0]}' (published_estimates.csv)" if said else ""
    return f"**not found**{where}"


def _our_trials(
    records: StudyRecords, comparison: str, analyses: list[Analysis]
) -> tuple[tuple[str, ...], ...]:
    used: dict[str, list[str]] = {}
    for a in analyses:
        if a.selection is None or a.result is None or a.spec.is_secondary:
            continue
        if a.selection.comparison.key == comparison:
            for label in a.selection.labels:
                used.setdefault(label, []).append(a.spec.name)
    t = records.trials[records.trials["comparison"] == comparison].sort_values(
        ["year", "report_id"]
    )
    rows = []
    for r in t.itertuples(index=False):
        label = records.label(str(r.report_id))
        exp, ctrl = number_text(r.n_randomised_exp), number_text(r.n_randomised_ctrl)
        randomised = f"{exp or 'not printed'} / {ctrl or 'not printed'}"
        total = number_text(getattr(r, "n_randomised", None))
        if total and not (exp and ctrl):
            randomised += f" ({total} in total)"
        names = ", ".join(used.get(label, [])) or "none"
        rows.append((label, str(r.trial), str(r.design), randomised, names))
    return tuple(rows)


def _section(
    records: StudyRecords,
    comparison: str,
    rows: pd.DataFrame,
    analyses: list[Analysis],
    cells: list[GapCell],
) -> ComparisonSection:
    outcomes = []
    for _, row in rows.iterrows():
        outcome = str(row["outcome"])
        known = records.review.outcomes.get(outcome)
        ours = _ours(analyses, comparison, row)
        label = known.label if known is not None else outcome
        outcomes.append(
            OutcomeComparison(outcome, label, row, ours, differences(records, row, ours, cells))
        )
    c = records.review.comparisons[comparison]
    return ComparisonSection(
        comparison,
        c.label,
        f"{c.experimental} / {c.control}",
        _our_trials(records, comparison, analyses),
        tuple(outcomes),
    )


def published_review(
    review: str, records: StudyRecords, analyses: list[Analysis]
) -> PublishedReview | None:
    """Return the page of the review named ``review`` in published_estimates.csv.

    The page of the review named ``review`` in published_estimates.csv (None when the folder has no
    row of it).
    """
    pub = records.published_estimates
    if pub is None:
        return None
    rows = pub[pub["review"] == review]
    if rows.empty:
        return None
    citations = records.sources.set_index("source_id")["citation"]
    cells = gap_cells(records)
    sections = tuple(
        _section(records, str(c), rows[rows["comparison"] == c], analyses, cells)
        for c in dict.fromkeys(rows["comparison"])
    )
    return PublishedReview(
        review=review,
        page=page_name(review),
        citation="; ".join(dict.fromkeys(str(citations[s]) for s in rows["source_id"])),
        quotes=tuple(dict.fromkeys(str(q) for q in rows["quote"])),
        their_studies=_distinct(rows["printed_n_studies"], "not printed"),
        their_patients=_distinct(rows["printed_n_patients"], "not printed"),
        their_designs=", ".join(dict.fromkeys(str(d) for d in rows["designs"])),
        their_trials=_their_trials(rows),
        sections=sections,
    )
