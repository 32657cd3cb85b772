"""Exceptions and warnings raised by metafuse.

Every error about input data names where the problem is (file, row, column), so that a reviewer can
fix the record without reading a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class MetafuseError(Exception):
    """Base class for all metafuse errors."""


class MissingExtraError(MetafuseError, ImportError):
    """A feature needs an optional dependency that is not installed.

    The message names the package and the extra that installs it
    (``pip install 'metafuse[plots]'``).
    """


class ModelError(MetafuseError, ValueError):
    """An option of a :class:`~metafuse.Model` that is unknown, out of range or does not apply.

    Parameters
    ----------
    field
        The option (a field of :class:`~metafuse.Model`).
    message
        What is wrong; it names the option.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


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
    related_row
        0-based position of another row involved (the first use of a duplicated label).
    source
        File the data came from, when known.
    lines
        File line number of each data row (from :func:`metafuse.data.csv.read_table`); without it a
        CSV with a header row is assumed (data row ``i`` on line ``i + 2``).
    """

    def __init__(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        study: str | None = None,
        related_row: int | None = None,
        source: str | None = None,
        lines: Sequence[int] | None = None,
    ) -> None:
        self.message = message
        self.row = row
        self.column = column
        self.study = study
        self.related_row = related_row
        self.source = source
        self.lines = tuple(lines) if lines is not None else None
        super().__init__(self.describe())

    def __str__(self) -> str:
        """Return the message with its location."""
        return self.describe()

    def with_source(self, source: str, lines: Sequence[int] | None = None) -> DataError:
        """Return the same error, located in a file.

        Parameters
        ----------
        source : str
            The file.
        lines : sequence of int, optional
            The line number of each data row.

        Returns
        -------
        DataError
            The located error.
        """
        return DataError(
            self.message,
            row=self.row,
            column=self.column,
            study=self.study,
            related_row=self.related_row,
            source=source,
            lines=lines,
        )

    def _where(self, row: int) -> str:
        if self.source is None:
            return f"row {row + 1}"
        if self.lines is not None and row < len(self.lines):
            return f"line {self.lines[row]}"
        return f"line {row + 2}"

    def line(self) -> int | None:
        """File line number of the offending row, when the error is located in a file."""
        if self.source is None or self.row is None:
            return None
        return int(self._where(self.row).split()[1])

    def describe(self) -> str:
        """One line: ``source:line (study 'X'): column: message`` (``row N`` without a source)."""
        loc: str | None
        if self.source is not None:
            loc = self.source if self.row is None else f"{self.source}:{self.line()}"
        else:
            loc = None if self.row is None else self._where(self.row)
        if loc is not None and self.study is not None and self.row is not None:
            loc += f" (study {self.study!r})"
        message = self.message
        if self.related_row is not None:
            message += f" (also at {self._where(self.related_row)})"
        return ": ".join(p for p in (loc, self.column, message) if p is not None)


class SpecError(MetafuseError, ValueError):
    """An analysis specification (TOML) that is invalid; the message names the file and key."""


class ExcludedStudyWarning(UserWarning):
    """A study was left out of an analysis (no data, or not estimable); the message names it."""


class DuplicateLabelWarning(UserWarning):
    """Two or more studies share a label; they are pooled, with labels made unique."""
