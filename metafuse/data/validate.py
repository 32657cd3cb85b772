"""Checking study data before any statistic is computed.

:func:`prepare_studies` turns a DataFrame into validated numeric arrays. Every problem is a
:class:`~metafuse.exceptions.DataError` naming the row and column; a row with no data at all is
excluded with an :class:`~metafuse.exceptions.ExcludedStudyWarning` naming it. Nothing is dropped
silently. Text cells are numbers only as a spreadsheet reads them
(:func:`metafuse.data.numbers.parse_number`). Duplicate study labels are allowed (published
datasets have two trials by one author): they are pooled, with a
:class:`~metafuse.exceptions.DuplicateLabelWarning`, under labels made unique by
:func:`~metafuse.data.labels.unique_labels`; a row that repeats another exactly (same label and
numbers) is an error, not a second study. A million rows are checked at array speed: rows that
certainly pass are found for all rows at once, the others checked one by one in order.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd

from metafuse._arrays import BoolArray, FloatArray
from metafuse.data.csv import MISSING_TEXTS
from metafuse.data.labels import refuse_repeated_rows, unique_labels
from metafuse.data.numbers import parse_number
from metafuse.exceptions import DataError, DuplicateLabelWarning, ExcludedStudyWarning
from metafuse.measures import (
    BINARY_COLUMNS,
    BINARY_MEASURES,
    CHANGE_COLUMNS,
    CHANGE_MEASURES,
    CONTINUOUS_COLUMNS,
    CONTINUOUS_MEASURES,
    GENERIC_CI_COLUMNS,
    GENERIC_SE_COLUMNS,
    PETO_MEASURES,
    PROPORTION_COLUMNS,
    PROPORTION_MEASURES,
    RATE_COLUMNS,
    RATE_MEASURES,
    SINGLE_RATE_COLUMNS,
    SINGLE_RATE_MEASURES,
    SMCR_COLUMNS,
)

COUNT_COLUMNS: Final = frozenset({"events_exp", "n_exp", "events_ctrl", "n_ctrl", "events", "n"})
#: Counts above this are refused: no trial has ten billion participants, and such values only
#: come from a wrong column or a typo (they would pool to nonsense without a warning).
MAX_COUNT: Final = 1e10


@dataclass(frozen=True)
class StudyTable:
    """Validated numeric study data for one analysis.

    ``values`` maps each input column to a float array (``nan`` where a generic row uses the other
    column set); ``rows`` are the 0-based positions of the kept rows in the input; ``study`` are
    unique labels (see :func:`unique_labels`).
    """

    measure: str
    study: tuple[str, ...]
    rows: tuple[int, ...]
    values: MappingProxyType[str, FloatArray]
    #: (study label or row description, reason) for rows left out because they hold no data.
    excluded: tuple[tuple[str, str], ...]

    def column(self, name: str) -> FloatArray:
        """Return the float array of one input column."""
        return self.values[name]

    def row(self, i: int) -> MappingProxyType[str, float]:
        """Study ``i``'s input values (column -> float), read-only.

        Study ``i``'s input values (column -> float), read-only: a view of the columns, not a copy
        (a million studies need no million dicts).
        """
        return MappingProxyType(_RowView(self.values, i))


class _RowView(Mapping[str, float]):
    """One row of a table's columns as a mapping (the columns are read-only arrays)."""

    __slots__ = ("_columns", "_i")

    def __init__(self, columns: Mapping[str, FloatArray], i: int) -> None:
        self._columns, self._i = columns, i

    def __getitem__(self, key: str) -> float:
        return float(self._columns[key][self._i])

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __repr__(self) -> str:
        return repr(dict(self))


def required_columns(measure: str, columns: Sequence[str] = ()) -> tuple[str, ...]:
    """Input columns a measure needs (for GEN: the column sets present in ``columns``)."""
    if measure in BINARY_MEASURES or measure in PETO_MEASURES:
        return BINARY_COLUMNS
    if measure in RATE_MEASURES:
        return RATE_COLUMNS
    if measure in SINGLE_RATE_MEASURES:
        return SINGLE_RATE_COLUMNS
    if measure == "SMCR":
        return SMCR_COLUMNS
    if measure in CHANGE_MEASURES:
        return CHANGE_COLUMNS
    if measure in CONTINUOUS_MEASURES:
        return CONTINUOUS_COLUMNS
    if measure in PROPORTION_MEASURES:
        return PROPORTION_COLUMNS
    return tuple(c for c in GENERIC_SE_COLUMNS + GENERIC_CI_COLUMNS if c in columns)


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() in MISSING_TEXTS
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _numeric(series: pd.Series, column: str, labels: Sequence[str]) -> FloatArray:
    """Column as floats.

    Column as floats; text is read as a spreadsheet reads numbers
    (:func:`metafuse.data.numbers.parse_number`, once per distinct text); non-numeric, infinite or
    bool entries are errors naming their row.
    """
    if series.dtype.kind in "iuf":  # already numbers (a frame read by pandas): nan is missing
        out = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        bad = np.flatnonzero(np.isinf(out))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"not a finite number: {float(out[i])!r}", row=i, column=column,
                            study=labels[i] or None)  # fmt: skip
        return out
    out = np.full(len(series), np.nan)
    parsed: dict[str, float] = {}
    for i, raw in enumerate(series.tolist()):
        if isinstance(raw, str) and raw in parsed:
            out[i] = parsed[raw]
            continue
        if _is_missing(raw):
            continue
        try:
            if isinstance(raw, bool):
                raise ValueError(f"not a number: {raw!r}")
            value = parse_number(raw) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError, OverflowError) as err:
            message = str(err) if isinstance(raw, str) else f"not a number: {raw!r}"
            raise DataError(message, row=i, column=column, study=labels[i] or None) from None
        if not np.isfinite(value):
            raise DataError(
                f"not a finite number: {raw!r}", row=i, column=column, study=labels[i] or None
            )
        if isinstance(raw, str):
            parsed[raw] = value
        out[i] = value
    return out


