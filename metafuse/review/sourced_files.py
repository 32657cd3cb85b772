"""What the optional sourced tables of a studies folder share.

What the optional sourced tables of a studies folder share (``harms.csv``,
``published_estimates.csv``): pandera column builders, the test of a given value, the check of each
row's source against ``sources.csv``, and reading a file into a validated frame with every problem
located (``file:line: column: message``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from metafuse._extras import require
from metafuse.data.csv import MISSING_TEXTS, read_table
from metafuse.exceptions import DataError
from metafuse.review.schema import Problem, schema_problems

require("pandera", "the review records (metafuse.review)")
import pandera.pandas as pa  # noqa: E402

RowProblems = Callable[[pd.Series], list[tuple[str, str]]]


def text_column(nullable: bool = False, **kw: object) -> pa.Column:
    """Return a text column (coerced to str)."""
    return pa.Column(str, nullable=nullable, coerce=True, **kw)  # type: ignore[arg-type]


def number_column(*checks: pa.Check) -> pa.Column:
    """Return an optional number column with ``checks``."""
    return pa.Column(float, list(checks), nullable=True, coerce=True)


def given(value: object) -> bool:
    """Return True for a value present in a validated row (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def source_problems(row: pd.Series, sources: pd.DataFrame | None) -> list[tuple[str, str]]:
    """Check the row's ``source_id`` against ``sources.csv``.

    The row's ``source_id`` is in ``sources.csv``, and a weak source makes the row weak (``sources``
    None: not checked).
    """
    if sources is None:
        return []
    strength = sources.set_index("source_id")["strength"]
    sid = str(row["source_id"])
    if sid not in strength.index:
        return [("source_id", f"unknown source {sid!r} (not in sources.csv)")]
    if strength[sid] == "weak" and row["weak"] != "yes":
        return [("weak", f"source {sid!r} is weak in sources.csv, so weak must be yes")]
    return []


def read_sourced_file(
    path: Path,
    schema: pa.DataFrameSchema,
    printed: Sequence[str],
    row_problems: RowProblems,
) -> tuple[pd.DataFrame | None, tuple[int, ...], list[Problem]]:
    """Read a validated sourced table, each row's line and every problem.

    The validated table at ``path`` (None when absent or with problems), each row's line and every
    problem: the schema's, then ``row_problems`` of each row. The ``printed`` number columns are
    also kept as printed (``printed_<column>``: '7.40', '16.0'), for display.
    """
    if not path.exists():
        return None, (), []
    try:
        table = read_table(path)
    except DataError as err:
        return None, (), [Problem(str(path), err.line() or 0, "", err.message)]
    frame = table.frame.map(lambda v: None if isinstance(v, str) and v in MISSING_TEXTS else v)
    validated, problems = schema_problems(schema, frame, str(path), table.lines)
    if problems:
        return None, table.lines, problems
    valid = validated.reset_index(drop=True)
    valid = valid.assign(**{f"printed_{c}": frame[c].to_numpy() for c in printed})
    for i, row in valid.iterrows():
        line = table.lines[int(str(i))]
        problems += [Problem(str(path), line, c, m) for c, m in row_problems(row)]
    return (None if problems else valid), table.lines, sorted(problems)
