"""Published harm figures.

Published harm figures (``harms.csv``), read and validated against the harms the review declares
(``[harms.<key>]`` in review.toml, :mod:`metafuse.review.harm_declarations`).

One row per published figure: a count (events of n in one study or arm, or a crude total over
several studies), a percentage without a count, a published pooled estimate with its CI, or a
published comparison; each with its source, location and quote. The file is optional: a records
folder without it has no harms profile.

:func:`harm_problems` returns every problem as a :class:`Problem` (``file:line: column: message``);
the checks are the pandera layout (:func:`harms_schema`) and row rules (events within n, estimate
within its CI, a percent that matches its count, a known design kind, a known source).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pandas as pd

from metafuse._extras import require
from metafuse.review.schema import YES_NO, Problem
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

FILE_NAME: Final = "harms.csv"
#: Number columns also kept as printed (``printed_<column>``), for display.
PRINTED: Final = (
    "events",
    "n",
    "percent",
    "estimate",
    "ci_low",
    "ci_high",
    "n_studies",
    "n_patients",
)
FIGURES: Final = ("count", "percent", "pooled", "difference")
PER: Final = ("patient", "patient-year")
#: Design kinds (the text of ``design`` before any parenthesis). A single study or arm can be
#: pooled with others; an aggregate over studies (a review's crude total, a weighted average, a
#: statement citing other studies) never is.
SINGLE_STUDY_DESIGNS: Final = ("RCT", "RCT arm", "cohort", "registry")
AGGREGATE_DESIGNS: Final = ("meta-analysis", "systematic review", "statement citing other studies")
#: A printed percent may differ from 100 * events / n by rounding to whole percents at most.
PERCENT_ROUNDING: Final = 0.5


def harms_schema(review: Review) -> pa.DataFrameSchema:
    """Return the layout of ``harms.csv`` (percentages as printed, 0 to 100).

    The layout of ``harms.csv`` (percentages as printed, 0 to 100); ``harm`` is one of the review's
    declared harms.
    """
    percent = pa.Check.in_range(0, 100)
    return pa.DataFrameSchema(
        {
            "harm_id": text_column(unique=True),
            "harm": pa.Column(str, pa.Check.isin(list(review.harms)), coerce=True),
            "figure": pa.Column(str, pa.Check.isin(list(FIGURES)), coerce=True),
            "events": number_column(pa.Check.ge(0)),
            "n": number_column(pa.Check.gt(0)),
            "percent": number_column(percent),
            "estimate": number_column(percent),
            "ci_low": number_column(percent),
            "ci_high": number_column(percent),
            "per": pa.Column(str, pa.Check.isin(list(PER)), coerce=True),
            "design": text_column(),
            "population": text_column(),
            "follow_up": text_column(True),
            "n_studies": number_column(pa.Check.gt(0)),
            "n_patients": number_column(pa.Check.gt(0)),
            "source_id": text_column(),
            "location": text_column(),
            "quote": text_column(),
            "weak": pa.Column(str, pa.Check.isin(list(YES_NO)), coerce=True),
            "caveat": text_column(True),
        },
        strict=True,
    )


def design_kind(design: str) -> str:
    """'RCT arm (high dose)' -> 'RCT arm'."""
    return design.split("(", 1)[0].strip()


def is_single_study(design: str) -> bool:
    """Return True when the design is one study or arm (not an aggregate over studies)."""
    return design_kind(design) in SINGLE_STUDY_DESIGNS


def _row_problems(row: pd.Series, sources: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(column, message) for each rule the row breaks."""
    out: list[tuple[str, str]] = []
    kind = design_kind(str(row["design"]))
    if kind not in SINGLE_STUDY_DESIGNS + AGGREGATE_DESIGNS:
        known = ", ".join(SINGLE_STUDY_DESIGNS + AGGREGATE_DESIGNS)
        out.append(("design", f"design kind {kind!r} (before any '(') is not one of {known}"))
    events, n, percent = row["events"], row["n"], row["percent"]
    if given(events) and not float(events).is_integer():
        out.append(("events", f"must be a whole number, got {events:g}"))
    if given(events) and given(n) and events > n:
        out.append(("events", f"events ({events:g}) exceed n ({n:g})"))
    if row["figure"] == "count" and not given(events):
        out.append(("events", "a count figure needs events"))
    if given(events) and given(n) and given(percent):
        computed = 100 * events / n
        if abs(computed - percent) > PERCENT_ROUNDING:
            message = f"{percent:g} does not match events / n = {events:g}/{n:g} ({computed:.1f}%)"
            out.append(("percent", message))
    low, high = row["ci_low"], row["ci_high"]
    if given(low) != given(high):
        out.append(("ci_low", "a CI needs both ci_low and ci_high"))
    if given(low) and given(high):
        column = "estimate" if given(row["estimate"]) else "percent"
        value = row[column]
        if low > high:
            out.append(("ci_low", f"ci_low {low:g} exceeds ci_high {high:g}"))
        elif given(value) and not low <= value <= high:
            out.append((column, f"{value:g} lies outside its CI [{low:g}, {high:g}]"))
    if row["figure"] == "pooled" and given(row["estimate"]) and not given(low):
        out.append(("ci_low", "a published pooled estimate needs its CI"))
    return out + source_problems(row, sources)


def read_harms(
    directory: Path, review: Review, sources: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, tuple[int, ...], list[Problem]]:
    """Return the validated harms table of a records folder.

    The validated harms table of a records folder (None when it has no ``harms.csv`` or the file has
    problems), each row's line, and every problem. ``sources`` is the validated ``sources.csv``
    (None skips the source checks).
    """
    path = directory / FILE_NAME
    if path.exists() and not review.harms:
        message = "the review declares no harm: add [harms.<key>] tables to review.toml"
        return None, (), [Problem(str(path), 1, "harm", message)]
    return read_sourced_file(
        path,
        harms_schema(review),
        PRINTED,
        lambda row: _row_problems(row, sources),
    )
