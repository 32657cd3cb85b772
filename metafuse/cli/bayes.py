"""``metafuse bayes``: Bayesian random-effects meta-analysis of one study CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from metafuse.cli.common import emit, json_option, model_click_options, user_errors
from metafuse.model import MU_PRIORS, TAU_PRIORS

#: The model's options that make the effect sizes and set the level.
EFFECT_OPTIONS = ("measure", "convention", "level", "add", "to", "drop00")


def effect_options(func: Any) -> Any:
    """Add the model's options the command takes (:data:`EFFECT_OPTIONS`)."""
    for option in reversed(model_click_options(EFFECT_OPTIONS)):
        func = option(func)
    return func


@click.command("bayes")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@effect_options
@click.option(
    "--tau-prior",
    type=click.Choice(TAU_PRIORS),
    default=None,
    help="Prior on tau (default: half-normal(0.5) for log odds ratios; required otherwise).",
)
@click.option("--tau-scale", type=float, default=None, help="Scale of the tau prior.")
@click.option("--tau-df", type=float, default=None, help="Degrees of freedom (half-t).")
@click.option("--log-tau2-mean", type=float, default=None, help="log-normal: mean of log tau^2.")
@click.option("--log-tau2-sd", type=float, default=None, help="log-normal: SD of log tau^2.")
@click.option("--prior-outcome", default=None, help="turner/rhodes: the outcome type.")
@click.option("--prior-comparison", default=None, help="turner/rhodes: the comparison type.")
@click.option("--mu-prior", type=click.Choice(MU_PRIORS), default="flat")
@click.option("--mu-mean", type=float, default=0.0, show_default=True)
@click.option("--mu-sd", type=float, default=None, help="SD of a normal prior on mu.")
@click.option("--mid", type=float, default=None, help="Minimal important difference (> 0).")
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
    forest: Path | None,
    as_json: bool,
    output: str,
    **options: Any,
) -> None:
    """Bayesian random-effects meta-analysis of FILE (exact normal-normal model, no MCMC)."""
    from metafuse.bayes import bayes_pool
    from metafuse.cli.common import pool_kwargs
    from metafuse.data.csv import read_table
    from metafuse.exceptions import DataError
    from metafuse.pooling import compute_effects, model_of

    with user_errors():
        given = pool_kwargs({key: options.pop(key) for key in EFFECT_OPTIONS})
        model = model_of(**given)
        table = read_table(file)
        try:
            effects = compute_effects(table.frame, model)
        except DataError as err:
            raise table.locate(err) from None
        result = bayes_pool(effects, model=model, **options)
        if forest is not None:
            from metafuse.plots import save_plot
            from metafuse.plots.shrinkage import shrinkage_plot

            click.echo(str(save_plot(shrinkage_plot(result), forest)), err=True)
        emit(result.to_dict() if as_json else result, as_json, output)


COMMANDS = (bayes_command,)
