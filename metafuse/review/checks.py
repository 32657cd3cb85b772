"""Checks of a studies folder beyond its schema.

Each outcome row against the review's declared scales and windows, and links between the files.

Every check returns :class:`~metafuse.review.schema.Problem` s (``file:line: column: message``);
warnings (for example a time point in no bounded window) are marked and do not fail validation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from metafuse.measures import BINARY_MEASURES, CONTINUOUS_MEASURES
from metafuse.review.schema import RATIO, Problem
from metafuse.review.vocabulary import Outcome, Review

Add = Callable[..., None]


def missing(x: Any) -> bool:
    """Return True for a missing cell (None or nan)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def _adder(problems: list[Problem], path: str, lines: tuple[int, ...]) -> Add:
    def add(i: int, col: str, msg: str, warning: bool = False) -> None:
        problems.append(Problem(path, lines[i], col, msg, warning))

    return add


_RANGE_TEXT = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(-?\d+(?:\.\d+)?)")


def _declared_scale(add: Add, i: int, r: Any, outcome: Outcome) -> None:
    """Check that a record's scale is the outcome's declared scale.

    A record whose `scale` names another range (0-10 against a declared 0-100) cannot be pooled with
    the others as it stands: an error, or a warning for a baseline record.
    """
    assert outcome.range is not None
    found = _RANGE_TEXT.search(str(r.scale))
    if not found:
        return
    lo, hi = float(found.group(1)), float(found.group(2))
    if (lo, hi) != outcome.range:
        baseline = not missing(r.timepoint_months) and r.timepoint_months == 0
        add(
            i,
            "scale",
            f"the record's scale ({found.group(0)}) differs from the declared "
            f"{outcome.key} range {outcome.range[0]:g}-{outcome.range[1]:g} "
            "(review.toml); rescale it before it can be pooled",
            warning=baseline,
        )


def _scale_problems(add: Add, i: int, r: Any, outcome: Outcome) -> None:
    """Means and SDs against the declared range: 340 on a 0-100 scale, or a fraction, is wrong."""
    if outcome.range is None:
        return
    _declared_scale(add, i, r, outcome)
    lo, hi = outcome.range
    width = hi - lo
    change = "change" in str(r.scale).lower()
    low, high = (-width, width) if change else (lo, hi)
    if not missing(r.mean) and not low <= r.mean <= high:
        add(
            i,
            "mean",
            f"{r.mean:g} lies outside the declared {outcome.label} scale "
            f"[{low:g}, {high:g}] (review.toml)",
        )
    if not missing(r.sd) and r.sd > width / 2 * (2 if change else 1):
        add(
            i,
            "sd",
            f"SD {r.sd:g} is impossible on a scale of width {width:g} (at most "
            f"{width / 2 * (2 if change else 1):g})",
        )
    fraction = width / 100
    if (
        width >= 10
        and not change
        and not missing(r.mean)
        and 0 < r.mean <= fraction
        and (missing(r.sd) or r.sd <= fraction)
    ):
        add(i, "mean", f"{r.mean:g} looks like a fraction; the declared scale is [{lo:g}, {hi:g}]")


def _contrast_problems(add: Add, i: int, r: Any, outcome: Outcome | None) -> None:
    if not missing(r.arm):
        add(i, "arm", "contrast rows have no arm")
    for col in ("measure", "estimate", "ci_low", "ci_high", "direction"):
        if missing(getattr(r, col)):
            add(i, col, "missing value (required for a contrast)")
    if any(missing(getattr(r, c)) for c in ("estimate", "ci_low", "ci_high")):
        return
    if not r.ci_low < r.ci_high:
        add(i, "ci_low", f"ci_low ({r.ci_low:g}) must be below ci_high ({r.ci_high:g})")
    elif not r.ci_low <= r.estimate <= r.ci_high:
        add(
            i,
            "estimate",
            f"estimate {r.estimate:g} lies outside its CI [{r.ci_low:g}, {r.ci_high:g}]",
        )
    if r.measure in RATIO and min(r.estimate, r.ci_low) <= 0:
        add(i, "ci_low", "ratio estimates and CIs must be positive")
    if outcome is not None and not missing(r.measure):
        expected = BINARY_MEASURES if outcome.is_binary else CONTINUOUS_MEASURES
        if r.measure not in expected:
            add(i, "measure", f"{r.measure} does not fit {outcome.type} outcome {outcome.key}")


