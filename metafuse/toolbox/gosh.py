"""GOSH (graphical display of study heterogeneity): the model fitted to every subset of studies.

With k studies there are 2^k - 1 non-empty subsets; up to ``max_exhaustive`` studies (20: about a
million subsets) all are fitted, in chunks, else ``subsets`` random ones (seeded). Each subset is a
row of one batch fit (:func:`metafuse.pool_many`). The GOSH plot shows the estimate against I²;
clusters point to studies that drive heterogeneity (Olkin, Dahabreh & Trikalinos 2012).

References
----------
Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of study heterogeneity.
    Res Synth Methods 3:214-223.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import BoolArray, FloatArray, IntArray
from metafuse.engine.batch import pool_many
from metafuse.result_protocol import ResultMixin, short
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, used_effects

#: Subsets fitted at once (bounds memory: chunk x k booleans and floats).
CHUNK = 65_536


@dataclass(frozen=True, eq=False, repr=False)
class GoshResult(ResultMixin):
    """Estimate (analysis scale), I² (percent), Q and k of each fitted subset."""

    title = "GOSH"

    labels: tuple[str, ...]
    #: (n, k) booleans: which studies each subset holds.
    subsets: BoolArray
    estimate: FloatArray
    I2: FloatArray
    Q: FloatArray
    k: IntArray
    method: str
    exhaustive: bool

    def to_frame(self) -> pd.DataFrame:
        """Return one row per subset.

        Columns ``estimate, I2, k, subset`` (a 0/1 string in study order) and one boolean column per
        study.
        """
        bits = np.where(self.subsets, "1", "0")
        frame = pd.DataFrame(
            {
                "estimate": self.estimate,
                "I2": self.I2,
                "k": self.k,
                "subset": ["".join(row) for row in bits],
            }
        )
        studies = pd.DataFrame(self.subsets, columns=list(self.labels))
        return pd.concat([frame, studies], axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Return a summary of the fits.

        Summary: number of subsets, whether exhaustive, method, and the range of estimates and I².
        """
        return {
            "subsets": int(self.k.size),
            "exhaustive": self.exhaustive,
            "method": self.method,
            "estimate_min": float(np.min(self.estimate)),
            "estimate_max": float(np.max(self.estimate)),
            "I2_min": float(np.min(self.I2)),
            "I2_max": float(np.max(self.I2)),
        }

    def _headline(self) -> str:
        how = "all" if self.exhaustive else "random"
        return (
            f"{self.method}, {self.k.size} {how} subsets of {len(self.labels)} studies: "
            f"estimate {short(float(np.min(self.estimate)))} to "
            f"{short(float(np.max(self.estimate)))} (analysis scale), "
            f"I² {float(np.min(self.I2)):.1f}% to {float(np.max(self.I2)):.1f}%"
        )

    def _table(self) -> None:
        return None  # up to a million rows: the summary shows the ranges only


def subset_masks(k: int, start: int, stop: int) -> BoolArray:
    """Subsets ``start .. stop - 1`` by integer code (bit j: study j), as (n, k) booleans."""
    codes = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((codes >> np.arange(k)) & 1).astype(bool)


def gosh(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "FE",
    *,
    max_exhaustive: int = 20,
    subsets: int = 1_000_000,
    seed: int = 20261123,
    **options: Any,
) -> GoshResult:
    """Fit the model to every non-empty subset of studies (GOSH; metafor's ``gosh``).

    With k studies there are 2^k - 1 subsets: all are fitted up to ``max_exhaustive`` studies,
    else ``subsets`` random ones.

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).
        The default ``method`` for data is FE, as in metafor's ``gosh``.
    max_exhaustive : int, optional
        Up to this many studies every subset is fitted (20: about a million).
    subsets : int, optional
        Number of random subsets beyond ``max_exhaustive`` studies.
    seed : int, optional
        Seed of the random subsets.

    Returns
    -------
    GoshResult
        Estimate (analysis scale), I² (percent), Q and k of each subset.

    References
    ----------
    Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of study
    heterogeneity. Res Synth Methods 3:214-223.
    """
    result = as_result(data, measure, method, False, **options)
    labels, y, v = used_effects(result)
    k = len(y)
    if k < 2:
        raise ValueError("GOSH needs at least 2 studies")
    exhaustive = k <= max_exhaustive
    if exhaustive:
        chunks = [subset_masks(k, a, min(2**k, a + CHUNK)) for a in range(1, 2**k, CHUNK)]
    else:
        rng = np.random.default_rng(seed)
        drawn = rng.random((subsets, k)) < 0.5
        empty = ~drawn.any(axis=1)
        drawn[empty, rng.integers(0, k, int(empty.sum()))] = True
        chunks = [drawn[a : a + CHUNK] for a in range(0, subsets, CHUNK)]
    parts = []
    for masks in chunks:
        fit = pool_many(
            np.broadcast_to(y, masks.shape),
            np.broadcast_to(v, masks.shape),
            result.method,
            False,
            masks,
        )
        parts.append((masks, fit.estimate, np.nan_to_num(fit.I2, nan=0.0), fit.Q, fit.k))
    cat = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return GoshResult(
        tuple(labels),
        cat[0],
        cat[1],
        cat[2],
        cat[3],
        cat[4].astype(np.int64),
        result.method,
        exhaustive,
    )
