"""Commands on a review: ``init``, ``analysis``, ``validate``, ``gaps``, ``verify``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import click

from metafuse.cli.common import analyses_option, emit, json_option, user_errors

if TYPE_CHECKING:
    from metafuse.pipeline.cache import BuildCache

#: A project's folders: the records (review.toml and the CSV files) and the analysis specs.
RECORDS_FOLDER = "studies"
SPECS_FOLDER = "analyses"


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init_command(directory: Path) -> None:
    """Start a review in DIRECTORY.

    Start a review in DIRECTORY: studies/ (review.toml with every key explained, the CSV headers)
    and an empty analyses/. Never overwrites a file.
    """
    from metafuse.review.skeleton import write_skeleton

    records = directory / RECORDS_FOLDER
    try:
        written = write_skeleton(records, directory / SPECS_FOLDER)
    except (FileExistsError, OSError) as err:
        raise click.ClickException(str(err)) from None
    for path in written:
        click.echo(f"wrote {path}{'/' if path.is_dir() else ''}")
    click.echo(
        f"Next: edit {records / 'review.toml'}, add rows to the CSV files, then in "
        f"{directory}: metafuse validate, metafuse analysis (results/index.html)"
    )


@click.command("analysis")
@click.argument("spec_dir", default=SPECS_FOLDER, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that draw the figures [default: the CPUs available].",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Neither read nor write the build cache (.metafuse-cache/ beside --out).",
)
@json_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def analysis_command(
    spec_dir: Path, out_dir: Path, jobs: int | None, no_cache: bool, as_json: bool, quiet: bool
) -> None:
    """Run every analysis.

    Run every analysis (automatic ones and the specs in SPEC_DIR, which may be absent) of the
    records folders beside SPEC_DIR (each with its review.toml) into --out, atomically. Outputs
    whose inputs are unchanged since an earlier build are taken from the build cache, byte for
    byte what a build without it writes.
    """
    from metafuse.pipeline.cache import BuildCache, default_cache_dir
    from metafuse.pipeline.incremental import restore_unchanged

    cache = None if no_cache else BuildCache(default_cache_dir(out_dir))
    with user_errors():
        restored = restore_unchanged(spec_dir, out_dir, cache) if cache is not None else None
        if restored is not None:
            written, count = restored
        else:
            written, count = _build(spec_dir, out_dir, jobs, cache, not quiet and not as_json)
    if as_json:
        emit({"written": [str(p) for p in written]}, True)
    else:
        click.echo(f"{out_dir}: {len(written)} files ({count} analyses)")


def _build(
    spec_dir: Path, out_dir: Path, jobs: int | None, cache: BuildCache | None, show: bool
) -> tuple[list[Path], int]:
    """Plan and run the build with a progress bar; return the files written and the analyses."""
    from metafuse.pipeline.outputs import run_all
    from metafuse.pipeline.plan import make_plan
    from metafuse.pipeline.render import available_cpus

    plan = make_plan(spec_dir)
    count = len(plan.specs)
    with click.progressbar(
        length=count,
        label="analyses",
        file=None if show else cast(TextIO, _Null()),
        item_show_func=lambda x: x,
    ) as bar:

        def progress(name: str) -> None:
            bar.update(1, name)

        written = run_all(
            spec_dir, out_dir, progress, plan=plan, jobs=jobs or available_cpus(), cache=cache
        )
    return written, count


class _Null:
    """A file that swallows the progress bar."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@click.command("validate")
@click.argument("studies_dir", default=RECORDS_FOLDER, type=click.Path(path_type=Path))
@json_option
def validate_command(studies_dir: Path, as_json: bool) -> None:
    """Check the study records in STUDIES_DIR; list every problem as file:line: column: message."""
    from metafuse.review.records import validate_studies

    problems = validate_studies(studies_dir)
    errors = [p for p in problems if not p.warning]
    if as_json:
        emit(
            {
                "ok": not errors,
                "problems": [
                    {
                        "file": p.file,
                        "line": p.line,
                        "column": p.column,
                        "message": p.message,
                        "warning": p.warning,
                    }
                    for p in problems
                ],
            },
            True,
        )
    else:
        for problem in problems:
            click.echo(str(problem), err=True)
        if not errors:
            click.echo(f"{studies_dir}: OK")
    if errors:
        raise click.exceptions.Exit(1)


@click.command("gaps")
@click.argument("studies_dir", default=RECORDS_FOLDER, type=click.Path(path_type=Path))
@click.option(
    "--template",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one pre-filled outcomes.csv row per missing number to this CSV file, for a "
    "reviewer to fill and metafuse merge.",
)
@json_option
def gaps_command(studies_dir: Path, template: Path | None, as_json: bool) -> None:
    """Which trial x outcome x time point has data, is incomplete, missing, or weak."""
    from metafuse.review.gaps import format_gaps, gap_cells
    from metafuse.review.records import StudiesError, load_studies

    try:
        records = load_studies(studies_dir)
    except StudiesError as err:
        raise click.ClickException(
            f"{studies_dir} has problems; run metafuse validate\n{err}"
        ) from None
    rows = 0 if template is None else _write_template(records, template)
    if template is not None and not as_json:
        click.echo(
            f"{template}: {rows} rows to fill, then: metafuse merge {template} {studies_dir}"
        )
        return
    if as_json:
        emit(
            {
                **({} if template is None else {"template": str(template), "rows": rows}),
                "cells": [
                    {
                        "comparison": c.comparison,
                        "trial": c.trial,
                        "report_id": c.report_id,
                        "outcome": c.outcome,
                        "window": c.window,
                        "status": c.status,
                        "months": c.months,
                        "record_id": c.record_id,
                        "missing": list(c.missing),
                    }
                    for c in gap_cells(records)
                ],
            },
            True,
        )
    else:
        click.echo(format_gaps(records))


def _write_template(records: Any, path: Path) -> int:
    """Write the gap template atomically; never over one of the studies files."""
    from metafuse.files import write_text_atomic
    from metafuse.review.schema import FILES
    from metafuse.review.template import template_csv

    if path.resolve() in {records.path(name).resolve() for name in FILES}:
        raise click.ClickException(f"{path}: --template would overwrite a studies file")
    text, rows = template_csv(records)
    try:
        write_text_atomic(path, text)
    except OSError as err:
        raise click.ClickException(f"{path}: {err.strerror or err}") from None
    return int(rows)


@click.command("verify")
@analyses_option
@click.option(
    "--results",
    "results_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@json_option
def verify_command(spec_dir: Path, results_dir: Path, as_json: bool) -> None:
    """Recompute everything and compare with results/manifest.json (exit 1 on any difference).

    Recomputed without the build cache, figures drawn in as many processes as CPUs.
    """
    from metafuse.pipeline.outputs import verify
    from metafuse.pipeline.render import available_cpus

    with user_errors():
        problems = verify(spec_dir, results_dir, jobs=available_cpus())
    if as_json:
        emit({"ok": not problems, "problems": problems}, True)
    else:
        for problem in problems:
            click.echo(problem, err=True)
        if not problems:
            click.echo(f"{results_dir}: every output reproduces (manifest.json)")
    if problems:
        raise click.exceptions.Exit(1)


COMMANDS = (init_command, analysis_command, validate_command, gaps_command, verify_command)
