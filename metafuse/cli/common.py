"""What every command shares.

Turning library errors into one-line messages, reading a study CSV, the options of a model, and
printing results as text or JSON (to a file or stdout).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from metafuse.exceptions import DataError, MetafuseError
from metafuse.model_options import option_infos

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def user_errors() -> Iterator[None]:
    """Library errors as one-line messages (exit 1); warnings as 'warning:' lines on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (MetafuseError, ValueError) as err:
            echo_warnings(caught)
            raise click.ClickException(str(err)) from None
        except OSError as err:
            echo_warnings(caught)
            where = f"{err.filename}: " if err.filename else ""
            raise click.ClickException(f"{where}{err.strerror or err}") from None
    echo_warnings(caught)


def echo_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print caught warnings as 'warning: ...' lines on stderr."""
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)


def read_and_pool(
    file: Path, measure: str, method: str | None, hksj: bool | None, **options: Any
) -> Any:
    """Read a study CSV and pool it; data errors are located in the file."""
    from metafuse.data.csv import read_table
    from metafuse.pooling import pool

    table = read_table(file)
    try:
        return pool(table.frame, measure, method, hksj, **options), table
    except DataError as err:
        raise table.locate(err) from None


def model_click_options(names: Collection[str] | None = None) -> list[Callable[[F], F]]:
    """Return the click options of the model's options (all, or those in ``names``).

    Generated from the fields of :class:`~metafuse.model.Model` (their help text and choices);
    each defaults to None (not given: the convention's default). ``--measure`` is required.
    """
    out = []
    for info in option_infos("cli"):
        if names is not None and info.name not in names:
            continue
        flag = "--" + info.name.replace("_", "-")
        if info.kind == "flag":
            off = info.off or f"--no-{info.name.replace('_', '-')}"
            out.append(click.option(f"{flag}/{off}", info.name, default=None, help=info.help))
        elif info.kind == "choice":
            out.append(
                click.option(
                    flag,
                    info.name,
                    default=None,
                    required=info.name == "measure",
                    type=click.Choice(info.choices, case_sensitive=False),
                    help=info.help,
                )
            )
        else:
            out.append(click.option(flag, info.name, default=None, type=float, help=info.help))
    return out


def model_options(func: F) -> F:
    """Options shared by every command that fits a model to one CSV.

    FILE, the model's options (:func:`model_click_options`) and ``--ratio`` (a description of the
    data: GEN rows given as estimate and CI are ratios).
    """
    options = [
        click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
        *model_click_options(),
        click.option(
            "--ratio",
            is_flag=True,
            help="GEN rows given as estimate/CI are ratios (log-transformed).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def pool_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """Return the pool() options given on the command line.

    Unset ones are left to the convention; an explicit False (e.g. --keep00) is kept.
    """
    return {k: v for k, v in options.items() if v is not None}


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")

analyses_option = click.option(
    "--analyses",
    "spec_dir",
    default="analyses",
    show_default=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of analysis specs (the review's root is its parent).",
)


def emit(value: Any, as_json: bool, output: str | None = None) -> None:
    """Print a result, DataFrame or dict as a readable table or as JSON.

    Print a result, DataFrame or dict as a readable table or as JSON (to ``output``; '-' or None is
    stdout).
    """
    import pandas as pd

    from metafuse.files import to_json, write_text_atomic

    if as_json:
        payload = value.to_dict(orient="records") if isinstance(value, pd.DataFrame) else value
        text = to_json(_json_safe(payload))
    elif isinstance(value, pd.DataFrame):
        text = value.to_string(index=False, float_format=lambda x: f"{x:.4f}") + "\n"
    elif isinstance(value, dict):
        text = "".join(f"{key}: {item}\n" for key, item in value.items())
    else:
        text = f"{value}\n"
    if output in (None, "-"):
        click.echo(text, nl=False)
    else:
        write_text_atomic(Path(str(output)), text)
        click.echo(str(output), err=True)


def _json_safe(value: Any) -> Any:
    """Nan and infinities as None, numpy scalars as Python numbers (JSON has no NaN)."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
