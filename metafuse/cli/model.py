"""Commands that pool one study CSV: ``pool``, ``forest``, ``funnel``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from metafuse.cli.common import emit, json_option, model_options, pool_kwargs, read_and_pool
from metafuse.cli.common import user_errors as _errors

output_option = click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .png (300 dpi), .svg or .pdf.",
)


def fit(
    file: Path, measure: str, method: str | None, hksj: bool | None, options: dict[str, Any]
) -> Any:
    """Pool FILE with the command-line options (errors located in the file)."""
    return read_and_pool(file, measure, method, hksj, **pool_kwargs(options))


@click.command("pool")
@model_options
@json_option
@click.option(
    "-o", "--output", default="-", show_default=True, help="Output file, or - for stdout."
)
def pool_command(
    file: Path,
    measure: str,
    method: str | None,
    hksj: bool | None,
    as_json: bool,
    output: str,
    **options: Any,
) -> None:
    """Pool the studies in FILE and print a summary (or JSON: the to_dict() contract)."""
    with _errors():
        result, _ = fit(file, measure, method, hksj, options)
        emit(result.to_dict() if as_json else result, as_json, output)


@click.command("forest")
@model_options
@output_option
@click.option(
    "--order",
    type=click.Choice(["year", "weight", "effect"]),
    default=None,
    help="Order studies by year (in the label), weight or effect.",
)
@click.option("--fixed", is_flag=True, help="Also show the fixed-effect diamond.")
@click.option("--no-prediction", is_flag=True, help="Hide the prediction interval.")
@click.option("--label-exp", default="Experimental", show_default=True)
@click.option("--label-ctrl", default="Control", show_default=True)
@click.option("--favours-exp", default=None, help="Left label under the axis.")
@click.option("--favours-ctrl", default=None, help="Right label under the axis.")
@click.option(
    "--subgroup",
    "subgroup_column",
    default=None,
    help="Column of FILE holding each study's subgroup.",
)
@click.option("--title", default=None)
def forest_command(
    file: Path,
    measure: str,
    method: str | None,
    hksj: bool | None,
    output: Path,
    order: str | None,
    fixed: bool,
    no_prediction: bool,
    label_exp: str,
    label_ctrl: str,
    favours_exp: str | None,
    favours_ctrl: str | None,
    subgroup_column: str | None,
    title: str | None,
    **options: Any,
) -> None:
    """Draw a forest plot (RevMan layout) of the studies in FILE."""
    from metafuse.plots import forest_plot, save_plot
    from metafuse.toolbox.metareg import moderator_rows

    with _errors():
        result, table = fit(file, measure, method, hksj, options)
        subgroups = None
        if subgroup_column:
            rows = moderator_rows(result, table.frame, [subgroup_column])
            subgroups = dict(
                zip(
                    [s.study for s in result.studies if s.yi is not None],
                    rows[subgroup_column].astype(str),
                    strict=True,
                )
            )
        plot = forest_plot(
            result,
            order=order,
            subgroups=subgroups,
            fixed=fixed,
            prediction=not no_prediction,
            label_exp=label_exp,
            label_ctrl=label_ctrl,
            favours_exp=favours_exp,
            favours_ctrl=favours_ctrl,
            title=title,
        )
        click.echo(str(save_plot(plot, output)))


@click.command("funnel")
@model_options
@output_option
@click.option("--title", default=None)
def funnel_command(
    file: Path,
    measure: str,
    method: str | None,
    hksj: bool | None,
    output: Path,
    title: str | None,
    **options: Any,
) -> None:
    """Draw a contour-enhanced funnel plot of the studies in FILE."""
    from metafuse.plots import funnel_plot, save_plot

    with _errors():
        result, _ = fit(file, measure, method, hksj, options)
        click.echo(str(save_plot(funnel_plot(result, title=title), output)))


COMMANDS = (pool_command, forest_command, funnel_command)
