"""Writers of summary-of-findings tables and evidence profiles: Markdown, CSV, HTML and Word.

Each writer is byte-reproducible (Word files are zip archives: their dates are fixed). Text is
escaped for its format: ``|`` in Markdown, HTML entities, and CSV cells that a spreadsheet could
run as formulas (:func:`metafuse.files.to_csv`).
"""

from __future__ import annotations

import html
import io
import zipfile

from metafuse.files import to_csv as csv_text
from metafuse.review.sof import PROFILE_COLUMNS, SOF_COLUMNS, SofTable, profile_cells, sof_cells


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
    return csv_text(
        header, [*rows, *([f"{chr(ord('a') + i)}. {note}"] for i, note in enumerate(notes))]
    )


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