def _labels(data: pd.DataFrame) -> list[str]:
    if "study" not in data.columns:
        raise DataError("missing required column 'study'", column="study")
    return [
        "" if v is None or (not isinstance(v, str) and _is_missing(v)) else str(v).strip()
        for v in data["study"].tolist()
    ]


def _check_columns(data: pd.DataFrame, measure: str, needed: Sequence[str]) -> None:
    if measure == "GEN" and not needed:
        raise DataError(
            "generic data need columns 'yi' and 'sei', or 'estimate', 'ci_low' and 'ci_high'"
        )
    for col in needed:
        if col not in data.columns:
            raise DataError(f"missing required column {col!r} for measure {measure}", column=col)
    if measure == "GEN":
        for group in (GENERIC_SE_COLUMNS, GENERIC_CI_COLUMNS):
            present = [c for c in group if c in data.columns]
            if present and len(present) < len(group):
                missing = next(c for c in group if c not in data.columns)
                hint = (
                    " (generic data take standard errors: sei = the square root of vi)"
                    if missing == "sei" and "vi" in data.columns
                    else ""
                )
                raise DataError(
                    f"missing column {missing!r} (goes with {present[0]!r}){hint}", column=missing
                )


def prepare_studies(
    data: pd.DataFrame, measure: str, *, ratio: bool = False, warn_excluded: bool = True
) -> StudyTable:
    """Validate study data for ``measure`` and return it as numeric arrays.

    A row without data is excluded and listed in the table's ``excluded``; with
    ``warn_excluded`` an :class:`~metafuse.exceptions.ExcludedStudyWarning` names it too.

    Raises
    ------
    DataError
        For a missing column, a missing or non-numeric value in a row that has some data, or an
        impossible value (events > n, negative or non-integer counts, SD <= 0, n <= 0, a CI that
        does not contain its estimate, an implausibly large count).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(data).__name__}")
    data = data.reset_index(drop=True)
    labels = _labels(data)
    needed = required_columns(measure, list(data.columns))
    _check_columns(data, measure, needed)
    values = {col: _numeric(data[col], col, labels) for col in needed}
    matrix = np.column_stack([values[c] for c in needed]) if needed else np.empty((len(data), 0))
    empty = np.asarray(np.isnan(matrix).all(axis=1), dtype=bool)
    excluded: list[tuple[str, str]] = []
    keep: list[int] = []
    unlabelled = np.asarray([not label for label in labels], dtype=bool)
    clean = _clean_rows(measure, needed, values) & ~unlabelled & ~empty
    for i in range(len(data)):
        if clean[i]:  # passes every check of _check_row (see _clean_rows)
            keep.append(i)
            continue
        if empty[i]:
            name = labels[i] or f"row {i + 1}"
            excluded.append((name, "no data"))
            who = f"study {name!r}" if labels[i] else f"unlabelled {name}"
            if not warn_excluded:
                continue
            warnings.warn(
                f"{who} has no data for {measure} and is excluded",
                ExcludedStudyWarning,
                stacklevel=3,
            )
            continue
        if not labels[i]:
            raise DataError("missing study label", row=i, column="study")
        _check_row(measure, needed, values, i, labels[i], ratio=ratio)
        keep.append(i)
    kept_labels = [labels[i] for i in keep]
    refuse_repeated_rows(kept_labels, keep, matrix)
    unique = unique_labels(kept_labels)
    renamed = [f"{a!r} -> {b!r}" for a, b in zip(kept_labels, unique, strict=True) if a != b]
    if renamed:
        warnings.warn(
            "duplicate study labels, pooled as separate studies: " + ", ".join(renamed),
            DuplicateLabelWarning,
            stacklevel=3,
        )
    idx = np.asarray(keep, dtype=int)
    return StudyTable(
        measure=measure,
        study=tuple(unique),
        rows=tuple(keep),
        values=MappingProxyType({col: _frozen(arr[idx]) for col, arr in values.items()}),
        excluded=tuple(excluded),
    )


def _clean_rows(measure: str, needed: Sequence[str], values: dict[str, FloatArray]) -> BoolArray:
    """Rows that certainly pass :func:`_check_row`, found for all rows at once.

    Rows that certainly pass :func:`_check_row`, found for all rows at once (a million rows are
    checked in milliseconds); every other row is checked one by one, in order, so errors are the
    same. Generic rows are always checked one by one.
    """
    n = len(next(iter(values.values()))) if values else 0
    if measure == "GEN" or not needed:
        return np.zeros(n, dtype=bool)
    ok = np.ones(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        for c in needed:
            x = values[c]
            ok &= ~np.isnan(x)
            if c in COUNT_COLUMNS:
                ok &= (x == np.floor(x)) & (x <= MAX_COUNT)
            if c == "n" or c.startswith("n_"):
                ok &= x > 0
            if c.startswith("events"):
                ok &= x >= 0
            if c.startswith(("sd_", "time_")):
                ok &= x > 0
            if c == "r":
                ok &= (x >= -1) & (x <= 1)
        if measure in CHANGE_MEASURES:
            ok &= values["n"] >= 2
        if measure in BINARY_MEASURES or measure in PETO_MEASURES:
            ok &= (values["events_exp"] <= values["n_exp"]) & (
                values["events_ctrl"] <= values["n_ctrl"]
            )
        if measure in PROPORTION_MEASURES:
            ok &= values["events"] <= values["n"]
        if measure == "SMD":
            ok &= values["n_exp"] + values["n_ctrl"] >= 4
    return ok


def _frozen(array: FloatArray) -> FloatArray:
    array.setflags(write=False)
    return array


def _check_generic(v: dict[str, float], fail: Any, *, ratio: bool) -> None:
    se_set = [c for c in GENERIC_SE_COLUMNS if c in v]
    ci_set = [c for c in GENERIC_CI_COLUMNS if c in v]
    complete = [s for s in (se_set, ci_set) if s and not any(np.isnan(v[c]) for c in s)]
    if not complete:
        for group in (se_set, ci_set):  # the first missing value of the set the row started
            if any(not np.isnan(v[c]) for c in group):
                fail("missing value", next(c for c in group if np.isnan(v[c])))
    if se_set and not np.isnan(v["sei"]) and v["sei"] <= 0:
        fail(f"standard error must be > 0, got {v['sei']:g}", "sei")
    if ci_set and all(not np.isnan(v[c]) for c in ci_set):
        est, lo, hi = v["estimate"], v["ci_low"], v["ci_high"]
        if ratio:
            for c in ci_set:
                if v[c] <= 0:
                    fail(f"ratio must be > 0, got {v[c]:g}", c)
        if not lo < hi:
            fail(f"ci_low ({lo:g}) must be below ci_high ({hi:g})", "ci_low")
        if not lo <= est <= hi:
            fail(f"estimate {est:g} lies outside its CI [{lo:g}, {hi:g}]", "estimate")


def _check_values(v: dict[str, float], fail: Any) -> None:
    for c, x in v.items():
        if np.isnan(x):
            fail("missing value", c)
        if c in COUNT_COLUMNS and x != np.floor(x):
            fail(f"count must be a whole number, got {x:g}", c)
        if c in COUNT_COLUMNS and x > MAX_COUNT:
            fail(f"count {x:g} is implausibly large (more than {MAX_COUNT:g})", c)
        if (c == "n" or c.startswith("n_")) and x <= 0:
            fail(f"number of participants must be > 0, got {x:g}", c)
        if c.startswith("events") and x < 0:
            fail(f"number of events must be >= 0, got {x:g}", c)
        if c.startswith("sd_") and x <= 0:
            fail(f"standard deviation must be > 0, got {x:g}", c)
        if (c == "time" or c.startswith("time_")) and x <= 0:
            fail(f"person-time must be > 0, got {x:g}", c)
        if c == "r" and not -1 <= x <= 1:
            fail(f"a correlation must lie in [-1, 1], got {x:g}", c)


def _check_row(
    measure: str,
    needed: Sequence[str],
    values: dict[str, FloatArray],
    i: int,
    label: str,
    *,
    ratio: bool,
) -> None:
    def fail(msg: str, col: str) -> None:
        raise DataError(msg, row=i, column=col, study=label)

    v = {c: float(values[c][i]) for c in needed}
    if measure == "GEN":
        _check_generic(v, fail, ratio=ratio)
        return
    _check_values(v, fail)
    if measure in CHANGE_MEASURES and v["n"] < 2:
        fail("a pre-post design needs at least 2 participants", "n")
    if measure in BINARY_MEASURES or measure in PETO_MEASURES:
        for arm in ("exp", "ctrl"):
            if v[f"events_{arm}"] > v[f"n_{arm}"]:
                fail(
                    f"events_{arm} ({v[f'events_{arm}']:g}) exceeds n_{arm} ({v[f'n_{arm}']:g})",
                    f"events_{arm}",
                )
    if measure in PROPORTION_MEASURES and v["events"] > v["n"]:
        fail(f"events ({v['events']:g}) exceed n ({v['n']:g})", "events")
    if measure == "SMD" and v["n_exp"] + v["n_ctrl"] < 4:
        fail("SMD needs at least 4 participants in the two arms together", "n_ctrl")
