"""Each analysis's own outputs: from the cache when its key is there, else drawn (in parallel).

An analysis's own outputs are the files of its folder that :func:`write_analysis` writes
(``pooled.json``, ``summary.txt``, ``bayes.json``, ``leave_one_out.csv`` and the figures); its
``index.html`` links to the review's other pages and is written with them. The bytes do not
depend on where they were made: a cached file is the file a cold build writes, and a worker
process writes what the main process would. Workers are forked from the main process once the
plan is fitted (Linux), so that they start with everything imported and every analysis in memory;
the files are listed in the plan's order whatever order the workers finish in, and the first
error in that order is the one raised, as in a build without workers.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from metafuse.files import frame_to_csv, to_json, write_text_atomic
from metafuse.pipeline.cache import BuildCache
from metafuse.pipeline.keys import analysis_key
from metafuse.pipeline.plan import Plan
from metafuse.pipeline.run import Analysis
from metafuse.pipeline.summary import summary_text
from metafuse.review.records import StudyRecords

Progress = Callable[[str], None]

#: What the forked workers draw from: the analyses, the plan and the output folder (set by the
#: main process just before it forks them; a worker only reads it).
_WORK: tuple[Sequence[Analysis], Plan, Path] | None = None


def available_cpus() -> int:
    """Return the CPUs this process may run on (the default of ``--jobs``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def write_analysis(
    analysis: Analysis, folder: Path, records: StudyRecords | None = None
) -> list[Path]:
    """Write one analysis's own outputs into ``folder``; return the files, in writing order."""
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


def _write_nth(index: int) -> list[Path]:
    """Write the ``index``-th analysis of the forked work (in a worker process)."""
    assert _WORK is not None
    analyses, plan, out_dir = _WORK
    analysis = analyses[index]
    return write_analysis(analysis, out_dir / analysis.spec.name, plan.records_of(analysis.spec))


def _worker_signals() -> None:
    """Leave interrupts to the main process, which stops the build and cleans up (in a worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _draw_in_workers(
    analyses: Sequence[Analysis],
    plan: Plan,
    out_dir: Path,
    todo: list[int],
    jobs: int,
    done: Callable[[int, list[Path]], None],
    meanwhile: Callable[[], None],
) -> None:
    """Write the ``todo`` analyses in ``jobs`` forked processes; ``done`` each, in order.

    ``meanwhile`` runs in this process while the workers draw.
    """
    global _WORK
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from metafuse.plots.save import preload

    preload()  # imported once here, shared by every worker

    _WORK = (analyses, plan, out_dir)
    context = multiprocessing.get_context("fork")
    gc.freeze()  # the workers' collector leaves what they share alone: no copy-on-write of it
    pool = ProcessPoolExecutor(min(jobs, len(todo)), context, initializer=_worker_signals)
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns about forking a process with threads (numpy's BLAS pool, idle
            # here): the workers only draw and write files, and never call into BLAS threads.
            warnings.simplefilter("ignore", DeprecationWarning)
            futures = [(index, pool.submit(_write_nth, index)) for index in todo]
        meanwhile()
        for index, future in futures:
            done(index, future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
        _WORK = None


def cached_files(
    cache: BuildCache | None, key: str | None, folder: Path, write: Callable[[], list[Path]]
) -> list[Path]:
    """Return the files of one unit of outputs under ``folder``.

    From the cache under ``key`` (checked), else written by ``write()`` and stored (a unit
    without a key is always written).
    """
    if cache is None or key is None:
        return write()
    entry = cache.get(key)
    if entry is not None:
        return entry.write_into(folder)
    paths = write()
    cache.put(key, [(p.relative_to(folder).as_posix(), p) for p in paths])
    return paths


def write_analyses(
    analyses: Sequence[Analysis],
    plan: Plan,
    out_dir: Path,
    *,
    jobs: int = 1,
    cache: BuildCache | None = None,
    progress: Progress | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> list[Path]:
    """Write every analysis's own outputs into ``out_dir/<name>/``; return the files.

    With a ``cache``, an analysis whose key is in it is copied from it (its files checked first),
    and one drawn here is stored in it. ``jobs`` > 1 draws in that many processes (Linux), while
    this process runs ``meanwhile`` (other outputs that do not read these files); without
    workers ``meanwhile`` runs after the drawing. ``progress`` is called with each analysis's name
    once its files are written.
    """
    meanwhile = meanwhile or (lambda: None)
    keys: dict[int, str] = {}
    written: dict[int, list[Path]] = {}

    def done(index: int, paths: list[Path]) -> None:
        written[index] = paths
        name = analyses[index].spec.name
        if cache is not None and index in keys:
            cache.put(keys[index], [(p.relative_to(out_dir / name).as_posix(), p) for p in paths])
        if progress is not None:
            progress(name)

    todo: list[int] = []
    for index, analysis in enumerate(analyses):
        if cache is not None:
            selection = plan.selections.get(analysis.spec.name)
            key = analysis_key(analysis, selection, plan.records_of(analysis.spec))
            entry = None if key is None else cache.get(key)
            if entry is not None:
                done(index, entry.write_into(out_dir / analysis.spec.name))
                continue
            if key is not None:
                keys[index] = key
        todo.append(index)
    if jobs > 1 and len(todo) > 1 and sys.platform.startswith("linux"):
        _draw_in_workers(analyses, plan, out_dir, todo, jobs, done, meanwhile)
    else:
        for index in todo:
            analysis = analyses[index]
            folder = out_dir / analysis.spec.name
            done(index, write_analysis(analysis, folder, plan.records_of(analysis.spec)))
        meanwhile()
    return [path for index in range(len(analyses)) for path in written[index]]
