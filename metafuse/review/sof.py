"""GRADE summary-of-findings (SoF) tables and evidence profiles: the table model.

A SoF table (Cochrane Handbook chapter 14; GRADEpro's layout) has a title "X compared with Y for
Z", the PICO lines, one row per outcome: anticipated absolute effects (risk with the comparator,
risk with the intervention with its CI, the difference with its CI; for continuous outcomes the
comparator mean, the intervention mean and the mean difference), the relative effect, the number of
participants (studies), the certainty and comments (an informative statement, GRADE guidance 26).
Footnotes are attached to the cell they explain and lettered a…z, aa, ab… in reading order; the
certainty cell's notes come in domain order. At most seven outcomes go in the main table, at least
one harm among them; the rest go to an additional table. Written as Markdown, CSV, HTML and Word
by :mod:`metafuse.report.writers`, each byte-reproducible.

References
----------
Schünemann HJ, Higgins JPT, Vist GE, et al. Chapter 14: Completing 'Summary of findings' tables
    and grading the certainty of the evidence. Cochrane Handbook for Systematic Reviews of
    Interventions version 6.4, 2023.
Guyatt GH, Oxman AD, Santesso N, et al. GRADE guidelines 12 and 13: preparing summary of findings
    tables (binary, continuous outcomes). J Clin Epidemiol 2013;66:158-172, 173-183.
Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative statements to
    communicate the findings of systematic reviews of interventions. J Clin Epidemiol
    2020;119:126-135.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from metafuse.review.grade import DOMAINS, Certainty

#: The main table holds at most this many outcomes (Cochrane Handbook 14.1.4).
MAX_MAIN_ROWS: Final = 7


@dataclass(frozen=True)
class Cell:
    """A cell's text, the footnotes that explain it, and a link (an analysis page)."""

    text: str
    notes: tuple[str, ...] = ()
    link: str | None = None


EMPTY: Final = Cell("—")


@dataclass(frozen=True)
class SofRow:
    """One outcome (at one follow-up) of a SoF table."""

    key: str
    outcome: Cell
    comparator: Cell = EMPTY
    intervention: Cell = EMPTY
    difference: Cell = EMPTY
    relative: Cell = EMPTY
    participants: Cell = EMPTY
    certainty: Certainty | None = None
    #: Notes of the certainty cell that are not a domain's (robustness, provisional rating).
    certainty_notes: tuple[str, ...] = ()
    comments: Cell = Cell("")
    studies: int = 0
    design: str = "—"
    patients: str = "—"
    #: Domain name -> its notes (the evidence profile's domain cells).
    domain_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The domain notes the SoF certainty cell carries (domains rated down or not judged).
    sof_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    importance: str = ""
    harm: bool = False
    #: True for the outcome's first follow-up window with data (the main table's candidate).
    headline: bool = True

    def all_notes(self) -> tuple[str, ...]:
        """Every footnote of the row, cell by cell (SoF order), domain notes included."""
        cells = (
            self.outcome,
            self.comparator,
            self.intervention,
            self.difference,
            self.relative,
            self.participants,
            self.certainty_cell(),
            self.comments,
        )
        notes = [n for c in cells for n in c.notes]
        notes += [n for d in DOMAINS for n in self.domain_notes.get(d, ())]
        return tuple(dict.fromkeys(notes))

    def certainty_cell(self) -> Cell:
        """Return the SoF certainty cell: the level and its notes, domain by domain."""
        if self.certainty is None:
            return EMPTY
        notes = [n for d in DOMAINS for n in self.sof_notes.get(d, ())]
        return Cell(self.certainty.label(), (*notes, *self.certainty_notes))


@dataclass(frozen=True)
class RelatedPage:
    """Another page of the same report.

    Another page of the same report: the harms profile (``harms``) or a published review set beside
    ours (``published``).
    """

    kind: str
    title: str
    link: str


