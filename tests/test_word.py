"""The Word SoF tables as a panel sees them: converted to PDF with LibreOffice and read back with
pdftotext. The header row repeats on page 2 of a long table, no word is broken inside, the page
is landscape and the columns have the widths metafuse set."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from metafuse.report.docx import column_widths, to_docx
from metafuse.report.table_document import (
    PROFILE_HEADER as PROFILE_COLUMNS,
)
from metafuse.report.table_document import (
    RenderedCell,
    Section,
    TableDocument,
)
from tests.browser import require_tool

OUTCOMES = (
    "Oswestry Disability Index: ODI 0-100 (lower is better); follow-up about 2 years "
    "(12-30 months)",
    "Additional lumbar surgery (reoperation after fusion; surgery after crossover from "
    "conservative care); any follow-up",
    "Patient-reported decreased leg pain; longest follow-up",
)


def long_profile(n: int = 36) -> list[list[str]]:
    rows = []
    for i in range(n):
        rows.append(
            [
                f"{OUTCOMES[i % 3]} ({i + 1})",
                str(1 + i % 4),
                "randomised trials",
                "serious",
                "not serious" if i % 2 else "Inconsistency unexplained",
                "not serious",
                "very serious",
                "undetected",
                f"{100 + i}/{200 + i} (50.0%) / {90 + i}/{210 + i} (42.9%)",
                "RR 1.02 (0.88 to 1.19)",
                "MD 0.28 lower (5.11 lower to 4.55 higher)",
                "⊕⊕◯◯ LOW",
                "CRITICAL",
            ]
        )
    return rows


def words(texts: Iterable[str]) -> set[str]:
    """Every whitespace-separated word, and the pieces a line may legitimately break into
    (after a hyphen or a slash)."""
    out: set[str] = set()
    for text in texts:
        for word in text.split():
            out.add(word)
            for m in re.finditer(r"[-/–]", word):
                out.add(word[: m.end()])
                out.add(word[m.end() :])
    return out


def to_pdf(docs: dict[str, bytes], folder: Path) -> dict[str, Path]:
    soffice = require_tool("soffice", "libreoffice-writer")
    require_tool("pdftotext", "poppler-utils")
    for name, data in docs.items():
        (folder / f"{name}.docx").write_bytes(data)
    profile = (folder / "lo-profile").as_uri()
    inputs = [str(folder / f"{n}.docx") for n in docs]
    options = [f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf"]
    subprocess.run(
        [soffice, *options, "--outdir", str(folder), *inputs],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return {name: folder / f"{name}.pdf" for name in docs}


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(
        ["pdftotext", "-layout", *pages, str(pdf), "-"], check=True, capture_output=True
    )
    return out.stdout.decode()


def pdf_pages(pdf: Path) -> tuple[int, float, float]:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True).stdout.decode()
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    w, h = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups()  # type: ignore[union-attr]
    return pages, float(w), float(h)


def test_columns_are_never_narrower_than_their_longest_word() -> None:
    rows = long_profile(5)
    widths = column_widths(PROFILE_COLUMNS, rows, 10.5)
    assert sum(widths) == pytest.approx(10.5)
    assert widths[PROFILE_COLUMNS.index("Inconsistency")] > 0.8  # 'Inconsistency' in bold
    assert widths[0] == max(widths)  # the outcome column, with the most text, gets the most room


def _docx_words(data: bytes, folder: Path) -> set[str]:
    """Every word of a .docx's paragraphs and cells (runs joined as Word shows them)."""
    from docx import Document

    path = folder / "words.docx"
    path.write_bytes(data)
    doc = Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    texts += [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return words(texts)


def test_word_tables_in_libreoffice(built: tuple[Path, list[Path]], tmp_path: Path) -> None:
    project, _ = built
    rows = long_profile()
    title = "GRADE evidence profile: comparison X"
    notes = ["Imprecision: rated down one level (serious; rule).", "Risk of bias: see above."]
    cells = tuple(
        tuple(RenderedCell(c, ("a", "b") if c.startswith("⊕") else ()) for c in row) for row in rows
    )
    long = TableDocument(
        title=title,
        lines=(("Patient or population", "adults"), ("Setting", "any")),
        sections=(Section("", PROFILE_COLUMNS, cells),),
        footnotes=(("a", notes[0]), ("b", notes[1])),
        legend=("GRADE Working Group grades of evidence.",),
    )
    docs = {"long": to_docx(long), "sof_B": (project / "results" / "sof_B.docx").read_bytes()}
    pdfs = to_pdf(docs, tmp_path)
    pages, width, height = pdf_pages(pdfs["long"])
    assert pages >= 2
    assert width > height  # landscape
    second = pdf_text(pdfs["long"], 2)
    for word in ("Outcome", "Inconsistency", "Indirectness", "Imprecision", "Certainty"):
        assert word in second, f"header word {word!r} not repeated on page 2"
    allowed = _docx_words(docs["long"], tmp_path)
    broken = sorted(w for w in pdf_text(pdfs["long"]).split() if w not in allowed)
    assert broken == [], f"words broken inside: {broken[:20]}"
    from docx import Document

    doc = Document(str(project / "results" / "sof_B.docx"))
    texts = [p.text for p in doc.paragraphs]
    texts += [c.text for t in doc.tables for r in t.rows for c in r.cells]
    broken = sorted(w for w in pdf_text(pdfs["sof_B"]).split() if w not in words(texts))
    assert broken == [], f"words broken inside: {broken[:20]}"
    assert {"Outcomes", "Certainty"} <= set(pdf_text(pdfs["sof_B"], 1).split())
