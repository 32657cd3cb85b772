"""Pooled estimates of published meta-analyses (``published_estimates.csv``), read and validated.

They are shown beside our own results, never pooled again and never combined with our trials
(their patients may overlap ours). The file is optional. Every problem is a :class:`Problem`
(``file:line: column: message``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pandas as pd

from metafuse._extras import require
from metafuse.review.schema import CONTRAST_MEASURES, YES_NO, Problem
from metafuse.review.sourced_files import (
    given,
    number_column,
    read_sourced_file,
    source_problems,
    text_column,
)
from metafuse.review.vocabulary import Review

require("pandera", "the review records (metafuse.review)")
import pandera.pandas as pa  # noqa: E402

FILE_NAME: Final = "published_estimates.csv"
#: Number columns also kept as printed (``printed_<column>``), for display.
PRINTED: Final = ("estimate", "ci_low", "ci_high", "n_studies", "n_patients")


def published_schema(review: Review) -> pa.DataFrameSchema:
    """Return the layout of ``published_estimates.csv``; ``p`` is text as printed ('<0.001')."""
    text, number = text_column, number_column

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


def _row_problems(row: pd.Series, sources: pd.DataFrame | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    low, high, est = row["ci_low"], row["ci_high"], row["estimate"]
    if given(low) != given(high):
        out.append(("ci_low", "a CI needs both ci_low and ci_high"))
    if given(est) and not given(row["measure"]):
        out.append(("measure", "an estimate needs its measure"))
    if given(low) and given(high):
        if low > high:
            out.append(("ci_low", f"ci_low {low:g} exceeds ci_high {high:g}"))
        elif given(est) and not low <= est <= high:
            out.append(("estimate", f"estimate {est:g} lies outside its CI [{low:g}, {high:g}]"))
    return out + source_problems(row, sources)


def read_published(
    directory: Path, review: Review, sources: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, tuple[int, ...], list[Problem]]:
    """Read the validated published estimates, each row's line and every problem.

    The validated published estimates (None when the file is absent or has problems), each row's
    line, and every problem.
    """
    return read_sourced_file(
        directory / FILE_NAME,
        published_schema(review),
        PRINTED,
        lambda row: _row_problems(row, sources),
    )