@dataclass(frozen=True)
class SofTable:
    """A comparison's SoF table: title, PICO lines, the main and the additional rows."""

    title: str
    review_title: str
    #: ("Patient or population", text), ("Setting", ...), ("Intervention", ...), ("Comparison", ...)
    pico: tuple[tuple[str, str], ...]
    intervention: str
    comparator: str
    rows: tuple[SofRow, ...]
    appendix: tuple[SofRow, ...] = ()
    #: The GRADE rules in words (printed on every table).
    rules: str = ""
    #: Explanations for the reader of the whole table (assumptions, sources).
    notes: tuple[str, ...] = ()
    #: Related pages of the same report.
    related: tuple[RelatedPage, ...] = ()

    def all_rows(self) -> Iterator[SofRow]:
        """Yield the main rows, then the additional rows."""
        yield from self.rows
        yield from self.appendix


def footnote_label(index: int) -> str:
    """0 -> 'a', 25 -> 'z', 26 -> 'aa', 27 -> 'ab', … (spreadsheet-column style)."""
    if index < 0:
        raise ValueError("footnote index must be >= 0")
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


class Footnotes:
    """Footnote letters in the order cells are read; identical texts share one letter."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def letters(self, notes: tuple[str, ...]) -> tuple[str, ...]:
        """Return the letters of a cell's notes, in order (a new text gets the next letter)."""
        indices = []
        for text in notes:
            if text not in self.texts:
                self.texts.append(text)
            indices.append(self.texts.index(text))
        return tuple(footnote_label(i) for i in sorted(set(indices)))

    def listing(self) -> list[tuple[str, str]]:
        """(letter, text) in order."""
        return [(footnote_label(i), t) for i, t in enumerate(self.texts)]


def select_main(rows: list[SofRow]) -> tuple[list[SofRow], list[SofRow]]:
    """At most :data:`MAX_MAIN_ROWS` rows in the main table.

    At most :data:`MAX_MAIN_ROWS` rows in the main table: each outcome's headline row, critical
    outcomes first, then important ones, in the review's order; at least one harm when the review
    has one (it takes the last place). Every other row goes to the additional table.
    """
    rank = {"critical": 0, "important": 1, "": 1, "of limited importance": 2}
    heads = [r for r in rows if r.headline and r.importance != "of limited importance"]
    ordered = sorted(heads, key=lambda r: rank.get(r.importance, 1))
    main = ordered[:MAX_MAIN_ROWS]
    if not any(r.harm for r in main):
        harms = [r for r in ordered if r.harm]
        if harms and main:
            main = (
                [*main[: MAX_MAIN_ROWS - 1], harms[0]]
                if len(main) == MAX_MAIN_ROWS
                else [
                    *main,
                    harms[0],
                ]
            )
    chosen = {id(r) for r in main}
    main = [r for r in rows if id(r) in chosen]
    main.sort(key=lambda r: rank.get(r.importance, 1))
    return main, [r for r in rows if id(r) not in chosen]


def per_1000(risk: float) -> str:
    """Return a risk as events per 1000 people (bounded to 0-1000)."""
    return f"{round(1000 * min(max(risk, 0.0), 1.0)):d} per 1000"


def difference_words(d: float) -> str:
    """'224 fewer' / '14 more' / '0 fewer' for a difference per 1000."""
    n = round(d)
    return f"{abs(n)} more" if n > 0 else f"{abs(n)} fewer"


def mean_difference_text(md: float, lo: float, hi: float, measure: str = "MD") -> str:
    """'MD 2.1 lower (6.95 lower to 2.75 higher)' (GRADEpro's wording.

    'MD 2.1 lower (6.95 lower to 2.75 higher)' (GRADEpro's wording; ``measure`` names a difference
    measure: MD, SMD or RD).
    """

    def word(x: float) -> str:
        return f"{abs(x):.2f} {'higher' if x > 0 else 'lower'}"

    return f"{measure} {word(md)} ({word(lo)} to {word(hi)})"


def fmt_ratio(measure: str, ratio: float, lo: float, hi: float) -> str:
    """'RR 1.02 (0.88 to 1.19)' from ratios on the display scale."""
    return f"{measure} {ratio:.2f} ({lo:.2f} to {hi:.2f})"
