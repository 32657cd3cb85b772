"""Permutation tests for the pooled effect and for meta-regression (metafor's ``permutest``).

Without moderators the signs of the effect sizes are permuted (under H0: mu = 0 a study's effect
is as likely positive as negative); with moderators the rows of the design matrix are permuted.
The two-sided P value is the share of permutations whose statistic is at least as extreme as the
observed one. The test is exact (every sign pattern, or every distinct permutation of the design
rows) when there are at most ``exact_limit`` of them, else approximate (``iterations`` random
permutations, the observed one among them). Permutations are fitted in batches of at most
:data:`BLOCK_CELLS` study rows, so memory does not grow with their number; at most
:data:`MAX_PERMUTATIONS` are fitted (a P value resolved to one in a million).

References
----------
Follmann DA, Proschan MA (1999). Valid inference in random effects meta-analysis. Biometrics
    55:732-737.
Higgins JPT, Thompson SG (2004). Controlling the risk of spurious findings from meta-regression.
    Stat Med 23:1663-1682.
Viechtbauer W, Lopez-Lopez JA, Sanchez-Meca J, Marin-Martinez F (2015). Psychol Methods 20:360-374.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import FloatArray
from metafuse.engine.inverse_variance import fit_inverse_variance
from metafuse.engine.mixed import fit_mixed_many
from metafuse.result_protocol import ResultMixin, p_text, short
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, model_options, used_effects
from metafuse.toolbox.metareg import design_matrix, moderator_rows

#: Statistics within this (relative) distance of the observed one count as "as extreme"
#: (metafor's comptol, the square root of the machine epsilon).
TIE = float(np.sqrt(np.finfo(np.float64).eps))
#: Most permutations a test fits (``iterations`` and ``exact_limit``); metafor's default is 1000.
MAX_PERMUTATIONS = 1_000_000
#: Permuted study rows fitted in one batch (bounds the work arrays to tens of megabytes).
BLOCK_CELLS = 2**18


@dataclass(frozen=True, repr=False)
class PermutationTest(ResultMixin):
    """A permutation test: observed statistics, permutation P values and how they were got."""

    title = "Permutation test"

    names: tuple[str, ...]
    statistic: tuple[float, ...]
    pval: tuple[float, ...]
    #: The omnibus test of the moderators (meta-regression) and its permutation P value.
    QM: float | None
    QM_pval: float | None
    permutations: int
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        """Names, statistics and P values, QM and QM_pval, permutations and exact."""
        return {
            "names": list(self.names),
            "statistic": list(self.statistic),
            "pval": list(self.pval),
            "QM": self.QM,
            "QM_pval": self.QM_pval,
            "permutations": self.permutations,
            "exact": self.exact,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: name, statistic, permutation P value."""
        return pd.DataFrame({"name": self.names, "statistic": self.statistic, "pval": self.pval})

    def _headline(self) -> str:
        how = "exact" if self.exact else "approximate"
        if self.names == ("intercept",):
            test = f"pooled effect: {p_text(self.pval[0])}"
        else:
            test = f"moderators: QM = {short(self.QM)}, {p_text(self.QM_pval)}"
        return f"{test} ({how}, {self.permutations} permutations)"


def _extreme(perm: FloatArray, observed: float) -> int:
    """How many permutations are at least as extreme as ``observed`` (two-sided, |statistic|)."""
    return int(np.count_nonzero(np.abs(perm) >= abs(observed) * (1 - TIE)))


