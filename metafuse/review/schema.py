"""The layout of a studies folder's CSV files as pandera schemas, and :class:`Problem`.

The layout of a studies folder's four CSV files, as pandera schemas built from the review's
vocabulary, and the :class:`Problem` every check reports (``file:line: column: message``).

Column names are fixed (reviewers' files keep working); the allowed comparisons and outcomes come
from ``review.toml``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from metafuse._extras import require
from metafuse.data.numbers import parse_number
from metafuse.model import BINARY_MEASURES, CONTINUOUS_MEASURES, RATIO_MEASURES
from metafuse.review.vocabulary import Review

require("pandera", "the review records (metafuse.review)")
import pandera.pandas as pa  # noqa: E402

FILES: Final = ("sources", "trials", "outcomes", "risk_of_bias")
#: What a reviewer writes where a source does not print a value (``year``, ``journal``).
UNKNOWN: Final = "unknown"
DOMAINS: Final = (
    "D1 randomisation process",
    "D2 deviations from intended interventions",
    "D3 missing outcome data",
    "D4 measurement of the outcome",
    "D5 selection of the reported result",
    "overall",
)
JUDGEMENTS: Final = ("low", "some concerns", "high", "not assessed")
YES_NO: Final = ("yes", "no")
CONTRAST_MEASURES: Final = CONTINUOUS_MEASURES + BINARY_MEASURES
RATIO: Final = frozenset(RATIO_MEASURES)


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a studies file: ``file:line: column: message`` (a warning if so marked)."""

    file: str
    line: int
    column: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        """Return the problem as ``file:line: column: message``."""
        loc = f"{self.file}:{self.line}" if self.line else self.file
        message = f"warning: {self.message}" if self.warning else self.message
        return ": ".join(p for p in (loc, self.column, message) if p)


def _text(nullable: bool = False, **kw: Any) -> pa.Column:
    return pa.Column(str, nullable=nullable, coerce=True, **kw)


def _number(nullable: bool = True, *checks: pa.Check) -> pa.Column:
    return pa.Column(float, list(checks), nullable=nullable, coerce=True)


def _choice(values: Iterable[str], nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.isin(list(values)), nullable=nullable, coerce=True)


def schemas(review: Review) -> dict[str, pa.DataFrameSchema]:
    """Return the schema of each file for this review."""
    trials = {
        "report_id": _text(unique=True),
        "trial": _text(),
        "first_author": _text(),
        # "unknown" (or empty) where the source does not print them
        "year": _number(True, pa.Check.in_range(1900, 2100)),
        "journal": _text(True),
        "citation": _text(True),
        "doi": _text(True),
        "pmid": _text(True),
        "comparison": _choice(review.comparisons),
        "population": _text(),
        "country": _text(True),
        "exp_arm": _text(),
        "ctrl_arm": _text(),
        "n_randomised_exp": _number(True, pa.Check.gt(0)),
        "n_randomised_ctrl": _number(True, pa.Check.gt(0)),
        "follow_up": _text(True),
        "includes": _text(True),
        "design": _choice(review.designs),
        "source_id": _text(True),
        "location": _text(True),
        "quote": _text(True),
        "weak": _choice(YES_NO),
        "notes": _text(True),
    }
    outcomes = {
        "record_id": _text(),
        "report_id": _text(),
        "outcome": _choice(review.outcomes),
        "timepoint_months": _number(True, pa.Check.ge(0)),
        "analysis": _text(),
        "data_type": _choice(("arm", "contrast")),
        "arm": _choice(("exp", "ctrl"), True),
        "n": _number(True, pa.Check.gt(0)),
        "mean": _number(True),
        "sd": _number(True, pa.Check.gt(0)),
        "events": _number(True, pa.Check.ge(0)),
        "measure": _choice(CONTRAST_MEASURES, True),
        "estimate": _number(True),
        "ci_low": _number(True),
        "ci_high": _number(True),
        "direction": _choice(("exp-ctrl", "ctrl-exp"), True),
        "scale": _text(),
        "primary": _choice(YES_NO),
        "derivation": _text(True),
        "source_id": _text(),
        "location": _text(),
        "quote": _text(),
        "weak": _choice(YES_NO),
        "caveat": _text(True),
    }
    label = pa.Column(str, nullable=True, coerce=True, required=False)
    #: The total randomised, for a report that prints it without the numbers per arm (used only
    #: when ``n_randomised_exp`` and ``n_randomised_ctrl`` are not both given); optional column.
    n_randomised = pa.Column(float, pa.Check.gt(0), nullable=True, coerce=True, required=False)
    #: Why a record is the analysis's primary one or an alternative (e.g. "adjusted (ANCOVA)
    #: estimate preferred to final values: Cochrane Handbook 10.5.2"); optional column.
    primary_reason = pa.Column(str, nullable=True, coerce=True, required=False)
    return {
        "sources": pa.DataFrameSchema(
            {
                "source_id": _text(unique=True),
                "citation": _text(),
                "url": _text(True),
                "kind": _text(),
                "strength": _choice(("primary", "secondary", "weak")),
                "note": _text(True),
            },
            strict=True,
        ),
        "trials": pa.DataFrameSchema(
            {**trials, "n_randomised": n_randomised, "label": label}, strict=True
        ),
        "outcomes": pa.DataFrameSchema({**outcomes, "primary_reason": primary_reason}, strict=True),
        "risk_of_bias": pa.DataFrameSchema(
            {
                "report_id": _text(),
                "outcome": _text(),
                "domain": _choice(DOMAINS),
                "judgement": _choice(JUDGEMENTS),
                "rationale": _text(True),
                "source_id": _text(True),
                "quote": _text(True),
            },
            strict=True,
        ),
    }


