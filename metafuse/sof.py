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

import csv
import html
import io
import math
import zipfile
from dataclasses import dataclass, field

from metafuse.grade import DOMAINS, Certainty

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
    """A risk as events per 1000 people."""
    return f"{round(1000 * risk):d} per 1000"


def absolute_binary(acr: float, rr: float, lo: float, hi: float) -> tuple[str, str]:
    """Risk with intervention and the difference per 1000 from an RR and an assumed control risk
    (Cochrane Handbook 5.1, 11.5.5): corresponding risk = ACR x RR."""
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
    """The SoF table as rows of text cells, with the footnotes."""
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
    """The evidence profile: one column per GRADE domain."""
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
            design = "randomised trials"
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


# --- writers --------------------------------------------------------------------------------------


def to_markdown(title: str, subtitle: str, header, rows, notes) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = [
        f"# {title}",
        "",
        subtitle,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    out += ["", *(f"{chr(ord('a') + i)}. {n}" for i, n in enumerate(notes))]
    return "\n".join(out) + "\n"


def to_csv(header, rows, notes) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    for i, note in enumerate(notes):
        writer.writerow([f"{chr(ord('a') + i)}. {note}"])
    return buffer.getvalue()


def to_html(title: str, subtitle: str, header, rows, notes) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10pt}"
        "table{border-collapse:collapse}th,td{border:1px solid #777;padding:4px;"
        "vertical-align:top}th{background:#e8eef4}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(subtitle)}</p>",
        "<table><thead><tr>",
        *(f"<th>{esc(h)}</th>" for h in header),
        "</tr></thead><tbody>",
    ]
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    parts.append('</tbody></table><ol type="a">')
    parts += [f"<li>{esc(n)}</li>" for n in notes]
    parts.append("</ol></body></html>")
    return "\n".join(parts) + "\n"


#: Fixed timestamp for the parts of a .docx (Word files are zip archives with dates inside).
DOCX_DATE = (2000, 1, 1, 0, 0, 0)


def to_docx(title: str, subtitle: str, header, rows, notes) -> bytes:
    """A Word document with the table in landscape, byte-reproducible (fixed dates in the core
    properties and in every zip entry)."""
    import datetime

    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    style = doc.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(8)
    doc.add_heading(title, level=1)
    doc.add_paragraph(subtitle)
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    for i, note in enumerate(notes):
        doc.add_paragraph(f"{chr(ord('a') + i)}. {note}")
    fixed = datetime.datetime(*DOCX_DATE)
    props = doc.core_properties
    props.created = props.modified = props.last_printed = fixed
    props.author = props.last_modified_by = "metafuse"
    props.revision = 1
    raw = io.BytesIO()
    doc.save(raw)
    return _normalise_zip(raw.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=DOCX_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def render_table(table: SofTable, kind: str, fmt: str) -> bytes:
    """``kind`` is ``sof`` or ``profile``; ``fmt`` one of md, csv, html, docx."""
    header = SOF_COLUMNS if kind == "sof" else PROFILE_COLUMNS
    rows, notes = sof_cells(table) if kind == "sof" else profile_cells(table)
    title = (
        table.title
        if kind == "sof"
        else table.title.replace("Summary of findings", "GRADE evidence profile")
    )
    if fmt == "md":
        return to_markdown(title, table.subtitle, header, rows, notes).encode()
    if fmt == "csv":
        return to_csv(header, rows, notes).encode()
    if fmt == "html":
        return to_html(title, table.subtitle, header, rows, notes).encode()
    if fmt == "docx":
        return to_docx(title, table.subtitle, header, rows, notes)
    raise ValueError(f"unknown format {fmt!r}")


def fmt_ratio(measure: str, est: float, lo: float, hi: float) -> str:
    """'RR 1.02 (0.88 to 1.19)'."""
    return f"{measure} {math.exp(est):.2f} ({math.exp(lo):.2f} to {math.exp(hi):.2f})"
