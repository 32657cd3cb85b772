"""Pooled estimates of published meta-analyses (``published_estimates.csv``), read and validated.

They are shown beside our own results, never pooled again and never combined with our trials
(their patients may overlap ours). The file is optional. A source that prints a relative
reduction instead of the ratio ('a 23% reduction in the odds (95% CI 15% to 31%)') is recorded
with the optional ``derivation`` ``ratio_from_reduction(percent=23, low=15, high=31)``, leaving
estimate and CI empty: the library computes them (:mod:`metafuse.review.derivations`). Every
problem is a :class:`Problem` (``file:line: column: message``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pandas as pd

from metafuse._extras import require
from metafuse.review.derivations import (
    PUBLISHED_DERIVATIONS,
    number_of,
    parse_derivation,
    ratio_from_reduction,
)
from metafuse.review.schema import CONTRAST_MEASURES, RATIO, YES_NO, Problem
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
#: The page of each review named in the file: this prefix and the review's name made file-safe
#: (cut at a word boundary after MAX_SLUG characters).
PAGE_PREFIX: Final = "published_"
MAX_SLUG: Final = 40


def page_name(review: str) -> str:
    """Return the output name of a review's page: 'Smith 2021 (J)' -> 'published_smith_2021_j'."""
    slug = re.sub(r"[^a-z0-9]+", "_", review.lower()).strip("_")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("_", 1)[0]
    return PAGE_PREFIX + (slug or "review")


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
            "derivation": pa.Column(str, nullable=True, coerce=True, required=False),
        },
        strict=True,
    )


def _derive(row: pd.Series) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Return the estimate and CI a row's ``derivation`` computes.

    The estimate and CI a row's ``derivation`` computes (with their display text), or its problems.
    """
    text = row.get("derivation")
    if not isinstance(text, str) or not text.strip():
        return {}, []
    try:
        name, kw = parse_derivation(text)
        if name not in PUBLISHED_DERIVATIONS:
            raise ValueError(f"{name} does not apply to published estimates")
        if any(given(row[c]) for c in ("estimate", "ci_low", "ci_high")):
            raise ValueError(f"{name} fills estimate, ci_low and ci_high: leave them empty")
        if row["measure"] not in RATIO:
            raise ValueError(f"{name} gives a ratio: measure must be RR or OR")
        values = ratio_from_reduction(*(number_of(kw, k) for k in ("percent", "low", "high")))
    except ValueError as err:
        return {}, [("derivation", str(err))]
    out: dict[str, object] = {}
    for column, value in zip(("estimate", "ci_low", "ci_high"), values, strict=True):
        out[column] = value
        out[f"printed_{column}"] = f"{value:.10g}"
    return out, []


def _row_problems(row: pd.Series, sources: pd.DataFrame | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = list(_derive(row)[1])
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
    """Return the validated published estimates.

    The validated published estimates (None when the file is absent or has problems), each row's
    line, and every problem (two review names that would share one page among them).
    """
    path = directory / FILE_NAME
    frame, lines, problems = read_sourced_file(
        path, published_schema(review), PRINTED, lambda row: _row_problems(row, sources)
    )
    if frame is None:
        return frame, lines, problems
    for i, row in frame.iterrows():
        derived, _ = _derive(row)
        for column, value in derived.items():
            frame.at[i, column] = value
    first: dict[str, str] = {}
    for i, name in enumerate(frame["review"]):
        other = first.setdefault(page_name(name), name)
        if other != name:
            message = f"{name!r} and {other!r} would share the page {page_name(name)!r}; rename one"
            problems.append(Problem(str(path), lines[i], "review", message))
    return (None if problems else frame), lines, problems
