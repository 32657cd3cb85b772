"""A studies folder: its vocabulary (``review.toml``) and four CSV files, read and validated once.

``sources.csv``       one row per source (citation, address, kind, strength)
``trials.csv``        one row per trial report (registry)
``outcomes.csv``      one row per report x outcome x time point x arm, or per contrast
``risk_of_bias.csv``  RoB 2 judgements per report x outcome x domain, each with its rationale

and two optional files, validated with them: ``harms.csv`` (published harm figures,
:mod:`metafuse.review.harms`) and ``published_estimates.csv`` (published pooled estimates,
:mod:`metafuse.review.published`).

:func:`validate_studies` returns every problem at once as ``file:line: column: message`` and never
modifies the files; :func:`load_studies` returns the validated :class:`StudyRecords`, with derived
numbers computed by :mod:`metafuse.review.derivations`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from metafuse.data.csv import MISSING_TEXTS, Table, read_table
from metafuse.exceptions import DataError, MetafuseError, SpecError
from metafuse.review.checks import outcome_problems
from metafuse.review.derive import apply_derivations
from metafuse.review.harms import read_harms
from metafuse.review.links import cross_problems, report_label
from metafuse.review.published import read_published
from metafuse.review.schema import FILES, UNKNOWN, Problem, schema_problems, schemas
from metafuse.review.vocabulary import Review, load_review

T = TypeVar("T")


class StudiesError(MetafuseError):
    """The studies folder has problems; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class StudyRecords:
    """Validated study records (one DataFrame per file; outcomes with derived columns added)."""

    directory: Path
    review: Review
    sources: pd.DataFrame
    trials: pd.DataFrame
    outcomes: pd.DataFrame
    risk_of_bias: pd.DataFrame
    #: The optional files (None when absent): published harm figures and published estimates.
    harms: pd.DataFrame | None = None
    published_estimates: pd.DataFrame | None = None
    #: Line number in its file of each row, per file.
    lines: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: Warnings from validation (they do not stop an analysis).
    warnings: tuple[Problem, ...] = ()
    #: What has been computed from these records (selections, the gaps matrix), by what and how:
    #: the records never change, so each is computed once per build. Not copied by
    #: ``dataclasses.replace`` (other records, other answers).
    _memo: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Return ``compute()``, computed once for these records under ``key``."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def trials_by_report(self) -> pd.DataFrame:
        """Return trials.csv indexed by ``report_id`` (computed once)."""
        return self.memo("trials by report", lambda: self.trials.set_index("report_id"))

    def label(self, report_id: str) -> str:
        """Return the study label of a report ('First author year', or its own ``label``)."""

        def compute() -> str:
            row = self.trials.loc[self.trials["report_id"] == report_id].iloc[0]
            return report_label(row)

        return self.memo(("label", report_id), compute)

    def path(self, name: str) -> Path:
        """Return the path of one of the four files."""
        return self.directory / f"{name}.csv"


def year_key(year: object) -> float:
    """Return a report's year for sorting: unknown years (missing) sort last."""
    if isinstance(year, numbers.Real) and not math.isnan(float(year)):
        return float(year)
    return math.inf


def _unstated(value: object) -> object:
    """``unknown`` (any case) or an empty cell: the source does not print it."""
    if isinstance(value, str) and (value in MISSING_TEXTS or value.strip().lower() == UNKNOWN):
        return None
    return value


def _read(path: Path) -> tuple[Table | None, list[Problem]]:
    try:
        table = read_table(path)
    except DataError as err:
        return None, [Problem(str(path), err.line() or 0, "", err.message)]
    frame = table.frame.map(lambda v: None if isinstance(v, str) and v in MISSING_TEXTS else v)
    for column in ("year", "journal"):
        if path.name == "trials.csv" and column in frame.columns:
            frame[column] = frame[column].map(_unstated)
    return Table(frame, table.source, table.lines), []


def _check(
    directory: Path,
) -> tuple[Review | None, dict[str, pd.DataFrame], dict[str, tuple[int, ...]], list[Problem]]:
    if not directory.is_dir():
        return None, {}, {}, [Problem(str(directory), 0, "", "not a folder")]
    try:
        review = load_review(directory)
    except SpecError as err:
        return (
            None,
            {},
            {},
            [Problem(str(directory / "review.toml"), 0, "", str(err).split(": ", 1)[-1])],
        )
    layouts = schemas(review)
    tables: dict[str, pd.DataFrame] = {}
    lines: dict[str, tuple[int, ...]] = {}
    problems: list[Problem] = []
    paths = {name: str(directory / f"{name}.csv") for name in FILES}
    for name in FILES:
        table, found = _read(directory / f"{name}.csv")
        if table is None:
            problems += found
            continue
        validated, found = schema_problems(layouts[name], table.frame, paths[name], table.lines)
        problems += found
        if not found:
            tables[name] = validated.reset_index(drop=True)
            lines[name] = table.lines
    if "outcomes" in tables:
        problems += apply_derivations(tables["outcomes"], paths["outcomes"], lines["outcomes"])
        problems += outcome_problems(
            tables["outcomes"], paths["outcomes"], lines["outcomes"], review
        )
    if len(tables) == len(FILES):
        problems += cross_problems(tables, paths, lines, review)
    sources = tables.get("sources")
    harms, lines["harms"], found = read_harms(directory, review, sources)
    problems += found
    published, lines["published_estimates"], found = read_published(directory, review, sources)
    problems += found
    for name, frame in (("harms", harms), ("published_estimates", published)):
        if frame is not None:
            tables[name] = frame
    return review, tables, lines, problems


def validate_studies(directory: str | Path) -> list[Problem]:
    """Every problem (and warning) in a studies folder. Never modifies the files."""
    return sorted(set(_check(Path(directory))[3]))


def load_studies(directory: str | Path) -> StudyRecords:
    """Load the validated records; raise :class:`StudiesError` listing every problem."""
    folder = Path(directory)
    review, tables, lines, problems = _check(folder)
    errors = sorted({p for p in problems if not p.warning})
    if errors or review is None:
        raise StudiesError(errors)
    return StudyRecords(
        directory=folder,
        review=review,
        lines=lines,
        warnings=tuple(sorted({p for p in problems if p.warning})),
        harms=tables.get("harms"),
        published_estimates=tables.get("published_estimates"),
        **{name: tables[name] for name in FILES},
    )
