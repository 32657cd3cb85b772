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
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import BoolArray
from metafuse.engine.inverse_variance import fit_inverse_variance
from metafuse.measures import TABLE_METHODS
from metafuse.pooling import refit
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, model_options, used_effects

LOO_COLUMNS = ("study", "estimate", "se", "ci_low", "ci_high", "tau2", "I2", "Q")
CUMULATIVE_COLUMNS = ("study", "estimate", "ci_low", "ci_high", "tau2")
FIT_NAMES = ("estimate", "se", "ci_low", "ci_high", "tau2", "I2", "Q", "pval", "k")
#: Study rows (subsets x k) refitted in one batch (each subset is fitted on its own, so the
#: results do not depend on the blocks).
BLOCK_CELLS = 2**21


def mask_blocks(k: int, kind: str) -> Iterator[BoolArray]:
    """The subsets of ``k`` studies in row blocks: ``leave-one-out`` (row i without study i) or
    ``cumulative`` (row i with studies 0..i); never the whole k x k table at once."""
    rows = max(1, BLOCK_CELLS // max(k, 1))
    columns = np.arange(k)
    for a in range(0, k, rows):
        index = np.arange(a, min(k, a + rows))[:, None]
        yield columns[None, :] != index if kind == "leave-one-out" else columns[None, :] <= index


def blocked_fits(result: PooledResult, blocks: Iterable[BoolArray]) -> dict[str, np.ndarray]:
    """:func:`subset_fits` of each block of masks, joined: the same numbers as one batch."""
    parts = [subset_fits(result, masks) for masks in blocks]
    return {name: np.concatenate([part[name] for part in parts]) for name in FIT_NAMES}


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
) -> pd.DataFrame:
    """Refit the model without each study in turn (metafor's ``leave1out``).

    Returns one row per omitted study, in data order: ``study, estimate, se, ci_low, ci_high,
    tau2, I2, Q`` (analysis scale).
    """
    result = as_result(data, measure, method, hksj, **options)
    labels, _, _ = used_effects(result)
    k = len(labels)
    fits = blocked_fits(result, mask_blocks(k, "leave-one-out"))
    frame = pd.DataFrame({"study": labels, **{c: fits[c] for c in LOO_COLUMNS[1:]}})
    return frame.loc[:, list(LOO_COLUMNS)]


def cumulative(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Cumulative meta-analysis adding studies in data order (metafor's ``cumul``).

    Returns ``study, estimate, ci_low, ci_high, tau2``; row ``i`` pools the first ``i`` studies.
    Sort the data first (for example by year) to accumulate in another order.
    """
    result = as_result(data, measure, method, hksj, **options)
    labels, _, _ = used_effects(result)
    k = len(labels)
    fits = blocked_fits(result, mask_blocks(k, "cumulative"))
    frame = pd.DataFrame({"study": labels, **{c: fits[c] for c in CUMULATIVE_COLUMNS[1:]}})
    return frame.loc[:, list(CUMULATIVE_COLUMNS)]
