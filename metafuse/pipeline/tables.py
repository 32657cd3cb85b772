"""Summary-of-findings tables of a build: one per comparison of each studies folder.

Every outcome the review declares gets a row: one per follow-up window with an analysis, or one
row in a panel's words saying what is missing and what the report holds instead. Sensitivity and
subgroup analyses, and the re-rating under the alternatives the data imply, become footnotes of
the matching row. The main table takes at most seven outcomes (critical first, at least one harm);
the others go to the additional table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from metafuse.pipeline.run import Analysis
from metafuse.review import panel
from metafuse.review.findings import effect_text, sof_row, with_note
from metafuse.review.gaps import GapCell, gap_cells
from metafuse.review.grade import n_studies
from metafuse.review.imprecision import RULE_SETS
from metafuse.review.narrative import empty_outcome_row, incomplete_notes, unpooled_records
from metafuse.review.panel import GradeInputs
from metafuse.review.rating import RowContext, rate
from metafuse.review.records import StudyRecords
from metafuse.review.robustness import robustness_note
from metafuse.review.selection import EVIDENCE
from metafuse.review.sof import (
    RelatedPage,
    SofRow,
    SofTable,
    select_main,
)
from metafuse.review.statements import in_sentence
from metafuse.review.vocabulary import Comparison, Review


def effect_words(a: Analysis) -> str:
    """Return an analysis's pooled effect in words ('RR 0.37 (0.13 to 1.02)', 'MD 2.10 ...')."""
    assert a.result is not None
    assert a.selection is not None
    return effect_text(a.selection, *a.result.effect_ci())


def small_study_tests(a: Analysis) -> dict[str, dict[str, float]] | None:
    """Return the analysis's small-study tests as mappings (Egger's, the rank test), or None."""
    return None if a.small_study is None else a.small_study.as_mappings()


def sensitivity_note(a: Analysis, records: StudyRecords | None = None, level: str = "") -> str:
    """Return the footnote a sensitivity or subgroup analysis adds to its main row.

    With the main row's certainty ``level``, it says whether the sensitivity analysis would be
    rated the same.
    """
    if a.spec.subgroup is not None:
        t = a.subgroup_test
        if t is None:
            return f"Subgroup analysis by {a.spec.subgroup}: a single subgroup, no test."
        return (
            f"Subgroup analysis by {a.spec.subgroup} ({', '.join(t.groups)}): test for "
            f"subgroup differences Chi² = {t.Q_between:.2f}, df = {t.Q_between_df}, "
            f"P = {t.Q_between_pval:.2f}."
        )
    left_out = "; ".join(f"{label} ({reason})" for label, reason in a.excluded) or "none"
    what = (
        f"with the alternative records ({a.spec.alternative_records})"
        if a.spec.alternative_records
        else f"leaving out {left_out}"
    )
    if a.result is None or a.selection is None:
        return f"Sensitivity analysis {what}: no studies remain."
    text = f"Sensitivity analysis {what}: {effect_words(a)} ({n_studies(a.result.k)})"
    if records is None or not level:
        return text + "."
    grade = grade_inputs(a, records)
    ctx = RowContext(start=EVIDENCE[a.spec.evidence])
    other = rate(a.selection, a.result, records, grade, small_study_tests(a), ctx)[0].level
    same = (
        "the same certainty"
        if other == level
        else f"certainty {other.upper()}, not {level.upper()}"
    )
    return f"{text}; {same}."


def grade_inputs(a: Analysis, records: StudyRecords) -> GradeInputs:
    """Return the GRADE inputs of an analysis: its spec's [grade] over the review's decisions."""
    return panel.grade_inputs(
        records.review, str(a.spec.comparison), str(a.spec.outcome), a.spec.grade
    )


def _row(a: Analysis, records: StudyRecords, headline: bool) -> SofRow:
    assert a.result is not None
    assert a.selection is not None
    grade = grade_inputs(a, records)
    start = EVIDENCE[a.spec.evidence]
    ctx = RowContext(
        start=start,
        design="RCTs" if a.spec.evidence == "randomised" else "observational studies",
        unpooled=tuple(f"{label} ({reason})" for label, reason in a.selection.incomplete),
        link=f"{a.spec.name}/index.html",
        headline=headline,
    )
    primary_bayes = a.spec.primary == "bayes"
    small = small_study_tests(a)
    row = sof_row(a.selection, a.result, records, grade, small, a.bayes, primary_bayes, ctx)
    if row.certainty is not None and not primary_bayes:
        note = robustness_note(a.selection, a.result, records, grade, row.certainty, ctx, small)
        if note:
            row = with_note(row, note, "certainty")
    return row


def _note_cell(row: SofRow) -> str:
    return "relative" if row.relative.text != "—" else "difference"


