"""Writers of summary-of-findings tables and evidence profiles: Markdown, CSV, HTML and Word.

Each renders the same :class:`~metafuse.report.table_document.TableDocument` and is
byte-reproducible (Word files are zip archives: their dates are fixed; the Word layout is in
:mod:`metafuse.report.docx`). Footnote letters follow each cell (superscript in Markdown, HTML and
Word; in brackets in CSV); HTML cells link to their analysis page. Text is escaped for its format:
in Markdown ``|`` and whatever would render as HTML or a link
(:func:`metafuse.report.document.escape_markdown`), HTML entities, and CSV cells that a
spreadsheet could run as formulas (:func:`metafuse.files.to_csv`).
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from metafuse.files import to_csv as csv_text
from metafuse.report.document import md_cell
from metafuse.report.docx import to_docx
from metafuse.report.table_document import RenderedCell, TableDocument, build_document
from metafuse.review.sof import SofTable


def _md_cell(cell: RenderedCell) -> str:
    text = md_cell(cell.text)
    return text + (f"<sup>{','.join(cell.letters)}</sup>" if cell.letters else "")


def to_markdown(doc: TableDocument) -> str:
    """Return the document as GitHub Markdown."""
    out = [f"# {md_cell(doc.title)}", ""]
    out += [f"**{md_cell(k)}:** {md_cell(v)}  " for k, v in doc.lines]
    for section in doc.sections:
        out.append("")
        if section.heading:
            out += [f"## {md_cell(section.heading)}", ""]
        out.append("| " + " | ".join(md_cell(h) for h in section.header) + " |")
        out.append("|" + "---|" * len(section.header))
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in section.rows]
    out += ["", "## Explanations", ""]
    out += [f"{letter}. {md_cell(text)}  " for letter, text in doc.footnotes]
    out += ["", *(f"{md_cell(line)}  " for line in doc.legend)]
    return "\n".join(out).rstrip() + "\n"


def _csv_cell(cell: RenderedCell) -> str:
    return cell.text + (f" [{','.join(cell.letters)}]" if cell.letters else "")


def to_csv(doc: TableDocument) -> str:
    """Return the document as CSV.

    The document as CSV: the main table's header and rows first (machine-readable), then the
    additional table, the footnotes, the title, PICO lines and the legend as one-cell rows.
    """
    header = doc.sections[0].header if doc.sections else ("Outcomes",)
    rows: list[list[str]] = []
    for i, section in enumerate(doc.sections):
        if i:
            rows += [[section.heading], list(section.header)]
        rows += [[_csv_cell(c) for c in row] for row in section.rows]
    rows += [[f"{letter}. {text}"] for letter, text in doc.footnotes]
    rows += [[doc.title], *([f"{k}: {v}"] for k, v in doc.lines)]
    rows += [[line] for line in doc.legend]
    return csv_text(header, rows)


def _relative_link(link: str | None) -> bool:
    """Return True for a link to a page beside the table (no scheme such as ``javascript:``)."""
    return bool(link) and urlsplit(link or "").scheme == "" and not (link or "").startswith("//")


def _html_cell(cell: RenderedCell) -> str:
    text = html.escape(cell.text)
    if cell.link and _relative_link(cell.link):
        text = f'<a href="{html.escape(cell.link, quote=True)}">{text}</a>'
    if cell.letters:
        refs = ",".join(f'<a href="#fn-{x}">{x}</a>' for x in cell.letters)
        text += f"<sup>{refs}</sup>"
    return text


def to_html(doc: TableDocument) -> str:
    """Return the document as a standalone HTML page (no scripts, no external files)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{esc(doc.title)}</title>",
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10pt}"
        "table{border-collapse:collapse}th,td{border:1px solid #777;padding:4px;"
        "vertical-align:top}th{background:#e8eef4}sup a{text-decoration:none}"
        ".fn{margin:0.2em 0}</style></head><body>",
        f"<h1>{esc(doc.title)}</h1>",
    ]
    parts += [f"<p><strong>{esc(k)}:</strong> {esc(v)}</p>" for k, v in doc.lines]
    for section in doc.sections:
        if section.heading:
            parts.append(f"<h2>{esc(section.heading)}</h2>")
        parts.append("<table><thead><tr>")
        parts += [f'<th scope="col">{esc(h)}</th>' for h in section.header]
        parts.append("</tr></thead><tbody>")
        for row in section.rows:
            parts.append("<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("<h2>Explanations</h2>")
    parts += [
        f'<p class="fn" id="fn-{letter}"><strong>{letter}.</strong> {esc(text)}</p>'
        for letter, text in doc.footnotes
    ]
    parts += [f"<p>{esc(line)}</p>" for line in doc.legend]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_table(table: SofTable, kind: str, fmt: str) -> bytes:
    """``kind`` is ``sof`` or ``profile``; ``fmt`` one of md, csv, html, docx."""
    doc = build_document(table, kind)
    if fmt == "md":
        return to_markdown(doc).encode()
    if fmt == "csv":
        return to_csv(doc).encode()
    if fmt == "html":
        return to_html(doc).encode()
    if fmt == "docx":
        return to_docx(doc)
    raise ValueError(f"unknown format {fmt!r}")
