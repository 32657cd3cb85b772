"""Sensitivity analyses: leave-one-out and cumulative meta-analysis, each a single batch fit.

Both reproduce metafor's ``leave1out`` and ``cumul`` (Viechtbauer 2010). Inverse-variance models
are refitted as batches of masked meta-analyses through the engine, at most :data:`BLOCK_CELLS`
study rows at a time, so that memory grows with k, not k^2 (leave-one-out of 5,000 studies holds
blocks of 400 refits, not a 5,000 x 5,000 table); Mantel-Haenszel and Peto models are refitted on
each subset's counts.

References
----------
Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic trials
    for myocardial infarction. N Engl J Med 327:248-254.
Viechtbauer W (2010). J Stat Softw 36(3).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
FIT_NAMES = ("estimate", "se", "ci_low", "ci_high", "tau2", "I2", "Q", "pval", "k")
#: Study rows (subsets x k) refitted in one batch (each subset is fitted on its own, so the
#: results do not depend on the blocks).
BLOCK_CELLS = 2**21


def mask_blocks(k: int, kind: str) -> Iterator[BoolArray]:
    """Return the subsets of ``k`` studies in row blocks.

    The subsets of ``k`` studies in row blocks: ``leave-one-out`` (row i without study i) or
    ``cumulative`` (row i with studies 0..i); never the whole k x k table at once.
    """
    rows = max(1, BLOCK_CELLS // max(k, 1))
    columns = np.arange(k)
    for a in range(0, k, rows):
        index = np.arange(a, min(k, a + rows))[:, None]
        yield columns[None, :] != index if kind == "leave-one-out" else columns[None, :] <= index


def blocked_fits(result: PooledResult, blocks: Iterable[BoolArray]) -> dict[str, np.ndarray]:
    """:func:`subset_fits` of each block of masks, joined: the same numbers as one batch."""
    parts = [subset_fits(result, masks) for masks in blocks]
    return {name: np.concatenate([part[name] for part in parts]) for name in FIT_NAMES}


def _range_text(result: PooledResult, estimates: FloatArray) -> str:
    """Return the range of refitted estimates on the display scale, after the model's name."""
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
    """Refit the result's model on each row of ``masks`` (over the studies that enter it).

    Parameters
    ----------
    result : PooledResult
        The model to refit.
    masks : numpy.ndarray
        (m, k) booleans: the studies of each refit.

    Returns
    -------
    dict of str to numpy.ndarray
        Arrays of length m: estimate, se, ci_low, ci_high, tau2, I2, Q, pval, k.
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
        return {name: np.asarray(getattr(fit, name), dtype=float) for name in FIT_NAMES}
    used = np.flatnonzero(result.effects.estimable) if result.effects is not None else None
    out: dict[str, list[float]] = {n: [] for n in FIT_NAMES}
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

    Inverse-variance models are refitted as one batch of masked meta-analyses; Mantel-Haenszel
    and Peto models on each subset's counts.

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, hksj, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).

    Returns
    -------
    LeaveOneOut
        One row per omitted study, in data order: ``study, estimate, se, ci_low, ci_high, tau2,
        I2, Q`` (analysis scale).

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3).

    Examples
    --------
    >>> import pandas as pd
    >>> import metafuse
    >>> from metafuse.toolbox import leave_one_out
    >>> res = metafuse.pool(pd.read_csv("examples/bcg.csv"), "RR")
    >>> leave_one_out(res).to_frame().shape
    (13, 8)
    """
    result = as_result(data, measure, method, hksj, **options)
    labels, _, _ = used_effects(result)
    k = len(labels)
    fits = blocked_fits(result, mask_blocks(k, "leave-one-out"))
    columns = {c: fits[c] for c in LOO_COLUMNS[1:]}
    return LeaveOneOut(study=tuple(labels), **columns, result=result)


def cumulative(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    **options: Any,
) -> Cumulative:
    """Cumulative meta-analysis, adding studies in data order (metafor's ``cumul``).

    Sort the data first (for example by year) to accumulate in another order.

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, hksj, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).

    Returns
    -------
    Cumulative
        Row ``i`` pools the first ``i + 1`` studies: ``study, estimate, ci_low, ci_high, tau2``
        (analysis scale).

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic
    trials for myocardial infarction. N Engl J Med 327:248-254.
    """
    result = as_result(data, measure, method, hksj, **options)
    labels, _, _ = used_effects(result)
    k = len(labels)
    fits = blocked_fits(result, mask_blocks(k, "cumulative"))
    columns = {c: fits[c] for c in CUMULATIVE_COLUMNS[1:]}
    return Cumulative(study=tuple(labels), **columns, result=result)
