"""The table behind a forest plot: one row per printed line, numbers on the display scale.

Built from the result only (its studies, their input values and weights, and refits of its model
for subtotals and the fixed-effect diamond); ``arm_data`` adds per-arm values that a generic
inverse-variance result does not carry (trials pooled from their contrast keep blank cells).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from metafuse.plots.forest.columns import ARM_KEYS, SINGLE_KEYS
from metafuse.plots.forest.text import (
    cut_label,
    fmt_effect,
    heterogeneity_text,
    overall_test_text,
    subgroup_test_text,
    year_of,
)
from metafuse.pooling import refit
from metafuse.results import PooledResult, StudyEstimate
from metafuse.toolbox.subgroups import difference_test as subgroup_difference_test

ArmData = Mapping[str, Mapping[str, float]]
NUMERIC = ("est", "lo", "hi", "weight", *ARM_KEYS, *(k for k, _ in SINGLE_KEYS), "yi", "sei")
Z975 = float(-special.ndtri(0.025))


def is_proportion(result: PooledResult) -> bool:
    """Return True for single-group measures (proportions PLO, PFT; the rate IRLN).

    They are shown back-transformed, without a test of the overall effect (a test against a
    proportion of 0.5, or a rate of 1, answers no question here).
    """
    return result.display_scale.null is None


def _display(result: PooledResult, ratio: bool) -> Callable[[float | None], float | None]:
    scale = result.display_scale
    if ratio and not scale.is_ratio:  # a GEN result shown as ratios on request
        return lambda x: None if x is None else math.exp(x)
    if not ratio and scale.is_ratio:
        return lambda x: x
    return scale.display


def _study_row(
    s: StudyEstimate, show: Callable[[float | None], float | None], extra: Mapping[str, float]
) -> dict[str, Any]:
    est = lo = hi = None
    if s.yi is not None and s.sei is not None:
        est, lo, hi = (show(v) for v in (s.yi, s.yi - Z975 * s.sei, s.yi + Z975 * s.sei))
    values = {**extra, **dict(s.data)}
    return {
        "row_type": "study",
        "label": cut_label(s.study),
        "study": s.study,
        "est": est,
        "lo": lo,
        "hi": hi,
        "weight": s.weight_percent,
        **{k: values.get(k) for k in (*ARM_KEYS, *(k for k, _ in SINGLE_KEYS))},
        "yi": s.yi,
        "sei": s.sei,
        "effect_text": fmt_effect(est, lo, hi),
        "weight_text": f"{s.weight_percent:.1f}%",
    }


def _sum(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [r.get(key) for r in rows]
    if not values or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    return float(sum(values))  # type: ignore[arg-type]


def _total_rows(
    result: PooledResult,
    rows: list[dict[str, Any]],
    label: str,
    kind: str,
    show: Callable[[float | None], float | None],
) -> list[dict[str, Any]]:
    est, lo, hi = (show(v) for v in (result.estimate, result.ci_low, result.ci_high))
    weight = sum(r["weight"] for r in rows)
    total: dict[str, Any] = {
        "row_type": kind,
        "label": label,
        "est": est,
        "lo": lo,
        "hi": hi,
        "weight": weight,
        "effect_text": fmt_effect(est, lo, hi),
        "weight_text": f"{weight:.1f}%",
    }
    for key in ("n_exp", "n_ctrl", "time_exp", "time_ctrl", "n", "time"):
        total[key] = _sum(rows, key)
    out = [total]
    events = {k: _sum(rows, k) for k in ("events_exp", "events_ctrl", "events")}
    if any(v is not None for v in events.values()):
        out.append({"row_type": "total_events", "label": "Total events", **events})
    return out


def _ordered(result: PooledResult, order: str | None) -> list[StudyEstimate]:
    keys: dict[str, Callable[[StudyEstimate], tuple[float, ...]]] = {
        "year": lambda s: (year_of(s.study),),
        "weight": lambda s: (-s.weight_percent,),
        "effect": lambda s: (s.yi if s.yi is not None else math.inf,),
    }
    studies = list(result.studies)
    if order is not None:
        if order not in keys:
            raise ValueError(f"order must be one of year, weight, effect; got {order!r}")
        studies.sort(key=keys[order])
    return studies


def _drawn(studies: Sequence[StudyEstimate], max_studies: int | None) -> set[str]:
    """Return the studies drawn: all, or the ``max_studies`` with the largest weights."""
    if max_studies is None or len(studies) <= max_studies:
        return {s.study for s in studies}
    ranked = sorted(range(len(studies)), key=lambda i: (-studies[i].weight_percent, i))
    return {studies[i].study for i in ranked[:max_studies]}


def _more_row(hidden: Sequence[dict[str, Any]]) -> dict[str, Any]:
    weight = sum(r["weight"] for r in hidden)
    n = len(hidden)
    return {
        "row_type": "more",
        "label": f"+ {n} more {'study' if n == 1 else 'studies'} ({weight:.1f}% weight)",
    }


def _block(
    result: PooledResult,
    studies: Sequence[StudyEstimate],
    show: Callable[[float | None], float | None],
    arm_data: ArmData,
    drawn: set[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the printed rows and every study row of a block of studies."""
    every = [_study_row(s, show, arm_data.get(s.study, {})) for s in studies]
    printed = [r for r in every if r["study"] in drawn]
    hidden = [r for r in every if r["study"] not in drawn]
    if hidden:
        printed.append(_more_row(hidden))
    return printed, every


