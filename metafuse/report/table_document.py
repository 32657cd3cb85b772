"""A SoF table or evidence profile as a format-neutral document.

A SoF table or evidence profile as a format-neutral document: title, PICO and rule lines, the main
and the additional table with each cell's footnote letters and link, the footnotes in reading order,
and the legend (GRADE definitions, abbreviations). The writers of :mod:`metafuse.report.writers`
render it as Markdown, CSV, HTML and Word.
"""

from __future__ import annotations

from dataclasses import dataclass

from metafuse.review.grade import DOMAINS
from metafuse.review.sof import EMPTY, Cell, Footnotes, SofRow, SofTable
from metafuse.review.statements import (
    ABSOLUTE_EFFECT_NOTE,
    GRADE_DEFINITIONS,
    abbreviations,
    in_sentence,
)


@dataclass(frozen=True)
class RenderedCell:
    """A cell's text, its footnote letters and its link."""

    text: str
    letters: tuple[str, ...] = ()
    link: str | None = None


@dataclass(frozen=True)
class Section:
    """One table of the document: its heading, header row and rows."""

    heading: str
    header: tuple[str, ...]
    rows: tuple[tuple[RenderedCell, ...], ...]


@dataclass(frozen=True)
class TableDocument:
    """Everything a writer prints, in order."""

    title: str
    lines: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    footnotes: tuple[tuple[str, str], ...]
    legend: tuple[str, ...]


def sof_header(table: SofTable) -> tuple[str, ...]:
    """Return the SoF columns (GRADEpro's, with the arms named)."""
    return (
        "Outcomes",
        f"Risk with {in_sentence(table.comparator)}*",
        f"Risk with {in_sentence(table.intervention)}* (95% CI)",
        "Difference (95% CI)",
        "Relative effect (95% CI)",
        "№ of participants (studies)",
        "Certainty of the evidence (GRADE)",
        "Comments",
    )


PROFILE_HEADER = (
    "Outcome (follow-up)",
    "№ of studies",
    "Study design",
    *(d.capitalize() for d in DOMAINS),
    "№ of patients (intervention / comparator)",
    "Relative effect (95% CI)",
    "Absolute effect (95% CI)",
    "Certainty",
    "Importance",
)


def _sof_cells(row: SofRow) -> tuple[Cell, ...]:
    return (
        row.outcome,
        row.comparator,
        row.intervention,
        row.difference,
        row.relative,
        row.participants,
        row.certainty_cell(),
        row.comments,
    )


def _profile_cells(row: SofRow) -> tuple[Cell, ...]:
    if row.certainty is None:
        domains = tuple(EMPTY for _ in DOMAINS)
        certainty = EMPTY
    else:
        domains = tuple(
            Cell(d.rating, row.domain_notes.get(d.domain, ())) for d in row.certainty.domains
        )
        certainty = Cell(row.certainty.label(), row.certainty_notes)
    absolute = row.difference
    return (
        row.outcome,
        Cell(str(row.studies) if row.studies else "—"),
        Cell(row.design),
        *domains,
        Cell(row.patients),
        row.relative,
        absolute,
        certainty,
        Cell(row.importance.upper() if row.importance else "not rated"),
    )


def build_document(table: SofTable, kind: str) -> TableDocument:
    """``kind`` is ``sof`` or ``profile``."""
    if kind not in ("sof", "profile"):
        raise ValueError(f"unknown table kind {kind!r}")
    notes = Footnotes()
    cells_of = _sof_cells if kind == "sof" else _profile_cells
    header = sof_header(table) if kind == "sof" else PROFILE_HEADER
    sections = []
    for heading, rows in (("", table.rows), ("Additional outcomes", table.appendix)):
        if not rows:
            continue
        rendered = tuple(
            tuple(RenderedCell(c.text, notes.letters(c.notes), c.link) for c in cells_of(row))
            for row in rows
        )
        sections.append(Section(heading, header, rendered))
    texts = [c.text for s in sections for r in s.rows for c in r]
    legend = ["GRADE Working Group grades of evidence. " + " ".join(GRADE_DEFINITIONS)]
    if kind == "sof":
        legend.append(ABSOLUTE_EFFECT_NOTE)
    used = abbreviations([*texts, *(t for _, t in notes.listing())])
    if used:
        legend.append(used + ".")
    legend += list(table.notes)
    name = "Summary of findings" if kind == "sof" else "GRADE evidence profile"
    lines = [("Review", table.review_title)] if table.review_title else []
    lines += [*table.pico, ("Certainty rated by", table.rules)]
    return TableDocument(
        title=f"{name}: {table.title}",
        lines=tuple(lines),
        sections=tuple(sections),
        footnotes=tuple(notes.listing()),
        legend=tuple(legend),
    )
