"""Permutation tests for the pooled effect and for meta-regression (metafor's ``permutest``).

Without moderators the signs of the effect sizes are permuted (under H0: mu = 0 a study's effect
is as likely positive as negative); with moderators the rows of the design matrix are permuted.
The two-sided P value is the share of permutations whose statistic is at least as extreme as the
observed one. The test is exact (every sign pattern, or every distinct permutation of the design
rows) when there are at most ``exact_limit`` of them, else approximate (``iterations`` random
permutations, the observed one among them). Every permutation is a row of one batch fit.

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


def _share(perm: FloatArray, observed: float) -> float:
    """Share of permutations at least as extreme as ``observed`` (two-sided on |statistic|)."""
    return float(np.mean(np.abs(perm) >= abs(observed) * (1 - TIE)))


def _sign_patterns(k: int, exact: bool, iterations: int, rng: np.random.Generator) -> FloatArray:
    if exact:
        codes = np.arange(2**k, dtype=np.int64)[:, None]
        return np.where((codes >> np.arange(k)) & 1, -1.0, 1.0)
    flips = rng.choice([-1.0, 1.0], size=(iterations - 1, k))
    return np.vstack([np.ones((1, k)), flips])


def _permute_intercept(
    result: PooledResult, exact_limit: int, iterations: int, rng: np.random.Generator
) -> PermutationTest:
    _, y, v = used_effects(result)
    k = len(y)
    exact = 2**k <= exact_limit
    signs = _sign_patterns(k, exact, iterations, rng)
    fits = fit_inverse_variance(
        signs * y,
        np.broadcast_to(v, signs.shape),
        result.method,
        result.hksj,
        intervals=False,
        prediction="none",
        **{
            key: val
            for key, val in model_options(result).items()
            if key in ("level", "weighted", "tau2_options")
        },
    )
    observed = float(result.statistic or 0.0)
    p = _share(fits.statistic, observed)
    return PermutationTest(("intercept",), (observed,), (p,), observed**2, p, len(signs), exact)


def _design_permutations(
    X: FloatArray, exact: bool, iterations: int, rng: np.random.Generator
) -> list[np.ndarray]:
    k = X.shape[0]
    if exact:
        seen: dict[bytes, np.ndarray] = {}
        for order in itertools.permutations(range(k)):
            idx = np.asarray(order)
            seen.setdefault(X[idx].tobytes(), idx)
        return list(seen.values())
    return [np.arange(k)] + [rng.permutation(k) for _ in range(iterations - 1)]


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
        Largest number of permutations done exhaustively.
    iterations : int, optional
        Random permutations of an approximate test.
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
    perms = _design_permutations(X, exact, iterations, rng)
    Xs = np.stack([X[idx] for idx in perms])
    fits = fit_mixed_many(
        np.broadcast_to(y, (len(perms), k)),
        np.broadcast_to(v, (len(perms), k)),
        Xs,
        result.method,
        result.hksj,
    )
    observed = fit_mixed_many(y[None, :], v[None, :], X[None, ...], result.method, result.hksj)
    stats = tuple(float(s) for s in observed.statistic[0])
    pvals = tuple(_share(fits.statistic[:, j], stats[j]) for j in range(len(stats)))
    qm = float(observed.QM[0])
    qm_p = _share(fits.QM, qm)
    return PermutationTest(tuple(names), stats, pvals, qm, qm_p, len(perms), exact)
