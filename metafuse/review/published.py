"""Pooled estimates of published meta-analyses (``published_estimates.csv``), read and validated.

They are shown beside our own results, never pooled again and never combined with our trials
(their patients may overlap ours). The file is optional. Every problem is a :class:`Problem`
(``file:line: column: message``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

import pandas as pd
import pandera.pandas as pa

from metafuse.data.csv import MISSING_TEXTS, read_table
from metafuse.exceptions import DataError
from metafuse.review.schema import CONTRAST_MEASURES, YES_NO, Problem, schema_problems
from metafuse.review.vocabulary import Review

FILE_NAME: Final = "published_estimates.csv"
#: Number columns also kept as printed (``printed_<column>``), for display.
PRINTED: Final = ("estimate", "ci_low", "ci_high", "n_studies", "n_patients")


def published_schema(review: Review) -> pa.DataFrameSchema:
    """The layout of ``published_estimates.csv``; ``p`` is text as printed ('<0.001')."""

    def text(nullable: bool = False, **kw: object) -> pa.Column:
        return pa.Column(str, nullable=nullable, coerce=True, **kw)  # type: ignore[arg-type]

    def number(*checks: pa.Check) -> pa.Column:
        return pa.Column(float, list(checks), nullable=True, coerce=True)

    return pa.DataFrameSchema(
        {
            "estimate_id": text(unique=True),
            "review": text(),
            "comparison": pa.Column(str, pa.Check.isin(list(review.comparisons)), coerce=True),
            "outcome": text(),
            "timepoint": text(True),
            "measure": pa.Column(
                str, pa.Check.isin(list(CONTRAST_MEASURES)), nullable=True, coerce=True
            ),
            "estimate": number(),
            "ci_low": number(),
            "ci_high": number(),
            "p": text(True),
            "n_studies": number(pa.Check.gt(0)),
            "n_patients": number(pa.Check.gt(0)),
            "designs": text(True),
            "source_id": text(),
            "location": text(),
            "quote": text(),
            "weak": pa.Column(str, pa.Check.isin(list(YES_NO)), coerce=True),
            "caveat": text(True),
        },
        strict=True,
    )


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _row_problems(row: pd.Series, sources: pd.DataFrame | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    low, high, est = row["ci_low"], row["ci_high"], row["estimate"]
    if _given(low) != _given(high):
        out.append(("ci_low", "a CI needs both ci_low and ci_high"))
    if _given(est) and not _given(row["measure"]):
        out.append(("measure", "an estimate needs its measure"))
    if _given(low) and _given(high):
        if low > high:
            out.append(("ci_low", f"ci_low {low:g} exceeds ci_high {high:g}"))
        elif _given(est) and not low <= est <= high:
            out.append(("estimate", f"estimate {est:g} lies outside its CI [{low:g}, {high:g}]"))
    if sources is not None:
        strength = sources.set_index("source_id")["strength"]
        sid = str(row["source_id"])
        if sid not in strength.index:
            out.append(("source_id", f"unknown source {sid!r} (not in sources.csv)"))
        elif strength[sid] == "weak" and row["weak"] != "yes":
            out.append(("weak", f"source {sid!r} is weak in sources.csv, so weak must be yes"))
    return out


def read_published(
    directory: Path, review: Review, sources: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, tuple[int, ...], list[Problem]]:
    """The validated published estimates (None when the file is absent or has problems), each
    row's line, and every problem."""
    path = directory / FILE_NAME
    if not path.exists():
        return None, (), []
    try:
        table = read_table(path)
    except DataError as err:
        return None, (), [Problem(str(path), err.line() or 0, "", err.message)]
    frame = table.frame.map(lambda v: None if isinstance(v, str) and v in MISSING_TEXTS else v)
    schema = published_schema(review)
    _frame, problems = schema_problems(schema, frame, str(path), table.lines)
    if problems:
        return None, table.lines, problems
    valid = schema.validate(frame).reset_index(drop=True)
    # the numbers as printed ('7.40', '16.0'), beside their values, for display
    valid = valid.assign(**{f"printed_{c}": frame[c].to_numpy() for c in PRINTED})
    for i, row in valid.iterrows():
        line = table.lines[int(str(i))]
        problems += [Problem(str(path), line, c, m) for c, m in _row_problems(row, sources)]
    return (None if problems else valid), table.lines, sorted(problems)
