"""GOSH (graphical display of study heterogeneity): the model fitted to every subset of studies.

With k studies there are 2^k - 1 non-empty subsets; up to ``max_exhaustive`` studies (20: about a
million subsets) all are fitted, in chunks, else ``subsets`` random ones (seeded). Each subset is a
row of one batch fit (:func:`metafuse.pool_many`). The GOSH plot shows the estimate against I²;
clusters point to studies that drive heterogeneity (Olkin, Dahabreh & Trikalinos 2012).

Memory budget: random subsets hold at most :data:`MAX_RANDOM_CELLS` study memberships (subsets x
k: 16 MiB of booleans, and about a minute of REML fits at 0.2-0.4 million per second), so that
1,000,000 subsets are drawn up to k = 16 and fewer beyond (83,886 at k = 200, 3,355 at k =
5,000); each batch fit holds at most :data:`CHUNK_CELLS` of them (about 100 MB of work arrays).

References
----------
Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of study heterogeneity.
    Res Synth Methods 3:214-223.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import BoolArray, FloatArray, IntArray
from metafuse.engine.batch import pool_many
from metafuse.result_protocol import ResultMixin, short
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, used_effects

#: Subsets fitted at once up to k = 20 (bounds memory: chunk x k booleans and floats).
CHUNK = 65_536
#: Study memberships fitted at once (CHUNK subsets of 20 studies).
CHUNK_CELLS = CHUNK * 20
#: Most study memberships (random subsets x k) a GOSH beyond the exhaustive limit draws.
MAX_RANDOM_CELLS = 2**24
#: Random subsets drawn when not asked for a number (metafor's gosh default), within the budget.
DEFAULT_SUBSETS = 1_000_000


def max_random_subsets(k: int) -> int:
    """Return the most random subsets of ``k`` studies within the memory budget."""
    return MAX_RANDOM_CELLS // max(k, 1)


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
    subsets: int | None = None,
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
        Number of random subsets beyond ``max_exhaustive`` studies (default: 1,000,000 or as
        many as the memory budget allows, :func:`max_random_subsets`; more than the budget is an
        error).
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
    if not 1 <= max_exhaustive <= 20:
        raise ValueError(f"max_exhaustive must be 1 to 20 (2^20 subsets), got {max_exhaustive}")
    exhaustive = k <= max_exhaustive
    if exhaustive:
        chunks = (subset_masks(k, a, min(2**k, a + CHUNK)) for a in range(1, 2**k, CHUNK))
        fits = _fit_chunks(result, y, v, chunks)
    else:
        drawn = _random_subsets(k, _subset_count(k, subsets), seed)
        rows = max(1, CHUNK_CELLS // k)
        fits = _fit_chunks(result, y, v, (drawn[a : a + rows] for a in range(0, len(drawn), rows)))
    masks, estimate, i2, q, sizes = fits
    return GoshResult(
        tuple(labels), masks, estimate, i2, q, sizes.astype(np.int64), result.method, exhaustive
    )


def _subset_count(k: int, subsets: int | None) -> int:
    most = max_random_subsets(k)
    if subsets is None:
        if most < 1:
            raise ValueError(f"GOSH of {k:,} studies: not one subset fits the memory budget")
        return min(DEFAULT_SUBSETS, most)
    if isinstance(subsets, bool) or not isinstance(subsets, int | np.integer) or subsets < 1:
        raise ValueError(f"subsets must be a positive whole number, got {subsets!r}")
    if subsets > most:
        raise ValueError(
            f"GOSH of {k:,} studies: at most {most:,} random subsets fit the memory budget "
            f"({MAX_RANDOM_CELLS:,} study memberships), not {subsets:,}"
        )
    return int(subsets)


def _random_subsets(k: int, n: int, seed: int) -> BoolArray:
    """``n`` random non-empty subsets, each study in with probability 1/2.

    ``n`` random non-empty subsets, each study in with probability 1/2 (drawn in row blocks from one
    stream: the same subsets as one draw of the whole array, in less memory).
    """
    rng = np.random.default_rng(seed)
    drawn = np.empty((n, k), dtype=bool)
    rows = max(1, CHUNK_CELLS // k)
    for a in range(0, n, rows):
        b = min(n, a + rows)
        drawn[a:b] = rng.random((b - a, k)) < 0.5
    empty = ~drawn.any(axis=1)
    drawn[empty, rng.integers(0, k, int(empty.sum()))] = True
    return drawn


def _fit_chunks(
    result: PooledResult, y: FloatArray, v: FloatArray, chunks: Iterable[BoolArray]
) -> tuple[BoolArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Masks, estimate, I² (0 where undefined), Q and k of every subset, fitted chunk by chunk."""
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
    masks, estimate, i2, q, sizes = (np.concatenate([p[i] for p in parts]) for i in range(5))
    return masks, estimate, i2, q, sizes
