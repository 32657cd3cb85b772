"""Command-line interface (``metafuse``, ``python -m metafuse``): a thin shell over the library.

Errors are printed as one line naming the file, row and column (or spec key), with exit code 1;
never a traceback. An unexpected failure is one line too, with exit code 2
(``METAFUSE_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from metafuse._version import __version__
from metafuse.cli import bayes, gapflow, model, review, revman, tools
from metafuse.exceptions import MissingExtraError


class _Group(click.Group):
    """The command group, with one-line errors for anything the commands did not catch."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except MissingExtraError as err:  # an optional dependency: one line naming the extra
            raise click.ClickException(str(err)) from None
        except Exception as err:  # the last line of defence: no traceback reaches a user
            if os.environ.get("METAFUSE_DEBUG"):
                raise
            click.echo(
                f"Error: unexpected internal error ({type(err).__name__}: {err}); "
                "set METAFUSE_DEBUG=1 for details and please report it",
                err=True,
            )
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="metafuse")
def main() -> None:
    """metafuse: meta-analysis of study CSVs and curated reviews, validated against R metafor."""


for _module in (model, tools, bayes, review, gapflow, revman):
    for _command in _module.COMMANDS:
        main.add_command(_command)