def _subgroup_rows(
    result: PooledResult,
    studies: Sequence[StudyEstimate],
    subgroups: Mapping[str, str],
    show: Callable[[float | None], float | None],
    arm_data: ArmData,
    drawn: set[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    missing = [s.study for s in studies if s.study not in subgroups]
    if missing:
        raise ValueError(f"no subgroup given for {missing[0]!r}")
    rows: list[dict[str, Any]] = []
    every: list[dict[str, Any]] = []
    estimates, ses = [], []
    for group in dict.fromkeys(subgroups[s.study] for s in studies):
        members = [s for s in studies if subgroups[s.study] == group]
        rows.append({"row_type": "header", "label": group})
        printed, block = _block(result, members, show, arm_data, drawn)
        rows += printed
        every += block
        keep = [s.study in {m.study for m in members} for s in result.studies]
        sub = refit(result, keep)
        # RevMan shows each subtotal's weight as its share of the overall analysis
        rows += _total_rows(sub, block, "Subtotal (95% CI)", "subtotal", show)
        rows.append({"row_type": "text", "label": heterogeneity_text(sub)})
        if not is_proportion(sub):
            rows.append({"row_type": "text", "label": overall_test_text(sub)})
        if sub.estimate is not None and sub.se is not None:
            estimates.append(sub.estimate)
            ses.append(sub.se)
    test = subgroup_test_text(*subgroup_difference_test(estimates, ses)) if len(ses) > 1 else None
    return rows, every, test


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in NUMERIC:
        if col not in frame:
            frame[col] = np.nan
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    for col in ("effect_text", "weight_text", "study"):
        if col not in frame:
            frame[col] = None
    return frame


def forest_data(
    result: PooledResult,
    *,
    order: str | None = None,
    subgroups: Mapping[str, str] | None = None,
    fixed: bool = False,
    prediction: bool = True,
    ratio: bool | None = None,
    arm_data: ArmData | None = None,
    max_studies: int | None = None,
) -> pd.DataFrame:
    """Return the rows of the forest plot, top to bottom, on the display scale.

    Parameters
    ----------
    result : PooledResult
        The meta-analysis.
    order : {None, "year", "weight", "effect"}, optional
        Data order, a 4-digit year in the study label, largest weight first, or smallest effect
        first.
    subgroups : mapping of str to str, optional
        Study label -> subgroup: each subgroup gets a header, its studies, a subtotal (the
        result's method) and its heterogeneity; the test for subgroup differences follows.
    fixed : bool, optional
        Add the fixed-effect diamond under a random-effects total.
    prediction : bool, optional
        Add the prediction interval (random effects, k >= 3).
    ratio : bool, optional
        Show generic (GEN) log-scale estimates as ratios (default: the result's scale).
    arm_data : mapping, optional
        Study label -> per-arm values (``events_exp``, ``mean_ctrl``, ...) shown where the result
        has none.
    max_studies : int, optional
        Draw at most this many studies (the largest weights, in their order); each block's
        others become one ``more`` row. Totals always use every study.

    Returns
    -------
    pandas.DataFrame
        ``row_type`` (header, study, more, subtotal, total, total_events, fixed, prediction,
        text), ``label``, ``est``/``lo``/``hi`` (display scale), ``weight`` (percent), per-arm
        values, ``yi``/``sei`` (analysis scale), ``effect_text``, ``weight_text``: the table the
        plot draws, as plot data (like ggplot's own data frames).
    """
    ratio = result.is_ratio if ratio is None else ratio
    show = _display(result, ratio)
    studies = _ordered(result, order)
    drawn = _drawn(studies, max_studies)
    arms = arm_data or {}
    test = None
    if subgroups:
        rows, every, test = _subgroup_rows(result, studies, subgroups, show, arms, drawn)
    else:
        rows, every = _block(result, studies, show, arms, drawn)
    rows += _total_rows(result, every, "Total (95% CI)", "total", show)
    if fixed and result.is_random:
        fe = refit(result, method="FE")
        est, lo, hi = (show(v) for v in (fe.estimate, fe.ci_low, fe.ci_high))
        rows.append(
            {
                "row_type": "fixed",
                "label": "Total, fixed effect (95% CI)",
                "est": est,
                "lo": lo,
                "hi": hi,
                "effect_text": fmt_effect(est, lo, hi),
            }
        )
    if prediction and result.pi_low is not None and result.pi_high is not None:
        lo, hi = show(result.pi_low), show(result.pi_high)
        rows.append(
            {
                "row_type": "prediction",
                "label": "Prediction interval",
                "lo": lo,
                "hi": hi,
                "effect_text": f"[{lo:.2f}, {hi:.2f}]",
            }
        )
    rows.append({"row_type": "text", "label": heterogeneity_text(result)})
    if not is_proportion(result):
        rows.append({"row_type": "text", "label": overall_test_text(result)})
    if test is not None:
        rows.append({"row_type": "text", "label": test})
    return _frame(rows)