def _rows(k: int) -> int:
    return max(1, BLOCK_CELLS // max(k, 1))


def _sign_blocks(
    k: int, exact: bool, iterations: int, rng: np.random.Generator
) -> Iterator[FloatArray]:
    """Sign patterns in blocks.

    Sign patterns in blocks: every one of the 2^k (exact), or the observed one and ``iterations -
    1`` random ones (the same stream as one draw of all of them).
    """
    rows = _rows(k)
    if exact:
        for a in range(0, 2**k, rows):
            codes = np.arange(a, min(2**k, a + rows), dtype=np.int64)[:, None]
            yield np.where((codes >> np.arange(k)) & 1, -1.0, 1.0)
        return
    yield np.ones((1, k))
    for a in range(0, iterations - 1, rows):
        yield rng.choice([-1.0, 1.0], size=(min(rows, iterations - 1 - a), k))


def _permute_intercept(
    result: PooledResult, exact_limit: int, iterations: int, rng: np.random.Generator
) -> PermutationTest:
    _, y, v = used_effects(result)
    k = len(y)
    exact = 2**k <= exact_limit
    options = {
        key: val
        for key, val in model_options(result).items()
        if key in ("level", "weighted", "tau2_options")
    }
    observed = float(result.statistic or 0.0)
    count = extreme = 0
    for signs in _sign_blocks(k, exact, iterations, rng):
        fits = fit_inverse_variance(
            signs * y,
            np.broadcast_to(v, signs.shape),
            result.method,
            result.hksj,
            intervals=False,
            prediction="none",
            **options,
        )
        count += len(signs)
        extreme += _extreme(fits.statistic, observed)
    p = extreme / count
    return PermutationTest(("intercept",), (observed,), (p,), observed**2, p, count, exact)


def _design_permutations(
    X: FloatArray, exact: bool, iterations: int, rng: np.random.Generator
) -> Iterator[list[np.ndarray]]:
    """Row orders of the design in blocks.

    Row orders of the design in blocks: every distinct one (exact), or the observed order and
    ``iterations - 1`` random ones.
    """
    k = X.shape[0]
    rows = _rows(k * X.shape[1])
    if exact:
        seen: dict[bytes, np.ndarray] = {}
        for order in itertools.permutations(range(k)):
            idx = np.asarray(order)
            seen.setdefault(X[idx].tobytes(), idx)
        orders = list(seen.values())
        for a in range(0, len(orders), rows):
            yield orders[a : a + rows]
        return
    block = [np.arange(k)]
    for _ in range(iterations - 1):
        block.append(rng.permutation(k))
        if len(block) == rows:
            yield block
            block = []
    if block:
        yield block


def permutation_test(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    *,
    moderators: tuple[str, ...] | list[str] = (),
    covariates: pd.DataFrame | None = None,
    exact_limit: int = 1_000_000,
    iterations: int = 1000,
    seed: int = 20261123,
    **options: Any,
) -> PermutationTest:
    """Permutation test of the pooled effect, or of a meta-regression (metafor's ``permutest``).

    Without moderators the signs of the effects are permuted; with moderators the rows of the
    design. The test is exact (every permutation) when there are at most ``exact_limit``, else
    approximate (``iterations`` random permutations, the observed one among them).

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, hksj, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).
    moderators : sequence of str, optional
        Moderator columns (none: test the pooled effect).
    covariates : pandas.DataFrame, optional
        A frame with a ``study`` column and the moderators, needed when ``data`` is a result.
    exact_limit : int, optional
        Largest number of permutations done exhaustively (2 to :data:`MAX_PERMUTATIONS`).
    iterations : int, optional
        Random permutations of an approximate test (2 to :data:`MAX_PERMUTATIONS`).
    seed : int, optional
        Seed of the random permutations.

    Returns
    -------
    PermutationTest
        Observed statistics, permutation P values, and how they were got.

    References
    ----------
    Follmann DA, Proschan MA (1999). Valid inference in random effects meta-analysis. Biometrics
    55:732-737.
    Higgins JPT, Thompson SG (2004). Controlling the risk of spurious findings from
    meta-regression. Stat Med 23:1663-1682.
    """
    for name, value in (("iterations", iterations), ("exact_limit", exact_limit)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if not 2 <= value <= MAX_PERMUTATIONS:
            raise ValueError(
                f"{name} must be 2 to {MAX_PERMUTATIONS:,} (a P value resolved to one in a "
                f"million), got {value:,}"
            )
    result = as_result(data, measure, method, hksj, **options)
    rng = np.random.default_rng(seed)
    if not moderators:
        return _permute_intercept(result, exact_limit, iterations, rng)
    source = covariates if covariates is not None else data
    if not isinstance(source, pd.DataFrame):
        raise ValueError("give the moderators as covariates= (a frame with a study column)")
    rows = moderator_rows(result, source, list(moderators))
    _, y, v = used_effects(result)
    X, names = design_matrix(rows, list(moderators))
    k = len(y)
    exact = math.factorial(k) <= exact_limit
    observed = fit_mixed_many(y[None, :], v[None, :], X[None, ...], result.method, result.hksj)
    stats = tuple(float(s) for s in observed.statistic[0])
    qm = float(observed.QM[0])
    count, extreme, extreme_qm = 0, np.zeros(len(stats), dtype=np.int64), 0
    for perms in _design_permutations(X, exact, iterations, rng):
        Xs = np.stack([X[idx] for idx in perms])
        fits = fit_mixed_many(
            np.broadcast_to(y, (len(perms), k)),
            np.broadcast_to(v, (len(perms), k)),
            Xs,
            result.method,
            result.hksj,
        )
        count += len(perms)
        extreme += [_extreme(fits.statistic[:, j], stats[j]) for j in range(len(stats))]
        extreme_qm += _extreme(fits.QM, qm)
    pvals = tuple(float(e) / count for e in extreme)
    return PermutationTest(tuple(names), stats, pvals, qm, extreme_qm / count, count, exact)
