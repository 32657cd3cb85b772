"""From a validated study table to :class:`~metafuse.results.EffectSizes`.

One dispatch on the measure, and the true reason for every study that is not estimable.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np

from metafuse._arrays import BoolArray, FloatArray
from metafuse.data.validate import StudyTable
from metafuse.effects import binary, change, continuous, generic, proportions, rates
from metafuse.effects.binary import DEFAULT_ADD, DEFAULT_TO, CorrectWhen
from metafuse.effects.scales import scale_for
from metafuse.exceptions import DataError
from metafuse.measures import (
    BINARY_MEASURES,
    CHANGE_MEASURES,
    RATE_MEASURES,
    SINGLE_RATE_MEASURES,
)
from metafuse.results import EffectSizes

#: Measures whose studies can have a zero count (not estimable without a continuity correction).
COUNT_MEASURES = (*BINARY_MEASURES, "PLO", "PETO", *RATE_MEASURES, *SINGLE_RATE_MEASURES)


def _generic(table: StudyTable, ratio: bool) -> tuple[FloatArray, FloatArray]:
    """yi/sei where given, otherwise the estimate with its CI."""
    v = table.column
    n = len(table.study)
    yi, sei = np.full(n, np.nan), np.full(n, np.nan)
    if "yi" in table.values:
        yi, sei = v("yi").copy(), v("sei").copy()
    if "estimate" in table.values:
        y2, s2 = generic.from_confidence_interval(
            v("estimate"), v("ci_low"), v("ci_high"), ratio=ratio
        )
        use = np.isnan(yi) | np.isnan(sei)
        yi, sei = np.where(use, y2, yi), np.where(use, s2, sei)
    return yi, sei**2


def _change(table: StudyTable) -> tuple[FloatArray, FloatArray]:
    v = table.column
    means = (v("mean_post"), v("mean_pre"))
    if table.measure == "SMCR":
        return change.standardized_mean_change_raw_score(*means, v("sd_pre"), v("n"), v("r"))
    fn = {
        "MC": change.mean_change,
        "SMCC": change.standardized_mean_change_change_score,
        "SMCRH": change.standardized_mean_change_heteroscedastic,
    }[table.measure]
    return fn(*means, v("sd_post"), v("sd_pre"), v("n"), v("r"))


def raw_effects(
    table: StudyTable,
    *,
    add: float,
    to: CorrectWhen,
    drop00: bool,
    ratio: bool,
    smd: str = "exact",
    rd_uncorrected: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Per-study ``(yi, vi)`` on the analysis scale (nan = not estimable)."""
    m, v = table.measure, table.column
    with np.errstate(all="ignore"):
        if m in BINARY_MEASURES:
            return binary.two_by_two(
                m,
                v("events_exp"),
                v("n_exp"),
                v("events_ctrl"),
                v("n_ctrl"),
                add=add,
                to=to,
                drop00=drop00,
                rd_uncorrected=rd_uncorrected,
            )
        if m == "PLO":
            return proportions.proportion_logit(v("events"), v("n"), add=add, to=to)
        if m == "PFT":
            return proportions.proportion_freeman_tukey(v("events"), v("n"))
        if m == "PETO":
            cells = (v("events_exp"), v("n_exp"), v("events_ctrl"), v("n_ctrl"))
            return binary.peto_log_odds_ratio(*cells, add=add, to=to, drop00=drop00)
        if m in RATE_MEASURES:
            fn_rate = rates.incidence_rate_ratio if m == "IRR" else rates.incidence_rate_difference
            cols = ("events_exp", "time_exp", "events_ctrl", "time_ctrl")
            return fn_rate(*(v(c) for c in cols), add=add, to=to)
        if m in SINGLE_RATE_MEASURES:
            return rates.log_incidence_rate(v("events"), v("time"), add=add, to=to)
        if m in CHANGE_MEASURES:
            return _change(table)
        if m in ("MD", "SMD"):
            arm_cols = ("mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl")
            m1, s1, n1, m2, s2, n2 = (v(c) for c in arm_cols)
            if m == "MD":
                return continuous.mean_difference(m1, s1, n1, m2, s2, n2)
            return continuous.standardized_mean_difference(m1, s1, n1, m2, s2, n2, correction=smd)
        return _generic(table, ratio)


def _reason(table: StudyTable, i: int, drop00: bool, zero: BoolArray) -> str:
    """Why study ``i`` has no usable effect size."""
    if table.measure in (*BINARY_MEASURES, "PETO") and drop00 and zero[i]:
        v = table.column
        if v("events_exp")[i] == 0:
            return "no events in either arm (not estimable for " + table.measure + ")"
        return "events in every participant of both arms (not estimable for " + table.measure + ")"
    if table.measure in COUNT_MEASURES:
        return "a zero count without continuity correction (to='none' or add=0)"
    return "the effect size or its variance is not a finite number"


def study_effects(
    table: StudyTable,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
    drop00: bool | None = None,
    ratio: bool = False,
    scale_name: str | None = None,
    unit: str | None = None,
    smd: str = "exact",
    rd_uncorrected: bool = False,
) -> EffectSizes:
    """Effect sizes of a validated table, with the reason for each non-estimable study.

    Non-finite values computed from finite inputs (an overflow, e.g. means of 1e308) are
    errors naming the study, never silent: only zero cells under the double-zero rule, or a zero
    cell without a correction, make a study "not estimable".
    """
    if drop00 is None:
        drop00 = table.measure in ("RR", "OR", "PETO")
    yi, vi = raw_effects(
        table, add=add, to=to, drop00=drop00, ratio=ratio, smd=smd, rd_uncorrected=rd_uncorrected
    )
    zero = np.zeros(len(yi), dtype=bool)
    if table.measure in (*BINARY_MEASURES, "PETO"):
        v = table.column
        zero = binary.double_zero(v("events_exp"), v("n_exp"), v("events_ctrl"), v("n_ctrl"))
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    notes: list[str | None] = []
    for i, good in enumerate(ok):
        if good:
            notes.append(None)
            continue
        zero_cell = table.measure in COUNT_MEASURES and (zero[i] or to == "none" or add == 0)
        if not zero_cell:
            raise DataError(
                "the effect size or its variance is not a finite positive number (values too "
                "large or too small to compute with)",
                row=table.rows[i],
                study=table.study[i],
            )
        notes.append(_reason(table, i, drop00, zero))
    data = tuple(table.row(i) for i in range(len(yi)))
    options: dict[str, Any] = {"add": add, "to": to, "drop00": drop00, "ratio": ratio}
    if smd != "exact" and table.measure == "SMD":
        options["smd"] = smd
    if rd_uncorrected and table.measure == "RD":
        options["rd_uncorrected"] = True
    n_harmonic = None
    if table.measure == "PFT":
        sizes = table.column("n")[ok]
        n_harmonic = float(len(sizes) / np.sum(1.0 / sizes)) if sizes.size else None
    scale = scale_for(table.measure, ratio=ratio, name=scale_name, unit=unit, n_harmonic=n_harmonic)
    return EffectSizes(
        measure=table.measure,
        labels=table.study,
        yi=np.where(ok, yi, np.nan),
        vi=np.where(ok, vi, np.nan),
        data=data,
        notes=tuple(notes),
        scale=scale,
        excluded=table.excluded,
        options=MappingProxyType(options),
        rows=table.rows,
    )