def _arm_problems(add: Add, i: int, r: Any, outcome: Outcome | None) -> None:
    if missing(r.arm):
        add(i, "arm", "arm rows need arm exp or ctrl")
    for col in ("measure", "estimate", "ci_low", "ci_high", "direction"):
        if not missing(getattr(r, col)):
            add(i, col, "belongs to contrast rows, not arm rows")
    for col in ("n", "events"):
        v = getattr(r, col)
        if not missing(v) and v != math.floor(v):
            add(i, col, f"count must be a whole number, got {v:g}")
    if not missing(r.events) and not missing(r.n) and r.events > r.n:
        add(i, "events", f"events ({r.events:g}) exceed n ({r.n:g})")
    if outcome is None:
        return
    if outcome.is_binary and not (missing(r.mean) and missing(r.sd)):
        add(i, "mean", f"{outcome.key} is binary: give events and n, not a mean")
    if not outcome.is_binary and not missing(r.events):
        add(i, "events", f"{outcome.key} is continuous: give mean, SD and n, not events")
    if not outcome.is_binary:
        _scale_problems(add, i, r, outcome)


def _window_warning(add: Add, i: int, r: Any, review: Review) -> None:
    months = float(r.timepoint_months) if not missing(r.timepoint_months) else math.nan
    bounded = review.bounded_windows()
    if math.isnan(months) or months == 0 or not bounded:
        return
    if not any(w.contains(months) for w in bounded):
        names = ", ".join(f"{w.key}: {w.months[0]:g}-{w.months[1]:g}" for w in bounded if w.months)
        add(
            i,
            "timepoint_months",
            f"{months:g} months lies in no follow-up window ({names}); "
            "the record enters only a longest-follow-up analysis",
            warning=True,
        )


def outcome_problems(
    o: pd.DataFrame, path: str, lines: tuple[int, ...], review: Review
) -> list[Problem]:
    """Row checks of outcomes.csv and the grouping of rows into records."""
    problems: list[Problem] = []
    add = _adder(problems, path, lines)
    for i, r in enumerate(o.itertuples(index=False)):
        outcome = review.outcomes.get(r.outcome)
        if r.data_type == "arm":
            _arm_problems(add, i, r, outcome)
        else:
            _contrast_problems(add, i, r, outcome)
        if r.primary == "yes":
            _window_warning(add, i, r, review)
    _record_problems(o, add)
    return problems


def _record_problems(o: pd.DataFrame, add: Add) -> None:
    """One record = two arm rows (exp, ctrl) or one contrast row, described alike.

    At most one primary record per report x outcome x time point; no duplicated rows.
    """
    for record, rows in o.groupby("record_id", sort=False):
        idx = [int(k) for k in rows.index]
        for col in ("report_id", "outcome", "timepoint_months", "data_type", "primary", "analysis"):
            if rows[col].nunique(dropna=False) > 1:
                add(idx[1], col, f"differs from the other rows of record {record!r}")
        kind = rows["data_type"].iloc[0]
        if kind == "contrast" and len(idx) != 1:
            add(idx[1], "record_id", f"contrast record {record!r} must be a single row")
        if kind == "arm" and sorted(rows["arm"].fillna("?")) != ["ctrl", "exp"]:
            add(idx[0], "arm", f"record {record!r} needs exactly one exp and one ctrl row")
    dup = o.drop(columns=["approximate"], errors="ignore").astype(str).duplicated()
    for i in np.flatnonzero(dup.to_numpy()):
        add(int(i), "", "duplicated row")
    prim = o[o["primary"] == "yes"].drop_duplicates("record_id")
    # compared as columns, not as joined text: an unstated time point (NaN) is one value of its
    # own, equal only to another unstated time point of the same report and outcome
    key = prim[["report_id", "outcome", "timepoint_months"]]
    for i in np.flatnonzero(key.duplicated().to_numpy()):
        add(
            int(prim.index[i]),
            "primary",
            "a second primary record for the same report, outcome and time point",
        )
