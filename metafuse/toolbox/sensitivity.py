"""Sensitivity analyses: leave-one-out and cumulative meta-analysis, each a single batch fit.

Both reproduce metafor's ``leave1out`` and ``cumul`` (Viechtbauer 2010). Inverse-variance models
are refitted as one batch of masked meta-analyses through the engine; Mantel-Haenszel and Peto
models are refitted on each subset's counts.

References
----------
Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic trials
    for myocardial infarction. N Engl J Med 327:248-254.
Viechtbauer W (2010). J Stat Softw 36(3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import BoolArray, FloatArray
from metafuse.engine.inverse_variance import fit_inverse_variance
from metafuse.measures import TABLE_METHODS
from metafuse.pooling import refit
from metafuse.result_protocol import StudyTable, short
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, model_options, used_effects

LOO_COLUMNS = ("study", "estimate", "se", "ci_low", "ci_high", "tau2", "I2", "Q")
CUMULATIVE_COLUMNS = ("study", "estimate", "ci_low", "ci_high", "tau2")


def _range_text(result: PooledResult, estimates: FloatArray) -> str:
    """The range of refitted estimates on the display scale, after the model's name."""
    scale = result.display_scale
    finite = estimates[np.isfinite(estimates)]
    span = "none estimable"
    if finite.size:
        low, high = scale.display(float(finite.min())), scale.display(float(finite.max()))
        span = f"{short(low)} to {short(high)}"
    return f"{result.measure} {result.method} k={len(estimates)}: estimates {span}"


@dataclass(frozen=True, repr=False)
class LeaveOneOut(StudyTable):
    """The model refitted without each study in turn (analysis scale; metafor's ``leave1out``).

    Row ``i`` is the fit without study ``study[i]``.
    """

    title = "Leave-one-out analysis"
    COLUMNS = LOO_COLUMNS[1:]
    study: tuple[str, ...]
    estimate: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    tau2: FloatArray
    I2: FloatArray
    Q: FloatArray
    #: The pooled result that was refitted.
    result: PooledResult

    def _headline(self) -> str:
        return _range_text(self.result, self.estimate) + " (one study left out)"


@dataclass(frozen=True, repr=False)
class Cumulative(StudyTable):
    """Cumulative meta-analysis (analysis scale; metafor's ``cumul``).

    Row ``i`` pools the first ``i + 1`` studies; ``study[i]`` is the study added.
    """

    title = "Cumulative meta-analysis"
    COLUMNS = CUMULATIVE_COLUMNS[1:]
    study: tuple[str, ...]
    estimate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    tau2: FloatArray
    #: The pooled result that was refitted.
    result: PooledResult

    def _headline(self) -> str:
        return _range_text(self.result, self.estimate) + " (studies added in data order)"


def subset_fits(result: PooledResult, masks: BoolArray) -> dict[str, np.ndarray]:
    """The result's model refitted on each row of ``masks`` (over the studies that enter it).

    Returns arrays of length ``len(masks)``: estimate, se, ci_low, ci_high, tau2, I2, Q, pval, k.
    """
    _labels, y, v = used_effects(result)
    if result.method not in TABLE_METHODS:
        fit = fit_inverse_variance(
            np.broadcast_to(y, masks.shape),
            np.broadcast_to(v, masks.shape),
            result.method,
            result.hksj,
            mask=masks,
            **model_options(result),
        )
        return {
            name: np.asarray(getattr(fit, name), dtype=float)
            for name in ("estimate", "se", "ci_low", "ci_high", "tau2", "I2", "Q", "pval", "k")
        }
    used = np.flatnonzero(result.effects.estimable) if result.effects is not None else None
    out: dict[str, list[float]] = {
        n: [] for n in ("estimate", "se", "ci_low", "ci_high", "tau2", "I2", "Q", "pval", "k")
    }
    for mask in masks:
        sub = refit(result, used[mask] if used is not None else mask)
        for name in out:
            value = getattr(sub, name)
            out[name].append(np.nan if value is None else float(value))
    return {name: np.asarray(values) for name, values in out.items()}


def leave_one_out(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    **options: Any,
) -> LeaveOneOut:
    """Refit the model without each study in turn (metafor's ``leave1out``).

    Returns a :class:`LeaveOneOut`, one row per omitted study, in data order: ``study,
    estimate, se, ci_low, ci_high, tau2, I2, Q`` (analysis scale).
    """
    result = as_result(data, measure, method, hksj, **options)
    labels, _, _ = used_effects(result)
    k = len(labels)
    fits = subset_fits(result, ~np.eye(k, dtype=bool))
    columns = {c: fits[c] for c in LOO_COLUMNS[1:]}
    return LeaveOneOut(study=tuple(labels), **columns, result=result)


def cumulative(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    **options: Any,
) -> Cumulative:
    """Cumulative meta-analysis adding studies in data order (metafor's ``cumul``).

    Returns a :class:`Cumulative`: ``study, estimate, ci_low, ci_high, tau2``; row ``i`` pools
    the first ``i`` studies. Sort the data first (for example by year) to accumulate in another
    order.
    """
    result = as_result(data, measure, method, hksj, **options)
    labels, _, _ = used_effects(result)
    k = len(labels)
    fits = subset_fits(result, np.tri(k, dtype=bool))
    columns = {c: fits[c] for c in CUMULATIVE_COLUMNS[1:]}
    return Cumulative(study=tuple(labels), **columns, result=result)
