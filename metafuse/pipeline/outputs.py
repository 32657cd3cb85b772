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

import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from metafuse.exceptions import SpecError
from metafuse.files import frame_to_csv, to_json, write_bytes_atomic, write_text_atomic
from metafuse.pipeline.manifest import MANIFEST, compare, manifest, read_manifest
from metafuse.pipeline.plan import Plan, make_plan
from metafuse.pipeline.run import Analysis, run_analysis
from metafuse.pipeline.site import build_site
from metafuse.pipeline.summary import summary_text
from metafuse.pipeline.tables import sof_tables
from metafuse.review.records import StudyRecords
from metafuse.review.sof import RelatedPage
from metafuse.review.vocabulary import FILE_NAME

Progress = Callable[[str], None]
FORMATS = ("md", "csv", "html", "docx")


def run_plan(plan: Plan, progress: Progress | None = None) -> list[Analysis]:
    """Fit every planned analysis once."""
    out = []
    for spec in plan.specs:
        if progress:
            progress(spec.name)
        records = plan.records.get(spec.studies) if spec.studies is not None else None
        out.append(run_analysis(spec, plan.selections.get(spec.name), records))
    return out


def _write_analysis(
    analysis: Analysis, folder: Path, records: StudyRecords | None = None
) -> list[Path]:
    written = []
    payload = analysis.result.to_dict() if analysis.result is not None else {"k": 0}
    written.append(write_text_atomic(folder / "pooled.json", to_json(payload)))
    written.append(write_text_atomic(folder / "summary.txt", summary_text(analysis)))
    if analysis.bayes is not None:
        written.append(write_text_atomic(folder / "bayes.json", to_json(analysis.bayes.to_dict())))
    if analysis.leave_one_out is not None:
        written.append(
            write_text_atomic(
                folder / "leave_one_out.csv", frame_to_csv(analysis.leave_one_out.to_frame())
            )
        )
    if analysis.result is not None:
        from metafuse.pipeline.figures import analysis_figures

        written += analysis_figures(analysis, folder, records)
    return written


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
    analyses: list[Analysis], plan: Plan, out_dir: Path, related: list[RelatedPage]
) -> list[Path]:
    from metafuse.report.writers import render_table

    written = []
    for comparison, table in sof_tables(analyses, plan.records, related):
        for kind, stem in (("sof", "sof"), ("profile", "evidence_profile")):
            for fmt in FORMATS:
                path = out_dir / f"{stem}_{comparison}.{fmt}"
                written.append(write_bytes_atomic(path, render_table(table, kind, fmt)))
    return written


def _write_review_pages(
    analyses: list[Analysis], plan: Plan, out_dir: Path
) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """Write each review's harms profile and the pages that set published reviews beside ours.

    Returns the files written by kind (``harms``, ``published``), and the title of each HTML
    page (for the index and the SoF tables' pointers).
    """
    from metafuse.pipeline.harms import write_harms
    from metafuse.pipeline.replication_page import page_titles, write_published_reviews

    written: dict[str, list[Path]] = {"harms": [], "published": []}
    titles: dict[str, str] = {}
    for folder, records in plan.records.items():
        mine = [a for a in analyses if a.spec.studies == folder]
        harms = write_harms(records, out_dir)
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
        files.update(p for p in folder.iterdir() if p.is_file() and p.suffix in (".csv", ".toml"))
    return sorted(files)


def build(plan: Plan, out_dir: Path, progress: Progress | None = None) -> list[Path]:
    """Write every output of a plan into ``out_dir`` (which should be empty); return the files."""
    analyses = run_plan(plan, progress)
    written: list[Path] = []
    for analysis in analyses:
        records = plan.records.get(analysis.spec.studies) if analysis.spec.studies else None
        written += _write_analysis(analysis, out_dir / analysis.spec.name, records)
    pages, titles = _write_review_pages(analyses, plan, out_dir)
    written += _write_tables(analyses, plan, out_dir, related_pages(pages, titles, out_dir))
    written += [p for paths in pages.values() for p in paths]
    # keep last before the manifest: the site links every file written above
    written += build_site(analyses, out_dir, plan.records, title=plan.title, pages=titles)
    data = manifest(plan.root, inputs_of(plan), out_dir, written)
    written.append(write_text_atomic(out_dir / MANIFEST, to_json(data)))
    return written


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    ok = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return ok == 0


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt as SIGINT does.

    Within the block, SIGTERM raises KeyboardInterrupt as SIGINT does (so that ``finally`` clean-up
    runs); only in the main thread, where Python delivers signals.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove the staging (and swapped-out) folders of builds of ``out_dir`` that were killed.

    Remove the staging (and swapped-out) folders of builds of ``out_dir`` that were killed: those
    named after a process that no longer runs, and those without a process in their name (left by an
    earlier version). Returns the folders removed.
    """
    pattern = re.compile(rf"^\.{re.escape(out_dir.name)}\.(staging|old)-(?:(\d+)-)?")
    removed = []
    for path in out_dir.parent.glob(f".{out_dir.name}.*"):
        found = pattern.match(path.name)
        if found is None or not path.is_dir() or path.is_symlink():
            continue
        if found.group(2) is not None and _running(int(found.group(2))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder beside ``out_dir``: swapped in if the block succeeds, else removed.

    Also removed on SIGTERM; stale staging folders of killed builds are removed first.
    """
    out_dir = out_dir.absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_dir)
    prefix = f".{out_dir.name}.staging-{os.getpid()}-"
    stage = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
    try:
        yield stage
        os.chmod(stage, 0o777 & ~_umask())
        if out_dir.exists() and _exchange(stage, out_dir):
            shutil.rmtree(stage)
            return
        old = stage.with_name(stage.name.replace("staging", "old"))
        if out_dir.exists():
            os.rename(out_dir, old)
        os.rename(stage, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_all(
    spec_dir: Path, out_dir: Path, progress: Progress | None = None, plan: Plan | None = None
) -> list[Path]:
    """Run every analysis (automatic ones and the specs in ``spec_dir``) into ``out_dir``.

    Returns the files written (paths inside ``out_dir``). All specs are checked and fitted before
    ``out_dir`` changes; on any error it is left as it was. ``plan`` is ``make_plan(spec_dir)``
    when the caller has it already.
    """
    plan = make_plan(spec_dir) if plan is None else plan
    if not plan.specs and out_dir.is_dir() and any(out_dir.iterdir()):
        raise SpecError(
            f"{spec_dir}: nothing to build (no spec, and no studies/{FILE_NAME} beside it); "
            f"{out_dir} is left as it was"
        )
    with terminate_as_interrupt(), staging(out_dir) as stage:
        written = build(plan, stage, progress)
    return [out_dir / p.relative_to(stage) for p in written]


def verify(spec_dir: Path, results_dir: Path) -> list[str]:
    """Check ``results_dir`` against its manifest and recompute everything in a temporary folder.

    Returns the differences (empty when the results reproduce). Nothing is modified.
    """
    recorded, problems = read_manifest(results_dir / MANIFEST)
    if recorded is None or problems:
        return problems
    plan = make_plan(spec_dir)
    with tempfile.TemporaryDirectory() as tmp:
        build(plan, Path(tmp))
        fresh, _ = read_manifest(Path(tmp) / MANIFEST)
    assert fresh is not None
    return compare(recorded, plan.root, results_dir, fresh)
