"""Checking study data before any statistic is computed.

:func:`prepare_studies` turns a DataFrame into validated numeric arrays. Every problem is a
:class:`~metafuse.exceptions.DataError` naming the row and column; a row with no data at all is
excluded with an :class:`~metafuse.exceptions.ExcludedStudyWarning` naming it. Nothing is dropped
silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from metafuse.exceptions import DataError, ExcludedStudyWarning
from metafuse.measures import (
    BINARY_COLUMNS,
    BINARY_MEASURES,
    CONTINUOUS_COLUMNS,
    CONTINUOUS_MEASURES,
    GENERIC_CI_COLUMNS,
    GENERIC_SE_COLUMNS,
    PROPORTION_COLUMNS,
    PROPORTION_MEASURES,
)

FloatArray = npt.NDArray[np.float64]

COUNT_COLUMNS = frozenset({"events_exp", "n_exp", "events_ctrl", "n_ctrl", "events", "n"})


@dataclass(frozen=True)
class StudyTable:
    """Validated numeric study data for one analysis.

    ``values`` maps each input column to a float array (``nan`` where a generic row uses the other
    column set); ``rows`` are the 0-based positions of the kept rows in the input.
    """

    measure: str
    study: tuple[str, ...]
    rows: tuple[int, ...]
    values: MappingProxyType[str, FloatArray]
    #: (study label or row description, reason) for rows left out because they hold no data.
    excluded: tuple[tuple[str, str], ...]

    def column(self, name: str) -> FloatArray:
        """The float array of one input column."""
        return self.values[name]


def required_columns(measure: str, columns: Sequence[str] = ()) -> tuple[str, ...]:
    """Input columns a measure needs (for GEN: the column sets present in ``columns``)."""
    if measure in BINARY_MEASURES:
        return BINARY_COLUMNS
    if measure in CONTINUOUS_MEASURES:
        return CONTINUOUS_COLUMNS
    if measure in PROPORTION_MEASURES:
        return PROPORTION_COLUMNS
    present = [c for c in GENERIC_SE_COLUMNS + GENERIC_CI_COLUMNS if c in columns]
    return tuple(present)


def _numeric(series: pd.Series, column: str, labels: Sequence[str]) -> FloatArray:
    """Column as floats; non-numeric or infinite entries are errors naming their row."""
    raw = series.astype(object)
    blank = raw.map(lambda v: v is None or (isinstance(v, str) and not v.strip()) or _isnan(v))
    converted = pd.to_numeric(raw.where(~blank, np.nan).map(_strip), errors="coerce")
    bad = (~blank) & (converted.isna() | raw.map(lambda v: isinstance(v, bool)))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"not a number: {raw.iloc[i]!r}", row=i, column=column, study=labels[i] or None
        )
    out = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    inf = np.isinf(out)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise DataError(
            f"not a finite number: {raw.iloc[i]!r}", row=i, column=column, study=labels[i] or None
        )
    return out


def _strip(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _isnan(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _labels(data: pd.DataFrame) -> list[str]:
    if "study" not in data.columns:
        raise DataError("missing required column 'study'", column="study")
    labels = []
    for v in data["study"].tolist():
        labels.append("" if v is None or _isnan(v) else str(v).strip())
    return labels


def prepare_studies(data: pd.DataFrame, measure: str, *, ratio: bool = False) -> StudyTable:
    """Validate study data for ``measure`` and return it as numeric arrays.

    Raises
    ------
    DataError
        For a missing column, a missing or non-numeric value in a row that has some data, an
        impossible value (events > n, negative counts, non-integer counts, SD <= 0, n <= 0, a CI
        that does not contain its estimate), or a duplicated study label.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(data).__name__}")
    data = data.reset_index(drop=True)
    labels = _labels(data)
    needed = required_columns(measure, list(data.columns))
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
                raise DataError(
                    f"missing column {missing!r} (goes with {present[0]!r})", column=missing
                )
    values = {col: _numeric(data[col], col, labels) for col in needed}
    matrix = np.column_stack([values[c] for c in needed]) if needed else np.empty((len(data), 0))
    empty = np.isnan(matrix).all(axis=1)

    excluded: list[tuple[str, str]] = []
    keep: list[int] = []
    for i in range(len(data)):
        if empty[i]:
            name = labels[i] or f"row {i + 1}"
            excluded.append((name, "no data"))
            who = f"study {name!r}" if labels[i] else f"unlabelled {name}"
            warnings.warn(
                f"{who} has no data for {measure} and is excluded",
                ExcludedStudyWarning,
                stacklevel=2,
            )
            continue
        if not labels[i]:
            raise DataError("missing study label", row=i, column="study")
        _check_row(measure, needed, values, i, labels[i], ratio=ratio)
        keep.append(i)

    seen: dict[str, int] = {}
    for i in keep:
        if labels[i] in seen:
            raise DataError(
                f"duplicate study label {labels[i]!r}",
                row=i,
                column="study",
                study=labels[i],
                related_row=seen[labels[i]],
            )
        seen[labels[i]] = i

    idx = np.asarray(keep, dtype=int)
    kept = {col: arr[idx] for col, arr in values.items()}
    return StudyTable(
        measure=measure,
        study=tuple(labels[i] for i in keep),
        rows=tuple(keep),
        values=MappingProxyType(kept),
        excluded=tuple(excluded),
    )


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

    v = {c: values[c][i] for c in needed}
    if measure == "GEN":
        se_set = [c for c in GENERIC_SE_COLUMNS if c in v]
        ci_set = [c for c in GENERIC_CI_COLUMNS if c in v]
        complete = [s for s in (se_set, ci_set) if s and not any(np.isnan(v[c]) for c in s)]
        if not complete:
            # report the first missing value of the set the row started to fill in
            for group in (se_set, ci_set):
                started = [c for c in group if not np.isnan(v[c])]
                if started:
                    col = next(c for c in group if np.isnan(v[c]))
                    fail("missing value", col)
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
        return

    for c in needed:
        if np.isnan(v[c]):
            fail("missing value", c)
    for c in needed:
        x = v[c]
        if c in COUNT_COLUMNS and x != np.floor(x):
            fail(f"count must be a whole number, got {x:g}", c)
        if (c == "n" or c.startswith("n_")) and x <= 0:
            fail(f"number of participants must be > 0, got {x:g}", c)
        if c.startswith("events") and x < 0:
            fail(f"number of events must be >= 0, got {x:g}", c)
        if c.startswith("sd_") and x <= 0:
            fail(f"standard deviation must be > 0, got {x:g}", c)
    if measure in BINARY_MEASURES:
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