def _message(check: str, value: object) -> str:
    if check.startswith("coerce_dtype"):
        return f"not a number: {value!r}"
    if check == "not_nullable":
        return "missing value"
    if check == "field_uniqueness" or check.startswith("unique"):
        return f"duplicated value {value!r}"
    if check.startswith("isin"):
        return f"{value!r} is not one of {check[len('isin(') : -1]}"
    if check.startswith(("greater_than", "in_range")):
        bound = check[check.index("(") + 1 : -1].replace(", ", " to ")
        relation = {"greater_than(": "> ", "greater_than_or_equal_to(": ">= "}.get(
            check[: check.index("(") + 1], "within "
        )
        return f"must be {relation}{bound}, got {value!r}"
    return f"{value!r} fails {check}"


def _number_problems(
    schema: pa.DataFrameSchema, frame: pd.DataFrame, path: str, lines: tuple[int, ...]
) -> list[Problem]:
    """Report text cells of numeric columns that Python reads as numbers but spreadsheets do not.

    A problem for each text cell of a numeric column that Python reads as a number but a spreadsheet
    does not (``1_000``, ``１２``, ``١٢``, ``inf``, ``1e999``); text that is no number at all is
    reported by pandera's conversion.
    """
    out = []
    for name, column in schema.columns.items():
        if name not in frame.columns or str(column.dtype) != "float64":
            continue
        for row, cell in enumerate(frame[name].tolist()):
            if not isinstance(cell, str) or not _python_number(cell):
                continue
            try:
                parse_number(cell)
            except ValueError as err:
                line = lines[row] if row < len(lines) else 0
                out.append(Problem(path, line, str(name), str(err)))
    return out


def _python_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def schema_problems(
    schema: pa.DataFrameSchema, frame: pd.DataFrame, path: str, lines: tuple[int, ...]
) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate one file's frame; every failure as a :class:`Problem` with its file line.

    Returns the validated frame (the schema's types) and no problem, or the frame as given and
    every problem. Numeric cells must be numbers as a spreadsheet reads them
    (:func:`metafuse.data.numbers.parse_number`), which pandera's conversion does not check.
    """
    problems = set(_number_problems(schema, frame, path, lines))
    try:
        validated = schema.validate(frame, lazy=True)
        return (frame, sorted(problems)) if problems else (validated, [])
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    for case in cases.itertuples(index=False):
        check, column, value, index = str(case.check), case.column, case.failure_case, case.index
        row = None if index is None or pd.isna(index) else int(index)
        line = lines[row] if row is not None and row < len(lines) else 0
        col = (
            ""
            if column is None or (isinstance(column, float) and math.isnan(column))
            else str(column)
        )
        if check == "column_in_dataframe":
            problems.add(Problem(path, 1, str(value), "missing required column"))
        elif check == "column_in_schema":
            problems.add(Problem(path, 1, str(value), "unknown column"))
        elif check.startswith("dtype(") or (row is None and "Error(" in str(value)):
            continue  # follows from a failed conversion reported on its own
        else:
            problems.add(Problem(path, line, col, _message(check, value)))
    return frame, sorted(problems)
