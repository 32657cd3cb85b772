"""Published harm figures of lumbar fusion (``harms.csv``), read and validated.

One row per published figure: a count (events of n in one study or arm, or a crude total over
several studies), a percentage without a count, a published pooled estimate with its CI, or a
published comparison; each with its source, location and quote (see ``studies/README.md``).
The file is optional: a studies folder without it has no harms profile.

:func:`harm_problems` returns every problem as a :class:`Problem` (``file:line: column: message``);
the checks are the pandera layout (:func:`harms_schema`) and row rules (events within n, estimate
within its CI, a percent that matches its count, a known design kind, a known source).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

import pandas as pd
import pandera.pandas as pa

from metafuse.data.csv import MISSING_TEXTS, read_table
from metafuse.exceptions import DataError
from metafuse.review.schema import YES_NO, Problem, schema_problems

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
#: Harm keys, in the order of the harms profile, with their section titles.
HARMS: Final = {
    "non_union": "Non-union (fusion rates)",
    "reoperation": "Reoperation",
    "adjacent_segment_degeneration": "Adjacent-segment degeneration (radiographic)",
    "adjacent_segment_disease": "Adjacent-segment disease (symptomatic)",
    "early_complications": "Early complications",
    "complications": "Complications (total or life-threatening)",
}
FIGURES: Final = ("count", "percent", "pooled", "difference")
PER: Final = ("patient", "patient-year")
#: Design kinds (the text of ``design`` before any parenthesis). A single study or arm can be
#: pooled with others; an aggregate over studies (a review's crude total, a weighted average, a
#: statement citing other studies) never is.
SINGLE_STUDY_DESIGNS: Final = ("RCT", "RCT arm", "cohort", "registry")
AGGREGATE_DESIGNS: Final = ("meta-analysis", "systematic review", "statement citing other studies")
#: A printed percent may differ from 100 * events / n by rounding to whole percents at most.
PERCENT_ROUNDING: Final = 0.5


def _text(nullable: bool = False, **kw: object) -> pa.Column:
    return pa.Column(str, nullable=nullable, coerce=True, **kw)  # type: ignore[arg-type]


def _number(*checks: pa.Check) -> pa.Column:
    return pa.Column(float, list(checks), nullable=True, coerce=True)


def harms_schema() -> pa.DataFrameSchema:
    """The layout of ``harms.csv`` (percentages as printed, 0 to 100)."""
    percent = pa.Check.in_range(0, 100)
    return pa.DataFrameSchema(
        {
            "harm_id": _text(unique=True),
            "harm": pa.Column(str, pa.Check.isin(list(HARMS)), coerce=True),
            "figure": pa.Column(str, pa.Check.isin(list(FIGURES)), coerce=True),
            "events": _number(pa.Check.ge(0)),
            "n": _number(pa.Check.gt(0)),
            "percent": _number(percent),
            "estimate": _number(percent),
            "ci_low": _number(percent),
            "ci_high": _number(percent),
            "per": pa.Column(str, pa.Check.isin(list(PER)), coerce=True),
            "design": _text(),
            "population": _text(),
            "follow_up": _text(True),
            "n_studies": _number(pa.Check.gt(0)),
            "n_patients": _number(pa.Check.gt(0)),
            "source_id": _text(),
            "location": _text(),
            "quote": _text(),
            "weak": pa.Column(str, pa.Check.isin(list(YES_NO)), coerce=True),
            "caveat": _text(True),
        },
        strict=True,
    )


def design_kind(design: str) -> str:
    """'RCT arm (fusion technique)' -> 'RCT arm'."""
    return design.split("(", 1)[0].strip()


def is_single_study(design: str) -> bool:
    """True when the design is one study or arm (not an aggregate over studies)."""
    return design_kind(design) in SINGLE_STUDY_DESIGNS


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _row_problems(row: pd.Series, sources: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(column, message) for each rule the row breaks."""
    out: list[tuple[str, str]] = []
    kind = design_kind(str(row["design"]))
    if kind not in SINGLE_STUDY_DESIGNS + AGGREGATE_DESIGNS:
        known = ", ".join(SINGLE_STUDY_DESIGNS + AGGREGATE_DESIGNS)
        out.append(("design", f"design kind {kind!r} (before any '(') is not one of {known}"))
    events, n, percent = row["events"], row["n"], row["percent"]
    if _given(events) and not float(events).is_integer():
        out.append(("events", f"must be a whole number, got {events:g}"))
    if _given(events) and _given(n) and events > n:
        out.append(("events", f"events ({events:g}) exceed n ({n:g})"))
    if row["figure"] == "count" and not _given(events):
        out.append(("events", "a count figure needs events"))
    if _given(events) and _given(n) and _given(percent):
        computed = 100 * events / n
        if abs(computed - percent) > PERCENT_ROUNDING:
            message = f"{percent:g} does not match events / n = {events:g}/{n:g} ({computed:.1f}%)"
            out.append(("percent", message))
    low, high = row["ci_low"], row["ci_high"]
    if _given(low) != _given(high):
        out.append(("ci_low", "a CI needs both ci_low and ci_high"))
    if _given(low) and _given(high):
        column = "estimate" if _given(row["estimate"]) else "percent"
        value = row[column]
        if low > high:
            out.append(("ci_low", f"ci_low {low:g} exceeds ci_high {high:g}"))
        elif _given(value) and not low <= value <= high:
            out.append((column, f"{value:g} lies outside its CI [{low:g}, {high:g}]"))
    if row["figure"] == "pooled" and _given(row["estimate"]) and not _given(low):
        out.append(("ci_low", "a published pooled estimate needs its CI"))
    if sources is not None:
        strength = sources.set_index("source_id")["strength"]
        sid = str(row["source_id"])
        if sid not in strength.index:
            out.append(("source_id", f"unknown source {sid!r} (not in sources.csv)"))
        elif strength[sid] == "weak" and row["weak"] != "yes":
            out.append(("weak", f"source {sid!r} is weak in sources.csv, so weak must be yes"))
    return out


def read_harms(
    directory: Path, sources: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, tuple[int, ...], list[Problem]]:
    """The validated harms table of a studies folder (None when it has no ``harms.csv`` or the
    file has problems), each row's line, and every problem. ``sources`` is the validated
    ``sources.csv`` (None skips the source checks)."""
    path = directory / FILE_NAME
    if not path.exists():
        return None, (), []
    try:
        table = read_table(path)
    except DataError as err:
        return None, (), [Problem(str(path), err.line() or 0, "", err.message)]
    frame = table.frame.map(lambda v: None if isinstance(v, str) and v in MISSING_TEXTS else v)
    schema = harms_schema()
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
