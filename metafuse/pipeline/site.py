"""``results/index.html`` and one page per analysis (``results/<analysis>/index.html``).

A static site with no server and no external assets, readable on a phone.

Pages are built from the analyses' result objects; links come from the files actually present in
the build folder, so every output is reachable (figures inline as PNG with their SVG/PDF versions
linked, tables, data files) and nothing links to a file that does not exist. The review's title
heads the index; the review's own pages (its harms profile, the published reviews beside ours) are
listed by their titles; other top-level files are listed generically. Bytes are deterministic: no
dates, sorted listings.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metafuse._version import __version__
from metafuse.files import write_text_atomic
from metafuse.pipeline.run import Analysis
from metafuse.pipeline.summary import summary_text
from metafuse.report.html import render, result_view
from metafuse.review.provenance import study_sources
from metafuse.review.records import StudyRecords

INDEX = "index.html"
SITE_TITLE = "metafuse results"
#: Known figures: stem -> (heading, caption).
FIGURES = {
    "forest": (
        "Forest plot",
        "Studies with their weights and 95% CIs, the pooled diamond, the prediction interval "
        "and risk-of-bias judgements where recorded.",
    ),
    "funnel": (
        "Funnel plot",
        "Standard error against effect, with pseudo 95% limits and significance contours "
        "(drawn from 10 studies).",
    ),
    "gosh": (
        "GOSH plot",
        "The model fitted to every subset of the studies: estimate against I², coloured by "
        "the study whose inclusion moves the estimate most (drawn from 5 studies).",
    ),
}
TABLE_KINDS = {"sof": "Summary of findings", "evidence_profile": "Evidence profile"}
PNG_DPI = 300
CSS_DPI = 96


def png_size(path: Path) -> tuple[int, int]:
    """Width and height in CSS pixels of a PNG drawn at 300 dpi (its printed size)."""
    with path.open("rb") as fh:
        head = fh.read(24)
    width, height = struct.unpack(">II", head[16:24])
    return round(width * CSS_DPI / PNG_DPI), round(height * CSS_DPI / PNG_DPI)


def _images(folder: Path, files: Sequence[str]) -> list[dict[str, Any]]:
    pngs = [f for f in files if f.endswith(".png")]
    order = {stem: i for i, stem in enumerate(FIGURES)}
    pngs.sort(key=lambda f: (order.get(f[:-4], len(order)), f))
    out = []
    for name in pngs:
        stem = name[:-4]
        heading, caption = FIGURES.get(stem, (stem.replace("_", " ").capitalize(), ""))
        width, height = png_size(folder / name)
        vectors = [f"{stem}{ext}" for ext in (".svg", ".pdf") if f"{stem}{ext}" in files]
        out.append(
            {
                "anchor": stem,
                "heading": heading,
                "caption": caption,
                "path": name,
                "width": width,
                "height": height,
                "vectors": vectors,
            }
        )
    return out


def _context(analysis: Analysis) -> list[str]:
    s = analysis.selection
    if s is None:
        return [f"data: {analysis.spec.data.name}"] if analysis.spec.data else []
    return [f"comparison {s.comparison.key}: {s.comparison.label}", s.window.label]


def _notes(analysis: Analysis) -> list[str]:
    notes = []
    s = analysis.selection
    if s is not None:
        notes += [f"Not pooled: {label}: {reason}" for label, reason in s.incomplete]
        if s.weak:
            notes.append("Rests partly on weak sources: " + ", ".join(s.weak))
        if s.derived:
            notes.append("Numbers derived by the library: " + ", ".join(s.derived))
    notes += [f"Left out by this analysis: {lab}: {why}" for lab, why in analysis.excluded]
    t = analysis.subgroup_test
    if t is not None:
        notes.append(
            f"Test for subgroup differences ({analysis.spec.subgroup}): Chi² = "
            f"{t.Q_between:.2f}, df = {t.Q_between_df}, p = {t.Q_between_pval:.4f}"
        )
    return notes


def _leave_one_out(analysis: Analysis) -> list[dict[str, Any]]:
    loo, result = analysis.leave_one_out, analysis.result
    if loo is None or result is None:
        return []
    scale = result.display_scale
    rows = []
    for r in loo.to_frame().to_dict("records"):
        for key in ("estimate", "ci_low", "ci_high"):
            r[key] = scale.display(r[key])
        rows.append(
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        )
    return rows


def analysis_page(analysis: Analysis, out_dir: Path, records: StudyRecords | None = None) -> Path:
    """Write ``<analysis>/index.html``; return its path.

    Write ``<analysis>/index.html``; return its path. With the records behind a records analysis,
    the page lists every pooled study with its numbers and their source.
    """
    folder = out_dir / analysis.spec.name
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != INDEX)
    view = {
        "name": analysis.spec.name,
        "title": analysis.spec.title,
        "context": _context(analysis),
        "notes": _notes(analysis),
        "images": _images(folder, files),
        "loo": _leave_one_out(analysis),
        "files": files,
        "summary": summary_text(analysis),
        "result": analysis.result is not None,
        "sources": (
            study_sources(analysis.selection, records)
            if analysis.selection is not None and records is not None
            else []
        ),
    }
    r = result_view(analysis.result) if analysis.result is not None else None
    html = render("analysis.html", a=view, r=r, root="../", site_title=SITE_TITLE)
    return write_text_atomic(folder / INDEX, html)


def _top_level(
    out_dir: Path, analysis_names: set[str], pages: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, str]]]:
    """Return the table groups, review pages and other reports among the top-level files.

    Also the files of folders that are not analyses (e.g. the harms profile's figures).
    ``pages`` maps each review page's HTML file to its title; its other formats (same stem) go
    with it.
    """
    skip = {INDEX, "manifest.json"}
    files = sorted(p.name for p in out_dir.iterdir() if p.is_file() and p.name not in skip)
    files += sorted(
        p.relative_to(out_dir).as_posix()
        for folder in out_dir.iterdir()
        if folder.is_dir() and folder.name not in analysis_names
        for p in folder.rglob("*")
        if p.is_file()
    )
    groups: dict[str, list[str]] = {}
    stems = {page.rsplit(".", 1)[0]: page for page in pages}
    own: dict[str, list[str]] = {page: [] for page in sorted(pages)}
    reports = []
    for name in files:
        stem = name.rsplit(".", 1)[0]
        kind = next((k for k in TABLE_KINDS if stem.startswith(k + "_")), None)
        if stem in stems and "/" not in name:
            own[stems[stem]].append(name)
        elif kind is None:
            reports.append({"name": name, "path": name})
        else:
            groups.setdefault(stem, []).append(name)
    review_pages = [
        {"title": pages[page], "path": page, "files": [{"name": n, "path": n} for n in names]}
        for page, names in own.items()
        if page in names
    ]
    tables = []
    for stem, names in groups.items():
        kind = next(k for k in TABLE_KINDS if stem.startswith(k + "_"))
        label = f"{TABLE_KINDS[kind]}, comparison {stem[len(kind) + 1 :]}"
        tables.append({"label": label, "files": [{"name": n, "path": n} for n in names]})
    return tables, review_pages, reports


def build_site(
    analyses: Sequence[Analysis],
    out_dir: Path,
    records: Mapping[Path, StudyRecords] | None = None,
    title: str = "",
    pages: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the index and every analysis page into ``out_dir``; return the files written.

    Write the index and every analysis page into ``out_dir``; return the files written. ``records``
    are the studies folders of the build (their sources go on the analysis pages).

    ``title`` heads the index (the review's title; default :data:`SITE_TITLE`); ``pages`` maps the
    review's own HTML pages to their titles. Call it after every other output is written: the pages
    link the files present.
    """
    folders = records or {}
    written = [
        analysis_page(a, out_dir, folders.get(a.spec.studies) if a.spec.studies else None)
        for a in analyses
    ]
    rows = []
    for a in analyses:
        folder = out_dir / a.spec.name
        figures = [
            {"name": p.name, "path": f"{a.spec.name}/{p.name}"}
            for p in sorted(folder.iterdir())
            if p.suffix in (".png", ".svg", ".pdf")
        ]
        rows.append(
            {
                "name": a.spec.name,
                "title": a.spec.title,
                "page": f"{a.spec.name}/{INDEX}",
                "k": a.result.k if a.result is not None else 0,
                "result": result_view(a.result) if a.result is not None else None,
                "figures": figures,
            }
        )
    names = {a.spec.name for a in analyses}
    tables, review_pages, reports = _top_level(out_dir, names, pages or {})
    html = render(
        "index.html",
        heading=title or SITE_TITLE,
        analyses=rows,
        tables=tables,
        review_pages=review_pages,
        reports=reports,
        version=__version__,
        root="",
        site_title=SITE_TITLE,
    )
    written.append(write_text_atomic(out_dir / INDEX, html))
    return written
