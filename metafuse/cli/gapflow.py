"""Commands of the gap-filling workflow.

``merge`` (a filled gap template into outcomes.csv) and ``reconcile`` (two independent extractions).
``gaps --template`` writes the template (:mod:`metafuse.cli.review`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from metafuse.cli.common import emit, json_option


def _problem(p: Any) -> dict[str, Any]:
    return {
        "file": p.file,
        "line": p.line,
        "column": p.column,
        "message": p.message,
        "warning": p.warning,
    }


def _change_text(change: Any, merge: Any) -> str:
    arm = f" ({change.arm})" if change.arm else ""
    where = f"{merge.template}:{change.template_line}"
    if change.outcomes_line is None:
        return f"add {change.record_id}{arm} from {where}"
    replaced = f"; also changes {', '.join(change.replaced)}" if change.replaced else ""
    return (
        f"fill {merge.outcomes}:{change.outcomes_line} {change.record_id}{arm}: "
        f"{', '.join(change.filled)} from {where}{replaced}"
    )


@click.command("merge")
@click.argument("template", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("studies_dir", default="studies", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and show what would change; write nothing.")
@json_option
def merge_command(template: Path, studies_dir: Path, dry_run: bool, as_json: bool) -> None:
    """Merge a filled gap template (metafuse gaps --template) into STUDIES_DIR/outcomes.csv.

    Empty rows stay gaps; every filled row needs its source_id, location and quote. The merged
    records are checked as metafuse validate checks them; outcomes.csv is written (atomically)
    only when there is no problem, and never with --dry-run.
    """
    from metafuse.review.merge import plan_merge, write_merge

    merge = plan_merge(template, studies_dir)
    errors = merge.errors
    written = None
    if not errors and merge.changes and not dry_run:
        try:
            written = write_merge(merge)
        except (ValueError, OSError) as err:
            raise click.ClickException(str(err)) from None
    if as_json:
        emit(
            {
                "ok": not errors,
                "dry_run": dry_run,
                "changes": [_change_text(c, merge) for c in merge.changes],
                "left_as_gaps": merge.skipped,
                "problems": [_problem(p) for p in merge.problems],
                "written": None if written is None else str(written),
            },
            True,
        )
    else:
        for p in merge.problems:
            click.echo(str(p), err=True)
        if not errors:
            for change in merge.changes:
                click.echo(("would " if dry_run else "") + _change_text(change, merge))
            click.echo(_summary(merge, dry_run, written))
    if errors:
        if not as_json:
            click.echo(
                f"Error: nothing merged ({len(errors)} problem{'s' * (len(errors) != 1)}); "
                f"{merge.outcomes} unchanged",
                err=True,
            )
        raise click.exceptions.Exit(1)


def _summary(merge: Any, dry_run: bool, written: Path | None) -> str:
    added = sum(c.outcomes_line is None for c in merge.changes)
    counts = (
        f"{added} rows added, {len(merge.changes) - added} rows filled, "
        f"{merge.skipped} template rows left as gaps"
    )
    if not merge.changes:
        return f"nothing to merge: {counts}"
    if dry_run:
        return f"dry run: {counts}; {merge.outcomes} not changed"
    return f"{counts}; {written} written (run metafuse gaps to see what is left)"


@click.command("reconcile")
@click.argument("a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--ignore", multiple=True, metavar="COLUMN", help="A column not to compare (repeatable)."
)
@json_option
def reconcile_command(a: Path, b: Path, ignore: tuple[str, ...], as_json: bool) -> None:
    """Compare two independent extractions A and B (outcomes.csv layout) record by record.

    Lists each disagreement by record id and column, and the rows only one file has. Exit code 0
    when they agree, 1 when they differ, 2 when a file cannot be read.
    """
    from metafuse.exceptions import MetafuseError
    from metafuse.review.reconcile import format_reconciliation, reconcile

    try:
        result = reconcile(a, b, ignore)
    except MetafuseError as err:
        click.echo(f"Error: {err}", err=True)
        raise click.exceptions.Exit(2) from None
    if as_json:
        emit(
            {
                "agree": result.agree,
                "a": result.a,
                "b": result.b,
                "disagreements": [
                    {
                        "record_id": d.record_id,
                        "arm": d.arm or None,
                        "column": d.column,
                        "a": d.a,
                        "b": d.b,
                        "line_a": d.line_a,
                        "line_b": d.line_b,
                    }
                    for d in result.disagreements
                ],
                "only_in_a": [
                    {"record_id": r, "arm": m or None, "line": n} for r, m, n in result.only_a
                ],
                "only_in_b": [
                    {"record_id": r, "arm": m or None, "line": n} for r, m, n in result.only_b
                ],
                "columns_only_in_a": list(result.columns_only_a),
                "columns_only_in_b": list(result.columns_only_b),
            },
            True,
        )
    else:
        click.echo(format_reconciliation(result))
    if not result.agree:
        raise click.exceptions.Exit(1)


COMMANDS = (merge_command, reconcile_command)
