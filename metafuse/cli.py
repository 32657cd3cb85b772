"""Command-line interface (``metafuse``, ``python -m metafuse``): a thin wrapper over the library.

Errors in the input are printed as one line naming the file, row and column, with exit code 1;
never a traceback.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from metafuse._version import __version__
from metafuse.exceptions import DataError, MetafuseError
from metafuse.io import locate, read_table, to_json
from metafuse.measures import MEASURES, METHODS
from metafuse.pooling import pool

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one-line messages (exit 1) and warnings into 'warning:' lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (MetafuseError, ValueError) as err:
            _echo_warnings(caught)
            raise click.ClickException(str(err)) from None
    _echo_warnings(caught)


def _echo_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)


def _model_options(func: F) -> F:
    """Options shared by every command that fits a model to one CSV."""
    options = [
        click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option(
            "--measure",
            required=True,
            type=click.Choice(MEASURES, case_sensitive=False),
            help="Effect measure.",
        ),
        click.option(
            "--method",
            default="REML",
            show_default=True,
            type=click.Choice(METHODS, case_sensitive=False),
            help="FE/EE, MH, PETO, or a random-effects tau^2 estimator.",
        ),
        click.option("--hksj", is_flag=True, help="Hartung-Knapp-Sidik-Jonkman adjustment."),
        click.option(
            "--add",
            default=0.5,
            show_default=True,
            type=float,
            help="Continuity correction added to 2x2 cells.",
        ),
        click.option(
            "--to",
            "to",
            default="only0",
            show_default=True,
            type=click.Choice(["only0", "all", "if0all", "none"]),
            help="Which 2x2 tables get the correction.",
        ),
        click.option(
            "--drop00/--keep00",
            default=None,
            help="Drop double-zero studies (default: yes for RR/OR, no for RD).",
        ),
        click.option(
            "--ratio",
            is_flag=True,
            help="GEN rows given as estimate/CI are ratios (log-transformed).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def fit_file(file: Path, measure: str, method: str, hksj: bool, **options: Any):
    """Read a study CSV and pool it; data errors are located in the file."""
    frame = read_table(file)
    try:
        return pool(frame, measure, method, hksj, **options)
    except DataError as err:
        raise locate(err, frame) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="metafuse")
def main() -> None:
    """metafuse: meta-analysis of study CSVs, validated against R metafor."""


@main.command("pool")
@_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (to_dict()).")
def pool_command(
    file: Path, measure: str, method: str, hksj: bool, as_json: bool, **options: Any
) -> None:
    """Pool the studies in FILE and print a summary (or JSON)."""
    with _user_errors():
        result = fit_file(file, measure, method, hksj, **options)
    click.echo(to_json(result.to_dict()) if as_json else str(result), nl=not as_json)


@main.command("analysis")
@click.argument(
    "spec_dir", default="analyses", type=click.Path(file_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--out",
    "out_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder.",
)
def analysis_command(spec_dir: Path, out_dir: Path) -> None:
    """Run every analysis spec (*.toml) in SPEC_DIR and write results to --out."""
    from metafuse.analysis import run_all

    with _user_errors():
        for path in run_all(spec_dir, out_dir):
            click.echo(str(path))


@main.command("validate")
@click.argument("studies_dir", default="studies", type=click.Path(path_type=Path))
def validate_command(studies_dir: Path) -> None:
    """Check the study records in STUDIES_DIR (default: studies/); list every problem."""
    from metafuse.studies import validate_studies

    problems = validate_studies(studies_dir)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(f"{studies_dir}: OK")


@main.command("gaps")
@click.argument("studies_dir", default="studies", type=click.Path(path_type=Path))
def gaps_command(studies_dir: Path) -> None:
    """Report which trial x outcome x time point has data, is missing, or rests on a weak source."""
    from metafuse.evidence import format_gaps
    from metafuse.studies import StudiesError, load_studies

    try:
        records = load_studies(studies_dir)
    except StudiesError as err:
        raise click.ClickException(
            f"{studies_dir} has problems; run metafuse validate\n{err}"
        ) from None
    click.echo(format_gaps(records))


output_option = click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .png (300 dpi), .svg or .pdf.",
)


@main.command("forest")
@_model_options
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
    method: str,
    hksj: bool,
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

    with _user_errors():
        result = fit_file(file, measure, method, hksj, **options)
        subgroups = None
        if subgroup_column:
            frame = read_table(file)
            if subgroup_column not in frame.columns:
                raise DataError(
                    f"no column {subgroup_column!r}", source=str(file), column=subgroup_column
                )
            subgroups = dict(
                zip(
                    frame["study"].astype(str).str.strip(),
                    frame[subgroup_column].fillna("(none)"),
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


@main.command("funnel")
@_model_options
@output_option
@click.option("--title", default=None)
def funnel_command(
    file: Path,
    measure: str,
    method: str,
    hksj: bool,
    output: Path,
    title: str | None,
    **options: Any,
) -> None:
    """Draw a contour-enhanced funnel plot of the studies in FILE."""
    from metafuse.plots import funnel_plot, save_plot

    with _user_errors():
        result = fit_file(file, measure, method, hksj, **options)
        click.echo(str(save_plot(funnel_plot(result, title=title), output)))


def _emit(value: Any, as_json: bool) -> None:
    """Print a DataFrame or dict as a readable table, or as JSON."""
    import pandas as pd

    if as_json:
        payload = value.to_dict(orient="records") if isinstance(value, pd.DataFrame) else value
        click.echo(to_json(payload), nl=False)
    elif isinstance(value, pd.DataFrame):
        click.echo(value.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    else:
        for key, item in value.items():
            click.echo(f"{key}: {item}")


def _run_tool(file: Path, as_json: bool, options: dict[str, Any], run: Callable[..., Any]) -> None:
    """Read FILE, run one toolbox function on it, print the result; errors located in FILE."""
    if options.get("drop00") is None:
        options.pop("drop00", None)
    with _user_errors():
        frame = read_table(file)
        try:
            value = run(frame, options)
        except DataError as err:
            raise locate(err, frame) from None
    _emit(value, as_json)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _register_tool(name: str, module: str, attr: str, with_model: bool, doc: str) -> None:
    """A CLI command running ``module.attr`` on FILE: ``(data, measure, method, hksj, **opts)``
    when ``with_model``, else ``(data, measure, **opts)``."""

    def command(file, measure, method, hksj, as_json, **options) -> None:
        import importlib

        func = getattr(importlib.import_module(module), attr)
        args = (measure, method, hksj) if with_model else (measure,)
        _run_tool(file, as_json, options, lambda f, o: func(f, *args, **o))

    command.__doc__ = doc
    main.command(name)(_model_options(json_option(command)))


for _name, _module, _attr, _with_model, _doc in (
    (
        "leave-one-out",
        "metafuse.sensitivity",
        "leave_one_out",
        True,
        "Refit without each study in turn (metafor's leave1out).",
    ),
    (
        "cumulative",
        "metafuse.sensitivity",
        "cumulative",
        True,
        "Cumulative meta-analysis adding studies in file order (metafor's cumul).",
    ),
    (
        "influence",
        "metafuse.sensitivity",
        "influence",
        True,
        "Influence diagnostics: rstudent, DFFITS, Cook's distance, ... (metafor's influence).",
    ),
    (
        "egger",
        "metafuse.bias",
        "egger_test",
        False,
        "Egger's regression test for funnel-plot asymmetry (use with 10 or more studies).",
    ),
    (
        "peters",
        "metafuse.bias",
        "peters_test",
        False,
        "Peters' regression test for binary outcomes (use with 10 or more studies).",
    ),
    (
        "rank-test",
        "metafuse.bias",
        "rank_test",
        False,
        "Begg and Mazumdar's rank correlation test (use with 10 or more studies).",
    ),
):
    _register_tool(_name, _module, _attr, _with_model, _doc)


@main.command("trim-and-fill")
@_model_options
@json_option
@click.option("--estimator", type=click.Choice(["L0", "R0"]), default="L0", show_default=True)
def trim_and_fill_command(file, measure, method, hksj, as_json, estimator, **options) -> None:
    """Duval and Tweedie's trim-and-fill (metafor's trimfill)."""
    from metafuse.bias import trim_and_fill

    _run_tool(
        file,
        as_json,
        options,
        lambda f, o: trim_and_fill(f, measure, method, estimator, **o).to_dict(),
    )


@main.command("subgroup")
@_model_options
@json_option
@click.option("--by", required=True, help="Column holding each study's subgroup.")
def subgroup_command(file, measure, method, hksj, as_json, by, **options) -> None:
    """Subgroup estimates and the test for subgroup differences."""
    from metafuse.regression import subgroup

    _run_tool(file, as_json, options, lambda f, o: subgroup(f, measure, method, by, **o))


@main.command("meta-regression")
@_model_options
@json_option
@click.option("--moderator", multiple=True, required=True, help="Moderator column (repeat).")
def meta_regression_command(file, measure, method, hksj, as_json, moderator, **options) -> None:
    """Mixed-effects meta-regression; --hksj applies the Knapp-Hartung adjustment."""
    from metafuse.regression import meta_regression

    _run_tool(
        file,
        as_json,
        options,
        lambda f, o: meta_regression(f, measure, method, list(moderator), knha=hksj, **o),
    )


@main.command("verify")
@click.option(
    "--analyses",
    "spec_dir",
    default="analyses",
    show_default=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
)
@click.option(
    "--results",
    "results_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
def verify_command(spec_dir: Path, results_dir: Path) -> None:
    """Recompute everything and compare with results/manifest.json (exit 1 on any difference)."""
    from metafuse.analysis import verify

    with _user_errors():
        problems = verify(spec_dir, results_dir)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(f"{results_dir}: every output reproduces (manifest.json)")
