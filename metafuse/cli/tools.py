"""Toolbox commands: each pools FILE, then runs one toolbox function on the result."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from metafuse.cli.common import emit, json_option, model_options, user_errors
from metafuse.cli.model import fit

Tool = Callable[..., Any]


def _command(name: str, doc: str, run: Tool, *extra: Callable[[Any], Any]) -> click.Command:
    """Return a command that runs ``run(result, table)`` on FILE pooled with the model options."""

    def command(
        file: Path,
        measure: str,
        method: str | None,
        hksj: bool | None,
        as_json: bool,
        **options: Any,
    ) -> None:
        params = {key: options.pop(key) for key in list(options) if key.startswith("tool_")}
        with user_errors():
            result, table = fit(file, measure, method, hksj, options)
            try:
                value = run(result, table, **params)
            except Exception as err:
                from metafuse.exceptions import DataError

                if isinstance(err, DataError):
                    raise table.locate(err) from None
                raise
            emit(value, as_json)

    command.__doc__ = doc
    cmd: Any = command
    for option in reversed(extra):
        cmd = option(cmd)
    return click.command(name)(model_options(json_option(cmd)))


def _tool(module: str, attr: str, table: bool = False) -> Tool:
    """Run ``module.attr`` on the result; print its table (``table``) or its ``to_dict()``."""

    def run(result: Any, _table: Any, **params: Any) -> Any:
        found = getattr(importlib.import_module(module), attr)(result)
        return found.to_frame() if table else found.to_dict()

    return run


def _trim_and_fill(result: Any, table: Any, tool_estimator: str) -> Any:
    from metafuse.toolbox.trimfill import trim_and_fill

    return trim_and_fill(result, estimator=tool_estimator).to_dict()


def _subgroup(result: Any, table: Any, tool_by: str) -> Any:
    from metafuse.toolbox.subgroups import subgroup

    return subgroup(result, by=tool_by, groups=_groups(result, table, tool_by)).to_dict()


def _groups(result: Any, table: Any, column: str) -> dict[str, str]:
    from metafuse.toolbox.metareg import moderator_rows

    rows = moderator_rows(result, table.frame, [column])
    labels = [s.study for s in result.studies if s.yi is not None]
    return dict(zip(labels, rows[column].astype(str), strict=True))


def _meta_regression(result: Any, table: Any, tool_moderator: tuple[str, ...]) -> Any:
    from metafuse.toolbox.metareg import meta_regression

    fit = meta_regression(
        result, moderators=list(tool_moderator), hksj=result.hksj, covariates=table.frame
    )
    # the command's JSON keeps its key "knha" for the adjustment (the library says hksj)
    return {
        ("knha" if key == "hksj" else key): value
        for key, value in fit.to_dict().items()
        if key != "vcov"
    }


def _permutest(
    result: Any, table: Any, tool_moderator: tuple[str, ...], tool_iterations: int, tool_seed: int
) -> Any:
    from metafuse.toolbox.permutation import permutation_test

    return permutation_test(
        result,
        moderators=list(tool_moderator),
        covariates=table.frame,
        iterations=tool_iterations,
        seed=tool_seed,
    ).to_dict()


def _gosh(result: Any, table: Any, tool_output: str | None, tool_study: str | None) -> Any:
    from metafuse.plots import save_plot
    from metafuse.plots.gosh import gosh_plot
    from metafuse.toolbox.gosh import gosh

    found = gosh(result)
    if tool_output:
        save_plot(gosh_plot(found, study=tool_study, scale=result.display_scale), tool_output)
    return found.to_dict()


COMMANDS = (
    _command(
        "leave-one-out",
        "Refit without each study in turn (metafor's leave1out).",
        _tool("metafuse.toolbox.sensitivity", "leave_one_out", table=True),
    ),
    _command(
        "cumulative",
        "Cumulative meta-analysis adding studies in file order (metafor's cumul).",
        _tool("metafuse.toolbox.sensitivity", "cumulative", table=True),
    ),
    _command(
        "influence",
        "Influence diagnostics: rstudent, DFFITS, Cook's distance, ... (metafor's influence).",
        _tool("metafuse.toolbox.influence", "influence", table=True),
    ),
    _command(
        "egger",
        "Egger's regression test for funnel-plot asymmetry (use with 10 or more studies).",
        _tool("metafuse.toolbox.bias", "egger_test"),
    ),
    _command(
        "peters",
        "Peters' regression test for binary outcomes (use with 10 or more studies).",
        _tool("metafuse.toolbox.bias", "peters_test"),
    ),
    _command(
        "rank-test",
        "Begg and Mazumdar's rank correlation test (use with 10 or more studies).",
        _tool("metafuse.toolbox.bias", "rank_test"),
    ),
    _command(
        "trim-and-fill",
        "Duval and Tweedie's trim-and-fill (metafor's trimfill).",
        _trim_and_fill,
        click.option(
            "--estimator",
            "tool_estimator",
            default="L0",
            show_default=True,
            type=click.Choice(["L0", "R0"]),
        ),
    ),
    _command(
        "subgroup",
        "Subgroup estimates and the test for subgroup differences.",
        _subgroup,
        click.option(
            "--by", "tool_by", required=True, help="Column holding each study's subgroup."
        ),
    ),
    _command(
        "meta-regression",
        "Mixed-effects meta-regression; --hksj applies the Knapp-Hartung adjustment.",
        _meta_regression,
        click.option(
            "--moderator",
            "tool_moderator",
            multiple=True,
            required=True,
            help="Moderator column (repeat).",
        ),
    ),
    _command(
        "permutest",
        "Permutation test of the pooled effect, or of a meta-regression with "
        "--moderator (metafor's permutest; exact when feasible).",
        _permutest,
        click.option(
            "--moderator",
            "tool_moderator",
            multiple=True,
            help="Moderator column (repeat); none: test the pooled effect.",
        ),
        click.option(
            "--iterations",
            "tool_iterations",
            default=1000,
            show_default=True,
            type=click.IntRange(2, 1_000_000),
            help="Random permutations when an exact test is not feasible.",
        ),
        click.option("--seed", "tool_seed", default=20261123, show_default=True, type=int),
    ),
    _command(
        "gosh",
        "GOSH: the model fitted to every subset of studies (random subsets beyond "
        "20 studies); -o writes the GOSH plot.",
        _gosh,
        click.option(
            "-o",
            "--output",
            "tool_output",
            default=None,
            help="GOSH plot file (.png, .svg or .pdf).",
        ),
        click.option(
            "--study",
            "tool_study",
            default=None,
            help="Study to highlight (default: the most influential).",
        ),
    ),
)
