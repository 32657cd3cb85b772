"""GRADE summary-of-findings (SoF) tables and evidence profiles, in the GRADEpro layout.

One row per outcome (and follow-up window) of a comparison: anticipated absolute effects (risk
with comparator, risk with intervention, difference per 1000 with its CI; for continuous outcomes
the comparator mean and the mean difference), relative effect, number of participants (studies),
certainty with footnote letters, and comments. Outcomes without usable data are listed, not
hidden. Written as Markdown, CSV, HTML and Word (.docx), each byte-reproducible.

References
----------
Guyatt GH, Oxman AD, Santesso N, et al. (2013). GRADE guidelines 12: preparing summary of findings
    tables - binary outcomes. J Clin Epidemiol 66:158-172; 13: continuous outcomes, 66:173-183.
Cochrane Handbook 5.1, section 11.5.5 (absolute effects from a relative effect and an assumed
    comparator risk).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from metafuse.review.grade import DOMAINS, Certainty

SOF_COLUMNS = (
    "Outcome (follow-up)",
    "Risk with comparator",
    "Risk with intervention",
    "Difference (95% CI)",
    "Relative effect (95% CI)",
    "№ of participants (studies)",
    "Certainty of the evidence (GRADE)",
    "Comments",
)
PROFILE_COLUMNS = (
    "Outcome (follow-up)",
    "№ of studies",
    "Study design",
    *(d.capitalize() for d in DOMAINS),
    "№ of patients (intervention / comparator)",
    "Relative (95% CI)",
    "Absolute (95% CI)",
    "Certainty",
)


@dataclass(frozen=True)
class SofRow:
    """One outcome of a SoF table (text cells, footnote letters resolved at table level)."""

    outcome: str
    comparator: str
    intervention: str
    difference: str
    relative: str
    participants: str
    studies: int
    patients: str
    certainty: Certainty | None
    comments: str
    #: Footnote texts for this row (letters are assigned across the table).
    footnotes: tuple[str, ...] = ()
    domain_notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SofTable:
    """A comparison's SoF table: title, population/setting line, rows and footnotes."""

    title: str
    subtitle: str
    rows: tuple[SofRow, ...]


def per_1000(risk: float) -> str:
    """Return a risk as events per 1000 people."""
    return f"{round(1000 * risk):d} per 1000"


def absolute_binary(acr: float, rr: float, lo: float, hi: float) -> tuple[str, str]:
    """Return the risk with intervention and the difference per 1000 from an RR.

    Risk with intervention and the difference per 1000 from an RR and an assumed control risk
    (Cochrane Handbook 5.1, 11.5.5): corresponding risk = ACR x RR.
    """
    risk = per_1000(acr * rr)
    diff = [round(1000 * acr * (r - 1)) for r in (rr, lo, hi)]

    def word(d: int) -> str:
        return f"{abs(d)} more" if d > 0 else f"{abs(d)} fewer" if d < 0 else "0 fewer"

    return risk, f"{word(diff[0])} per 1000 (from {word(diff[1])} to {word(diff[2])})"


def mean_difference_text(md: float, lo: float, hi: float) -> str:
    """'MD 2.1 lower (6.95 lower to 2.75 higher)' (GRADEpro's wording)."""

    def word(x: float) -> str:
        return f"{abs(x):.2f} {'higher' if x > 0 else 'lower'}"

    return f"MD {word(md)} ({word(lo)} to {word(hi)})"


def footnote_letters(table: SofTable) -> tuple[list[list[str]], list[str]]:
    """Letters per row and the ordered footnote texts (a, b, ... shared by identical texts)."""
    texts: list[str] = []
    letters = []
    for row in table.rows:
        mine = []
        for text in row.footnotes:
            if text not in texts:
                texts.append(text)
            mine.append(chr(ord("a") + texts.index(text)))
        letters.append(mine)
    return letters, texts


def sof_cells(table: SofTable) -> tuple[list[list[str]], list[str]]:
    """Return the SoF table as rows of text cells, with the footnotes."""
    letters, notes = footnote_letters(table)
    rows = []
    for row, mine in zip(table.rows, letters, strict=True):
        certainty = row.certainty.label() if row.certainty else "—"
        if mine:
            certainty += " " + ",".join(sorted(mine))
        rows.append(
            [
                row.outcome,
                row.comparator,
                row.intervention,
                row.difference,
                row.relative,
                row.participants,
                certainty,
                row.comments,
            ]
        )
    return rows, notes


def profile_cells(table: SofTable) -> tuple[list[list[str]], list[str]]:
    """Return the evidence profile: one column per GRADE domain."""
    letters, notes = footnote_letters(table)
    rows = []
    for row, _ in zip(table.rows, letters, strict=True):
        if row.certainty is None:
            domains = ["—"] * len(DOMAINS)
            certainty = "—"
            design = "—"
        else:
            domains = [row.domain_notes.get(d.domain, d.rating) for d in row.certainty.domains]
            certainty = row.certainty.label()
            design = (
                "randomised trials" if row.certainty.start == "high" else "observational studies"
            )
        rows.append(
            [
                row.outcome,
                str(row.studies),
                design,
                *domains,
                row.patients,
                row.relative,
                row.difference,
                certainty,
            ]
        )
    return rows, notes


def fmt_ratio(measure: str, est: float, lo: float, hi: float) -> str:
    """'RR 1.02 (0.88 to 1.19)'."""
    return f"{measure} {math.exp(est):.2f} ({math.exp(lo):.2f} to {math.exp(hi):.2f})"
