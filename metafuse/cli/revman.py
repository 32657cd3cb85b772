"""The ``metafuse revman`` commands: import, export and check RevMan 5 reviews.

``metafuse revman``: RevMan 5 interchange (``import`` a review, ``export`` an analysis, and
``check`` that a review's stored results are reproduced).
"""

from __future__ import annotations

from pathlib import Path

import click

from metafuse.cli.common import analyses_option, emit, json_option, user_errors


@click.group("revman")
def revman_group() -> None:
    """RevMan 5 interchange: import .rm5 reviews, export analyses in RevMan's CSV layout."""


@revman_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for one CSV and one spec per outcome (e.g. analyses).",
)
@click.option("--force", is_flag=True, help="Replace files of the same names in --out.")
@json_option
def import_command(file: Path, out_dir: Path, force: bool, as_json: bool) -> None:
    """Write one study CSV and one analysis spec per outcome of the RevMan 5 FILE.

    Write one study CSV and one analysis spec per outcome of the RevMan 5 FILE (.rm5), named after
    the outcome IDs (safe names only, never outside --out; existing files are kept unless --force).
    """
    from metafuse.revman.interchange import import_rm5

    with user_errors():
        written = import_rm5(file, out_dir, force=force)
    if as_json:
        emit({"written": [str(p) for p in written]}, True)
    else:
        for path in written:
            click.echo(str(path))


@revman_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def check_command(file: Path, as_json: bool) -> None:
    """Pool every outcome of FILE with its RevMan settings; compare with RevMan's numbers.

    Pool every outcome of FILE with its RevMan settings and set each number beside the one RevMan
    stored (largest absolute difference per outcome).
    """
    from metafuse.exceptions import DataError
    from metafuse.revman import read_rm5
    from metafuse.revman.pooling import compare

    rows = []
    with user_errors():
        outcomes = read_rm5(file, skip_unsupported=True)
        if not outcomes:
            raise DataError("no analyses to check (no outcome under ANALYSES_AND_DATA)",
                            source=str(file))  # fmt: skip
        for outcome in outcomes:
            stored = outcome.stored
            if not (stored.estimable and stored.estimate is not None) or outcome.data.empty:
                continue
            if outcome.settings.get("totals") == "SUB":
                continue
            checked = compare(outcome.pool(), stored)
            worst = max(checked, key=lambda a: abs(a.difference))
            rows.append(
                {
                    "outcome": outcome.id,
                    "name": outcome.name,
                    "numbers": len(checked),
                    "largest_difference": abs(worst.difference),
                    "at": worst.quantity,
                }
            )
        if not rows:
            raise DataError("nothing to check: no outcome holds both study data and RevMan's "
                            "stored results", source=str(file))  # fmt: skip
    import pandas as pd

    emit(rows if as_json else pd.DataFrame(rows), as_json)


@revman_group.command("export")
@click.argument("analysis")
@analyses_option
@click.option("-o", "--output", default="-", show_default=True, help="CSV file, or - for stdout.")
@click.option("--label-exp", default="Experimental", show_default=True)
@click.option("--label-ctrl", default="Control", show_default=True)
def export_command(
    analysis: str, spec_dir: Path, output: str, label_exp: str, label_ctrl: str
) -> None:
    """Write ANALYSIS as CSV in RevMan 5's layout.

    Write ANALYSIS (a name from `metafuse analysis`, e.g. A_mortality_1y) as CSV in RevMan 5's
    layout: outcome totals, subgroups and study rows with their data and weights.
    """
    from metafuse.files import write_text_atomic
    from metafuse.pipeline.plan import make_plan
    from metafuse.pipeline.run import run_analysis
    from metafuse.pooling import refit
    from metafuse.revman.interchange import revman_csv

    with user_errors():
        plan = make_plan(spec_dir)
        specs = {s.name: s for s in plan.specs}
        if analysis not in specs:
            raise click.ClickException(
                f"no analysis {analysis!r} in {spec_dir} (analyses: {', '.join(sorted(specs))})"
            )
        spec = specs[analysis]
        records = plan.records_of(spec)
        fitted = run_analysis(spec, plan.selections.get(spec.name), records)
        if fitted.result is None:
            raise click.ClickException(f"{analysis}: no study has data to pool")
        subgroups = []
        test = None
        if fitted.subgroups:
            for group in sorted(set(fitted.subgroups.values())):
                labels = {s for s, g in fitted.subgroups.items() if g == group}
                effects = fitted.result.effects
                assert effects is not None
                keep = [label in labels for label in effects.labels]
                subgroups.append((group, refit(fitted.result, keep)))
            if fitted.subgroup_test is not None:
                q, p = fitted.subgroup_test.Q_between, fitted.subgroup_test.Q_between_pval
                df = fitted.subgroup_test.Q_between_df
                test = {"Q": q, "P": p, "I2": max(0.0, 100 * (q - df) / q) if q > 0 else 0.0}
        comparison = "Comparison"
        if records is not None and spec.comparison in records.review.comparisons:
            declared = records.review.comparisons[str(spec.comparison)]
            comparison = declared.label
            if (label_exp, label_ctrl) == ("Experimental", "Control"):  # the defaults
                label_exp, label_ctrl = declared.experimental, declared.control
        text = revman_csv(
            fitted.result,
            name=spec.title,
            comparison=comparison,
            subgroups=subgroups,
            group_labels=(label_exp, label_ctrl),
            subgroup_test=test,
        )
        if output == "-":
            click.echo(text, nl=False)
        else:
            write_text_atomic(Path(output), text)
            click.echo(output, err=True)


COMMANDS = (revman_group,)
