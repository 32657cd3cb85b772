"""Exceptions and warnings raised by metafuse.

Every error about input data names where the problem is (file, row, column), so that a reviewer can
fix the record without reading a traceback.
"""

from __future__ import annotations


class MetafuseError(Exception):
    """Base class for all metafuse errors."""


class DataError(MetafuseError, ValueError):
    """Study data that cannot be analysed: a missing, non-numeric or impossible value.

    Parameters
    ----------
    message
        What is wrong, in words a reviewer understands.
    row
        0-based position of the offending row in the data (``None`` for whole-table problems).
    column
        Name of the offending column (``None`` when not tied to one column).
    study
        Study label of the row, when known.
    source
        File the data came from, when known.
    first_line
        Line number of the first data row in ``source`` (2 for a CSV file with a header row).
    """

    def __init__(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        study: str | None = None,
        source: str | None = None,
        first_line: int | None = None,
    ) -> None:
        self.message = message
        self.row = row
        self.column = column
        self.study = study
        self.source = source
        self.first_line = first_line if first_line is not None else (2 if source else 1)
        super().__init__(self.describe())

    def __str__(self) -> str:
        return self.describe()

    def with_source(self, source: str, first_line: int = 2) -> DataError:
        """The same error, located in a file whose first data row is on line ``first_line``."""
        return DataError(
            self.message,
            row=self.row,
            column=self.column,
            study=self.study,
            source=source,
            first_line=first_line,
        )

    def describe(self) -> str:
        """One line: ``source:line: column: message`` (``row N`` when there is no source)."""
        source, first_line = self.source, self.first_line
        parts = []
        if source is not None:
            loc = source if self.row is None else f"{source}:{self.row + first_line}"
            parts.append(loc)
        elif self.row is not None:
            parts.append(f"row {self.row + first_line}")
        if self.study is not None and self.row is not None:
            parts[-1] += f" (study {self.study!r})"
        if self.column is not None:
            parts.append(self.column)
        parts.append(self.message)
        return ": ".join(parts)


class SpecError(MetafuseError, ValueError):
    """An analysis specification (TOML) that is invalid; the message names the file and key."""


class ExcludedStudyWarning(UserWarning):
    """A study was left out of an analysis (no data, or not estimable); the message names it."""
