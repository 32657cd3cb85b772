"""The protocol every result of metafuse shares, and the mixin that implements most of it.

A result is immutable and offers :meth:`~Result.to_dict` (plain Python values, for JSON),
:meth:`~Result.to_frame` (a pandas table), :meth:`~Result.summary` (readable text, what ``print``
shows), a one-line ``repr`` of at most :data:`REPR_LIMIT` characters and ``_repr_html_`` (the
summary as an HTML fragment for notebooks, every value escaped). :class:`ResultMixin` builds the
last three from two small methods a result defines: ``_headline()`` (the one-line gist) and,
optionally, ``_summary_rows()`` (labelled values shown above the table).
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

#: Longest ``repr`` of a result.
REPR_LIMIT = 300
#: Rows of a result's table shown by ``summary()`` and ``_repr_html_`` (the rest are elided).
SHOWN_ROWS = 60


@runtime_checkable
class Result(Protocol):
    """What every result offers (the toolbox's, :class:`~metafuse.results.PooledResult`, ...)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain Python values (JSON-ready)."""
        ...

    def to_frame(self) -> pd.DataFrame:
        """Return the result as a table."""
        ...

    def summary(self) -> str:
        """Return the readable text of the result."""
        ...

    def _repr_html_(self) -> str: ...


def short(x: float | None) -> str:
    """Format a number for a one-line gist: two decimals, or three significant digits.

    Parameters
    ----------
    x : float or None
        The number; None and non-finite values print as ``NA``.

    Returns
    -------
    str
        ``0.49``, ``-12.35``, ``0.00123`` or ``NA``.
    """
    if x is None or not math.isfinite(float(x)):
        return "NA"
    x = float(x)
    return f"{x:.2f}" if x == 0 or 0.01 <= abs(x) < 1e4 else f"{x:.3g}"


def p_text(p: float | None) -> str:
    """Format a P value as ``p = 0.0123`` or ``p < 0.0001`` (``p = NA`` when undefined).

    Parameters
    ----------
    p : float or None
        The P value.

    Returns
    -------
    str
        The P value with its relation sign.
    """
    if p is None or not math.isfinite(float(p)):
        return "p = NA"
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


def one_line(text: str, limit: int = REPR_LIMIT) -> str:
    """Collapse whitespace and cut ``text`` to at most ``limit`` characters (ending in ``...>``).

    Parameters
    ----------
    text : str
        A repr such as ``<Name gist>``.
    limit : int, optional
        The longest result.

    Returns
    -------
    str
        The text on one line, at most ``limit`` characters long.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 4] + "...>"


class ResultMixin:
    """``repr``, ``summary()``, ``str()`` and ``_repr_html_`` of a result.

    A subclass defines ``to_dict()``, ``to_frame()`` and ``_headline()``; it may add labelled
    values above the table with ``_summary_rows()`` or replace the table with ``_table()``.
    """

    #: The result's name in words (the title of its summary); the class name when empty.
    title: str = ""

    def to_frame(self) -> pd.DataFrame:
        """Return the result as a table."""
        raise NotImplementedError

    def _headline(self) -> str:
        """Return the gist of the result on one line."""
        raise NotImplementedError

    def _summary_rows(self) -> list[tuple[str, str]]:
        """Return labelled values shown above the table (none by default)."""
        return []

    def _table(self) -> pd.DataFrame | None:
        """Return the table shown by ``summary()`` and in HTML (``to_frame()`` by default)."""
        return self.to_frame()

    def _title(self) -> str:
        return self.title or type(self).__name__

    def __repr__(self) -> str:
        """Return the result on one line, at most :data:`REPR_LIMIT` characters."""
        return one_line(f"<{type(self).__name__} {self._headline()}>")

    def __str__(self) -> str:
        """Return the summary (what ``print`` shows)."""
        return self.summary()

    def summary(self) -> str:
        """Return the readable text of the result (what ``print`` shows).

        Returns
        -------
        str
            A title line with the gist, labelled values and the result's table (the first
            :data:`SHOWN_ROWS` rows).
        """
        lines = [f"{self._title()}: {self._headline()}"]
        rows = self._summary_rows()
        if rows:
            width = max(len(label) for label, _ in rows)
            lines += ["", *(f"{label:<{width}}  {value}" for label, value in rows)]
        table = self._table()
        if table is not None and len(table):
            text = table.head(SHOWN_ROWS).to_string(index=False, float_format=lambda x: f"{x:.4f}")
            lines += ["", text]
            if len(table) > SHOWN_ROWS:
                lines.append(f"... {len(table) - SHOWN_ROWS} more rows (to_frame() has them all)")
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        """Return the summary as an HTML fragment (every value escaped)."""
        parts = [
            '<div class="mf-result">',
            f"<p><strong>{html.escape(self._title())}</strong>: "
            f"{html.escape(self._headline())}</p>",
        ]
        rows = self._summary_rows()
        if rows:
            cells = "".join(
                f'<tr><th scope="row">{html.escape(label)}</th><td>{html.escape(value)}</td></tr>'
                for label, value in rows
            )
            parts.append(f'<table class="numbers"><tbody>{cells}</tbody></table>')
        table = self._table()
        if table is not None and len(table):
            parts.append(
                table.head(SHOWN_ROWS).to_html(
                    index=False, float_format=lambda x: f"{x:.4f}", na_rep="NA", border=0
                )
            )
            if len(table) > SHOWN_ROWS:
                parts.append(f"<p>... {len(table) - SHOWN_ROWS} more rows</p>")
        parts.append("</div>")
        return "\n".join(parts)


class StudyTable(ResultMixin):
    """A result with one row per study (leave-one-out, influence, ...), kept as typed columns.

    A subclass is a frozen dataclass whose fields are ``study`` (labels), the numeric columns
    named in :attr:`COLUMNS` (arrays, made read-only) and ``result`` (the pooled result it was
    computed from).
    """

    #: The table's columns after ``study``, in order.
    COLUMNS: tuple[str, ...] = ()
    study: tuple[str, ...]

    def __post_init__(self) -> None:
        """Make the columns read-only."""
        for name in self.COLUMNS:
            column = getattr(self, name)
            if hasattr(column, "flags"):
                column.flags.writeable = False

    def to_frame(self) -> pd.DataFrame:
        """Return one row per study: ``study`` and the columns of :attr:`COLUMNS`."""
        import pandas as pd

        frame = pd.DataFrame({"study": list(self.study), **self._columns()})
        return frame.loc[:, ["study", *self._columns()]]

    def _columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COLUMNS}

    def to_dict(self) -> dict[str, Any]:
        """Return each column as a list (``study`` first; nan as None)."""
        out: dict[str, Any] = {"study": list(self.study)}
        for name, column in self._columns().items():
            out[name] = [
                None if isinstance(x, float) and not math.isfinite(x) else x
                for x in (float(v) for v in column)
            ]
        return out
