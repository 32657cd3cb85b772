"""Word (.docx) tables a guideline panel can paste.

Landscape A4, column widths that fit their text, the header row repeated on every page, rows never
split across pages, and no word broken inside: each column is at least as wide as its longest word.

Widths are measured with DejaVu Sans (shipped with matplotlib, wider than the Arial the document
asks for), so the text fits in Word and LibreOffice alike and the bytes do not depend on the fonts
installed. Slack is shared in proportion to how much each column would need to fit its text on
one line. Only a single "word" wider than a third of the page (a URL) may be broken.
Byte-reproducible: fixed dates in the core properties and in every zip entry.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Sequence
from typing import Any

from metafuse.report.table_document import RenderedCell, TableDocument
from metafuse.text.metrics import longest_word, text_width

FONT = "Arial"
FONT_PT = 8.0
#: Word's default cell margins (0.08 in each side) plus room for rounding and font differences.
CELL_PAD_IN = 0.2
PAGE_MM = (297.0, 210.0)  # A4 landscape
MARGIN_MM = 15.0
#: A single word may take at most this share of the page before it is allowed to break.
MAX_WORD_SHARE = 1 / 3
#: Fixed timestamp for the parts of a .docx (Word files are zip archives with dates inside).
DOCX_DATE = (2000, 1, 1, 0, 0, 0)
HEADER_FILL = "E8EEF4"


def column_widths(
    header: Sequence[str], rows: Sequence[Sequence[str]], available: float, size: float = FONT_PT
) -> list[float]:
    """Column widths in inches summing to ``available``.

    Every column at least its longest word (headers in bold), the rest shared by how much more each
    needs to fit on one line.
    """
    columns = list(zip(header, *rows, strict=True))
    mins, prefs = [], []
    for head, *cells in columns:
        word = max([longest_word(head, size, True), *(longest_word(c, size) for c in cells)])
        line = max([text_width(head, size, True), *(text_width(c, size) for c in cells)])
        mins.append(min(word, available * MAX_WORD_SHARE) + CELL_PAD_IN)
        prefs.append(min(max(line, word), available * 0.4) + CELL_PAD_IN)
    if sum(mins) >= available:  # cannot fit: shrink evenly (only with page-wide words)
        return [m * available / sum(mins) for m in mins]
    if sum(prefs) <= available:
        return [p * available / sum(prefs) for p in prefs]
    need = [p - m for p, m in zip(prefs, mins, strict=True)]
    slack = available - sum(mins)
    return [m + slack * d / sum(need) for m, d in zip(mins, need, strict=True)]


def _row_flags(row: Any, header: bool) -> None:
    """Rows never split across pages; the header row repeats on every page."""
    from docx.oxml import OxmlElement

    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))


def _shade(cell: Any, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _fill(
    cell: Any, text: str, width: Any, bold: bool = False, letters: Sequence[str] = ()
) -> None:
    cell.width = width
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = 0
    run = paragraph.add_run(text)
    run.bold = bold
    if letters:
        mark = paragraph.add_run(",".join(letters))
        mark.font.superscript = True


def _page(doc: Any) -> float:
    """Landscape A4 with fixed margins; returns the text width in inches."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(MARGIN_MM))
    return (PAGE_MM[0] - 2 * MARGIN_MM) / 25.4


def _cell_text(cell: RenderedCell) -> str:
    return cell.text + (" " + ",".join(cell.letters) if cell.letters else "")


def _add_table(
    doc: Any, header: Sequence[str], rows: Sequence[Sequence[RenderedCell]], available: float
) -> None:
    from docx.shared import Inches

    texts = [[_cell_text(c) for c in row] for row in rows]
    widths = [Inches(w) for w in column_widths(header, texts, available)]
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.autofit = False  # fixed layout: the widths below hold in Word and LibreOffice
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    _row_flags(table.rows[0], header=True)
    for cell, text, width in zip(table.rows[0].cells, header, widths, strict=True):
        _fill(cell, text, width, bold=True)
        _shade(cell, HEADER_FILL)
    for row in rows:
        new = table.add_row()
        _row_flags(new, header=False)
        for cell, value, width in zip(new.cells, row, widths, strict=True):
            _fill(cell, value.text, width, letters=value.letters)


def to_docx(document: TableDocument) -> bytes:
    """Return the document as a Word file (see the module docstring)."""
    from metafuse._extras import require

    require("docx", "Word tables")
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    available = _page(doc)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(FONT_PT)
    doc.add_heading(document.title, level=1)
    for label, text in document.lines:
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.space_after = 0
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(text)
    for section in document.sections:
        if section.heading:
            doc.add_heading(section.heading, level=2)
        else:
            doc.add_paragraph()
        _add_table(doc, section.header, section.rows, available)
    heading = doc.add_paragraph()
    heading.paragraph_format.space_before = Pt(8)
    heading.add_run("Explanations").bold = True
    for letter, note in document.footnotes:
        paragraph = doc.add_paragraph(f"{letter}. {note}")
        paragraph.paragraph_format.space_after = 0
    for line in document.legend:
        doc.add_paragraph(line).paragraph_format.space_before = Pt(4)
    fixed = datetime.datetime(*DOCX_DATE)
    props = doc.core_properties
    props.created = props.modified = props.last_printed = fixed
    props.author = props.last_modified_by = "metafuse"
    props.revision = 1
    raw = io.BytesIO()
    doc.save(raw)
    return normalise_zip(raw.getvalue())


def normalise_zip(data: bytes) -> bytes:
    """Return the zip archive with every entry dated :data:`DOCX_DATE` (byte-reproducible)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=DOCX_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
