"""``make analysis``: run the plan and write ``results/`` as a whole, atomically.

Everything is built in a staging folder beside ``results/`` and swapped in at the end, so that
``results/`` is always entirely the old build or entirely the new one: an error or an interrupt
(SIGINT, or SIGTERM, handled alike) leaves it as it was and removes the staging folder. A build
killed outright (SIGKILL) cannot clean up: its staging folder, named after its process, is removed
by the next build once that process is gone. A plan with nothing to build never replaces a
results folder that holds files. Outputs are deterministic (sorted keys, no timestamps, pinned
fonts).
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from metafuse.exceptions import SpecError
from metafuse.files import to_json, write_bytes_atomic, write_text_atomic
from metafuse.pipeline.cache import BuildCache
from metafuse.pipeline.incremental import remember_build, restore_unchanged
from metafuse.pipeline.keys import harms_key, value_key
from metafuse.pipeline.manifest import MANIFEST, compare, manifest, read_manifest
from metafuse.pipeline.plan import Plan, make_plan
from metafuse.pipeline.project import folder_inputs
from metafuse.pipeline.render import cached_files, write_analyses
from metafuse.pipeline.run import Analysis, run_analysis
from metafuse.pipeline.site import build_site
from metafuse.pipeline.staging import remove_stale_staging as remove_stale_staging
from metafuse.pipeline.staging import staging, terminate_as_interrupt
from metafuse.pipeline.tables import sof_tables
from metafuse.review.sof import RelatedPage, SofTable
from metafuse.review.vocabulary import FILE_NAME

Progress = Callable[[str], None]
FORMATS = ("md", "csv", "html", "docx")


def run_plan(plan: Plan, progress: Progress | None = None) -> list[Analysis]:
    """Fit every planned analysis once."""
    out = []
    for spec in plan.specs:
        if progress:
            progress(spec.name)
        out.append(run_analysis(spec, plan.selections.get(spec.name), plan.records_of(spec)))
    return out


def related_pages(
    pages: dict[str, list[Path]], titles: dict[str, str], out_dir: Path
) -> list[RelatedPage]:
    """Return the report's top-level HTML pages written so far, by kind, with their titles."""
    return [
        RelatedPage(kind, titles.get(page.name, page.stem), page.name)
        for kind, paths in pages.items()
        for page in sorted(p for p in paths if p.suffix == ".html" and p.parent == out_dir)
    ]


def _write_tables(
    analyses: list[Analysis],
    plan: Plan,
    out_dir: Path,
    related: list[RelatedPage],
    cache: BuildCache | None = None,
) -> list[Path]:
    def render(table: SofTable, kind: str, fmt: str, path: Path) -> list[Path]:
        from metafuse.report.writers import render_table

        return [write_bytes_atomic(path, render_table(table, kind, fmt))]

    written = []
    for comparison, table in sof_tables(analyses, plan.records, related):
        # the table is keyed once; each of its files by that key, its kind, format and name
        table_key = None if cache is None else value_key("table", table)
        for kind, stem in (("sof", "sof"), ("profile", "evidence_profile")):
            for fmt in FORMATS:
                path = out_dir / f"{stem}_{comparison}.{fmt}"
                key = (
                    None
                    if table_key is None
                    else value_key("table file", table_key, kind, fmt, path.name)
                )
                written += cached_files(
                    cache, key, out_dir, partial(render, table, kind, fmt, path)
                )
    return written


def _write_review_pages(
    analyses: list[Analysis], plan: Plan, out_dir: Path, cache: BuildCache | None = None
) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """Write each review's harms profile and the pages that set published reviews beside ours.

    Returns the files written by kind (``harms``, ``published``), and the title of each HTML
    page (for the index and the SoF tables' pointers). A harms profile whose inputs are
    unchanged comes from the ``cache``.
    """
    from metafuse.pipeline.harms import write_harms
    from metafuse.pipeline.replication_page import page_titles, write_published_reviews

    written: dict[str, list[Path]] = {"harms": [], "published": []}
    titles: dict[str, str] = {}
    for folder, records in plan.records.items():
        mine = [a for a in analyses if a.spec.studies == folder]
        write = partial(write_harms, records, out_dir)
        key = None if cache is None else harms_key(records)
        harms = cached_files(cache, key, out_dir, write)
        if harms:
            titles[f"{records.review.harms_page}.html"] = records.review.harms_title
        written["harms"] += harms
        written["published"] += write_published_reviews(records, mine, out_dir)
        titles.update(page_titles(records))
    return written, titles


