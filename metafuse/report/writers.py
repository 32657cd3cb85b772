"""Writers of summary-of-findings tables and evidence profiles: Markdown, CSV, HTML and Word.

Each writer is byte-reproducible (Word files are zip archives: their dates are fixed; the Word
layout is in :mod:`metafuse.report.docx`). Text is
escaped for its format: in Markdown ``|`` and whatever would render as HTML or a link
(:func:`metafuse.report.document.escape_markdown`), HTML entities, and CSV cells that a
spreadsheet could run as formulas (:func:`metafuse.files.to_csv`).
"""

from __future__ import annotations

import html

from metafuse.files import to_csv as csv_text
from metafuse.report.document import escape_markdown, md_cell
from metafuse.report.docx import to_docx
from metafuse.review.sof import PROFILE_COLUMNS, SOF_COLUMNS, SofTable, profile_cells, sof_cells


def to_markdown(title: str, subtitle: str, header, rows, notes) -> str:
    esc = escape_markdown
    out = [
        f"# {esc(title)}",
        "",
        esc(subtitle),
        "",
        "| " + " | ".join(esc(h) for h in header) + " |",
        "|" + "---|" * len(header),
    ]
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    out += ["", *(f"{chr(ord('a') + i)}. {esc(n)}" for i, n in enumerate(notes))]
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
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
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
