"""``metafuse bayes``: Bayesian random-effects meta-analysis of one study CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from metafuse.cli.common import emit, json_option, user_errors
from metafuse.measures import MEASURES


@click.command("bayes")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--measure", required=True, type=click.Choice(MEASURES, case_sensitive=False))
@click.option(
    "--tau-prior",
    type=click.Choice(["half-normal", "half-cauchy", "half-t", "log-normal", "turner", "rhodes"]),
    default=None,
    help="Prior on tau (default: half-normal(0.5) for log ratios; required otherwise).",
)
@click.option("--tau-scale", type=float, default=None, help="Scale of the tau prior.")
@click.option("--tau-df", type=float, default=None, help="Degrees of freedom (half-t).")
@click.option("--log-tau2-mean", type=float, default=None, help="log-normal: mean of log tau^2.")
@click.option("--log-tau2-sd", type=float, default=None, help="log-normal: SD of log tau^2.")
@click.option("--prior-outcome", default=None, help="turner/rhodes: the outcome type.")
@click.option("--prior-comparison", default=None, help="turner/rhodes: the comparison type.")
@click.option("--mu-prior", type=click.Choice(["flat", "normal"]), default="flat")
@click.option("--mu-mean", type=float, default=0.0, show_default=True)
@click.option("--mu-sd", type=float, default=None, help="SD of a normal prior on mu.")
@click.option("--mid", type=float, default=None, help="Minimal important difference (> 0).")
@click.option("--level", type=float, default=0.95, show_default=True)
@click.option(
    "--convention",
    default="metafuse",
    show_default=True,
    type=click.Choice(["metafuse", "metafor", "revman5", "revman-web"]),
    help="Effect-size conventions (zero cells, SMD correction).",
)
@click.option(
    "--forest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also draw the forest plot with shrunken estimates (.png, .svg, .pdf).",
)
@json_option
@click.option("-o", "--output", default="-", show_default=True, help="Output file, or -.")
def bayes_command(
    file: Path,
    measure: str,
    forest: Path | None,
    as_json: bool,
    output: str,
    convention: str,
    **options: Any,
) -> None:
    """Bayesian random-effects meta-analysis of FILE (exact normal-normal model, no MCMC)."""
    from metafuse.bayes import bayes_pool
    from metafuse.data.csv import read_table
    from metafuse.exceptions import DataError
    from metafuse.pooling import compute_effects

    with user_errors():
        table = read_table(file)
        try:
            effects = compute_effects(table.frame, measure, convention=convention)
        except DataError as err:
            raise table.locate(err) from None
        result = bayes_pool(effects, **options)
        if forest is not None:
            from metafuse.plots import save_plot
            from metafuse.plots.shrinkage import shrinkage_plot

            click.echo(str(save_plot(shrinkage_plot(result), forest)), err=True)
        emit(result.to_dict() if as_json else result, as_json, output)


COMMANDS = (bayes_command,)