def inputs_of(plan: Plan) -> list[Path]:
    """Every input file of a build: specs, data files, and each studies folder's files."""
    files = set(plan.spec_files)
    for spec in plan.specs:
        if spec.data is not None:
            files.add(spec.data)
    for folder in plan.records:
        files.update(folder_inputs(folder))
    return sorted(files)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Within the block, Python's cycle collector runs about 30 times less often.

    A build allocates millions of short-lived objects (tables, plot layers) that reference
    counting frees; the collector's frequent passes over the young ones cost a build about 5% of
    its time for nothing. The thresholds are restored afterwards.
    """
    previous = gc.get_threshold()
    gc.set_threshold(20_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def build(
    plan: Plan,
    out_dir: Path,
    progress: Progress | None = None,
    *,
    jobs: int = 1,
    cache: BuildCache | None = None,
) -> list[Path]:
    """Write every output of a plan into ``out_dir`` (which should be empty); return the files.

    ``jobs`` processes draw the analyses' figures; with a ``cache``, an analysis whose inputs are
    unchanged is taken from it (see :mod:`metafuse.pipeline.render`).
    """
    analyses = run_plan(plan)
    review: list[Path] = []
    titles: dict[str, str] = {}

    def review_pages() -> None:  # they read no file of an analysis folder: drawn meanwhile
        pages, found = _write_review_pages(analyses, plan, out_dir, cache)
        related = related_pages(pages, found, out_dir)
        review.extend(_write_tables(analyses, plan, out_dir, related, cache))
        review.extend(p for paths in pages.values() for p in paths)
        titles.update(found)

    written = write_analyses(
        analyses, plan, out_dir, jobs=jobs, cache=cache, progress=progress, meanwhile=review_pages
    )
    written += review
    # keep last before the manifest: the site links every file written above
    written += build_site(analyses, out_dir, plan.records, title=plan.title, pages=titles)
    data = manifest(plan.root, inputs_of(plan), out_dir, written)
    written.append(write_text_atomic(out_dir / MANIFEST, to_json(data)))
    return written


def run_all(
    spec_dir: Path,
    out_dir: Path,
    progress: Progress | None = None,
    plan: Plan | None = None,
    *,
    jobs: int = 1,
    cache: BuildCache | None = None,
) -> list[Path]:
    """Run every analysis (automatic ones and the specs in ``spec_dir``) into ``out_dir``.

    Returns the files written (paths inside ``out_dir``). All specs are checked and fitted before
    ``out_dir`` changes; on any error it is left as it was. ``plan`` is ``make_plan(spec_dir)``
    when the caller has it already. ``jobs`` processes draw the figures. With a ``cache``
    (:func:`metafuse.pipeline.cache.default_cache_dir`), a build whose inputs are all unchanged
    is the last one's results, and otherwise only analyses whose inputs changed are redrawn; the
    results are byte for byte those of a build without it.
    """
    if plan is None and cache is not None:
        restored = restore_unchanged(spec_dir, out_dir, cache)
        if restored is not None:
            return restored[0]
    plan = make_plan(spec_dir) if plan is None else plan
    if not plan.specs and not plan.records and out_dir.is_dir() and any(out_dir.iterdir()):
        raise SpecError(
            f"{spec_dir}: nothing to build (no spec, and no studies/{FILE_NAME} beside it); "
            f"{out_dir} is left as it was"
        )
    with terminate_as_interrupt(), staging(out_dir) as stage, fewer_collections():
        written = build(plan, stage, progress, jobs=jobs, cache=cache)
        if cache is not None:
            inputs = read_manifest(stage / MANIFEST)[0]
            assert inputs is not None
            remember_build(spec_dir, plan, inputs["inputs"], stage, written, cache)
    if cache is not None:
        cache.prune()
    return [out_dir / p.relative_to(stage) for p in written]


def verify(spec_dir: Path, results_dir: Path, *, jobs: int = 1) -> list[str]:
    """Check ``results_dir`` against its manifest and recompute everything in a temporary folder.

    Returns the differences (empty when the results reproduce). Nothing is modified, and the
    build cache is neither read nor written; ``jobs`` processes draw the figures.
    """
    recorded, problems = read_manifest(results_dir / MANIFEST)
    if recorded is None or problems:
        return problems
    plan = make_plan(spec_dir)
    with tempfile.TemporaryDirectory() as tmp:
        with fewer_collections():
            build(plan, Path(tmp), jobs=jobs)
        fresh, _ = read_manifest(Path(tmp) / MANIFEST)
    assert fresh is not None
    return compare(recorded, plan.root, results_dir, fresh)