def _rows_for(
    outcome: str,
    comparison: str,
    mine: Sequence[Analysis],
    secondary: Sequence[Analysis],
    records: StudyRecords,
    cells: Sequence[GapCell],
    related: Sequence[RelatedPage],
) -> list[SofRow]:
    review = records.review
    order = list(review.windows)
    primary = sorted(
        [a for a in mine if a.spec.outcome == outcome and a.result is not None],
        key=lambda a: (order.index(str(a.spec.window)), list(EVIDENCE).index(a.spec.evidence)),
    )
    rows = []
    for i, a in enumerate(primary):
        row = _row(a, records, headline=i == 0)
        if a.bayes_note:
            row = with_note(row, a.bayes_note, _note_cell(row))
        for sens in secondary:
            if (sens.spec.outcome, sens.spec.window, sens.spec.evidence) == (
                outcome,
                a.spec.window,
                a.spec.evidence,
            ):
                level = row.certainty.level if row.certainty else ""
                row = with_note(row, sensitivity_note(sens, records, level), _note_cell(row))
        rows.append(row)
    if not rows:
        return [empty_outcome_row(records, comparison, outcome, cells, related)]
    analysed = {str(a.spec.window) for a in primary}
    dropped = incomplete_notes(
        records,
        [
            c
            for c in cells
            if c.comparison == comparison and c.outcome == outcome and c.window not in analysed
        ],
    )
    dropped += [
        n for notes in unpooled_records(records, comparison, outcome).values() for n in notes
    ]
    if dropped:
        rows[0] = with_note(
            rows[0], "Not analysed (no poolable record): " + "; ".join(dropped) + ".", "outcome"
        )
    return rows


#: How a table names a fixed-effect method an outcome declares (review.toml).
FIXED_NAMES = {
    "PETO": "Peto's fixed-effect method",
    "MH": "Mantel-Haenszel fixed-effect method",
    "FE": "fixed-effect inverse-variance method",
}


def _models(review: Review, comparison: str) -> str:
    """'random-effects models', or the methods the comparison's outcomes declare."""
    methods = [o.method for o in review.outcomes.values() if o.applies_to(comparison)]
    names = dict.fromkeys(FIXED_NAMES.get(m, "random-effects models") for m in methods)
    return " and ".join(names) if names else "random-effects models"


def _title(comparison: Comparison) -> str:
    """'Drug X compared with placebo for <population>' (the intervention, the comparator)."""
    intervention = comparison.intervention or comparison.experimental
    comparator = comparison.comparator or comparison.control
    population = comparison.population
    head = f"{intervention} compared with {comparator[:1].lower() + comparator[1:]}"
    if population:
        head += f" for {population[:1].lower() + population[1:]}"
    return head


def _pico(comparison: Comparison) -> tuple[tuple[str, str], ...]:
    return (
        ("Patient or population", comparison.population or "not stated"),
        ("Setting", comparison.setting or "not stated"),
        ("Intervention", comparison.intervention or comparison.experimental),
        ("Comparison", comparison.comparator or comparison.control),
    )


def sof_tables(
    analyses: Sequence[Analysis],
    records: dict[Path, StudyRecords],
    related: Sequence[RelatedPage] = (),
) -> list[tuple[str, SofTable]]:
    """``(comparison key, table)`` for every comparison of every studies folder.

    ``(comparison key, table)`` for every comparison of every studies folder; ``related`` are the
    report's other pages (label, link) that empty rows point to.
    """
    tables = []
    for folder, recs in records.items():
        review = recs.review
        cells = gap_cells(recs)
        for key, comparison in review.comparisons.items():
            ours = [a for a in analyses if a.spec.studies == folder and a.spec.comparison == key]
            mine = [a for a in ours if not a.spec.is_secondary]
            secondary = [a for a in ours if a.spec.is_secondary]
            rows: list[SofRow] = []
            for outcome in review.outcomes.values():
                if outcome.applies_to(key):
                    rows += _rows_for(outcome.key, key, mine, secondary, recs, cells, related)
            main, appendix = select_main(rows)
            tables.append(
                (
                    key,
                    SofTable(
                        title=_title(comparison),
                        review_title=review.title,
                        pico=_pico(comparison),
                        intervention=comparison.intervention or comparison.experimental,
                        comparator=comparison.control,
                        rows=tuple(main),
                        appendix=tuple(appendix),
                        rules=RULE_SETS[review.grade_rules],
                        notes=(
                            f"Effects are {in_sentence(comparison.experimental)} minus (or over) "
                            f"{in_sentence(comparison.control)}; {_models(review, key)} unless a "
                            "footnote says otherwise.",
                        ),
                        related=tuple(related),
                    ),
                )
            )
    return tables
