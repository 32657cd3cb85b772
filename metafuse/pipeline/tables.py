"""Summary-of-findings tables of a build: one per comparison of each studies folder.

Every outcome the review declares gets a row: one per follow-up window with an analysis, or one
"no usable data" row that names the gaps (which trials have an incomplete record, and what it
lacks). Sensitivity and subgroup analyses become footnotes of the matching row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from metafuse.pipeline.run import Analysis
from metafuse.review.findings import empty_row, sof_row, with_note
from metafuse.review.gaps import GapCell, gap_cells
from metafuse.review.grade import GradeInputs
from metafuse.review.records import StudyRecords
from metafuse.review.selection import EVIDENCE
from metafuse.review.sof import SofRow, SofTable, fmt_ratio, mean_difference_text


def sensitivity_note(a: Analysis) -> str:
    """Return the footnote a sensitivity or subgroup analysis adds to its main row."""
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
    if a.result is None or a.selection is None:
        return f"Sensitivity analysis '{a.spec.title}' leaving out {left_out}: no studies remain."
    r = a.result
    est = (
        fmt_ratio("RR", *r.effect_ci())
        if a.selection.ratio
        else mean_difference_text(*r.effect_ci())
    )
    return f"Sensitivity analysis leaving out {left_out}: {est} ({r.k} studies)."


def _gaps_comment(cells: Sequence[GapCell], comparison: str, outcome: str) -> str:
    cells = [c for c in cells if c.comparison == comparison and c.outcome == outcome]
    incomplete = {
        f"{c.trial} ({c.when}: missing {', '.join(c.missing)})"
        for c in cells
        if c.status == "incomplete"
    }
    trials = {c.trial for c in cells}
    nothing = {t for t in trials if all(c.status == "missing" for c in cells if c.trial == t)}
    parts = ["No usable data"]
    if incomplete:
        parts.append("incomplete records: " + "; ".join(sorted(incomplete)))
    if nothing:
        parts.append(f"nothing recorded for {len(nothing)} of {len(trials)} trials")
    return "; ".join(parts) + " (see metafuse gaps)"


def _rows_for(
    outcome: str,
    comparison: str,
    mine: Sequence[Analysis],
    secondary: Sequence[Analysis],
    records: StudyRecords,
    cells: Sequence[GapCell],
) -> list[SofRow]:
    review = records.review
    order = list(review.windows)
    primary = sorted(
        [a for a in mine if a.spec.outcome == outcome],
        key=lambda a: (order.index(str(a.spec.window)), list(EVIDENCE).index(a.spec.evidence)),
    )
    rows = []
    for a in primary:
        if a.result is None or a.selection is None:
            continue
        out = review.outcomes[outcome]
        grade = GradeInputs.from_spec(a.spec.grade, out.mid, out.mid_source)
        row = sof_row(
            a.selection,
            a.result,
            records,
            grade,
            None if a.small_study is None else a.small_study.as_mappings(),
            bayes=a.bayes,
            primary_bayes=a.spec.primary == "bayes",
        )
        if a.bayes_note:
            row = with_note(row, a.bayes_note)
        for sens in secondary:
            if (sens.spec.outcome, sens.spec.window, sens.spec.evidence) == (
                outcome,
                a.spec.window,
                a.spec.evidence,
            ):
                row = with_note(row, sensitivity_note(sens))
        rows.append(row)
    if not rows:
        label = f"{review.outcomes[outcome].label}; any follow-up"
        rows.append(empty_row(label, _gaps_comment(cells, comparison, outcome)))
    return rows


def sof_tables(
    analyses: Sequence[Analysis], records: dict[Path, StudyRecords]
) -> list[tuple[str, SofTable]]:
    """``(comparison key, table)`` for every comparison of every studies folder."""
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
                    rows += _rows_for(outcome.key, key, mine, secondary, recs, cells)
            population = comparison.population or "see trials.csv"
            setting = comparison.setting or "see trials.csv"
            subtitle = (
                f"{comparison.label}. Population: {population}. Setting: {setting}. "
                f"Intervention: {comparison.intervention or comparison.experimental}. "
                f"Comparison: {comparison.comparator or comparison.control}. Effects are "
                "experimental minus (or over) control; random-effects models."
            )
            tables.append(
                (
                    key,
                    SofTable(
                        title=f"Summary of findings: comparison {key}",
                        subtitle=subtitle,
                        rows=tuple(rows),
                    ),
                )
            )
    return tables
