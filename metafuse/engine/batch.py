"""Many meta-analyses at once: the public batch engine (:func:`pool_many`).

Meta-analyses of different sizes share one array through a mask. Every method of :func:`pool`
for inverse-variance models is available and gives, row by row, the same numbers as :func:`pool`.
The arithmetic runs on study-major blocks (:mod:`metafuse.engine.blocks`); iterative estimators take
a fixed small number of safeguarded Newton steps (:mod:`metafuse.engine.block_solvers`), and ML/REML
solutions carry a certificate that no other tau^2 has a higher likelihood. A row whose iteration
does not converge, or whose maximum cannot be certified, is solved by the reference engine
(:func:`metafuse.engine.tau2.estimate_tau2`, the one :func:`pool` uses).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from metafuse._arrays import BoolArray, FloatArray, IntArray
from metafuse.engine import block_solvers as solve
from metafuse.engine import blocks as kernel
from metafuse.engine.batch_inputs import batch_arrays, batch_method, flag, index_of
from metafuse.engine.blocks import Block, Weighted
from metafuse.engine.heterogeneity import i2_from_q
from metafuse.engine.inverse_variance import hksj_scale, wald_test
from metafuse.engine.problem import Problem
from metafuse.engine.tau2 import estimate_tau2
from metafuse.measures import check_level
from metafuse.result_protocol import ResultMixin


@dataclass(frozen=True, repr=False)
class BatchResult(ResultMixin):
    """Per-meta-analysis arrays (the caller's leading shape) of :func:`pool_many`."""

    title = "Batch of meta-analyses"

    estimate: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    pval: FloatArray
    tau2: FloatArray
    Q: FloatArray
    I2: FloatArray
    k: IntArray
    converged: BoolArray

    def __getitem__(self, key: str) -> Any:
        """Dictionary-style access: ``res["estimate"]``."""
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def keys(self) -> list[str]:
        """Return the field names."""
        return [f.name for f in fields(self)]

    def to_frame(self) -> Any:
        """One row per meta-analysis (flattened leading shape)."""
        import pandas as pd

        return pd.DataFrame({name: np.ravel(getattr(self, name)) for name in self.keys()})

    def to_dict(self) -> dict[str, Any]:
        """Return each field as a (nested) list."""
        return {name: np.asarray(getattr(self, name)).tolist() for name in self.keys()}

    def _headline(self) -> str:
        done = int(np.sum(self.converged))
        return f"{self.estimate.size} meta-analyses, shape {self.estimate.shape}, {done} converged"


def pool_many(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    hksj: bool = False,
    mask: npt.ArrayLike | None = None,
    *,
    level: float = 0.95,
    weighted: bool = True,
) -> BatchResult:
    """Fit many meta-analyses at once (the batch engine).

    Row by row, the numbers are those :func:`metafuse.pool` gives for the same effect sizes,
    method and ``hksj``. Arguments that cannot be pooled (wrong shapes, text, an empty mask row,
    non-finite or out-of-range values, an unknown method) raise a ``ValueError`` saying what is
    wrong.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances (analysis scale), shape ``(m, k)`` or any leading
        shape with the studies on the last axis.
    method : str, optional
        ``FE``/``EE`` or a tau^2 estimator (as :func:`metafuse.pool`).
    hksj : bool, optional
        The Hartung-Knapp-Sidik-Jonkman adjustment.
    mask : array_like of bool, optional
        Same shape: the studies of ragged meta-analyses.
    level : float, optional
        Coverage of the confidence intervals.
    weighted : bool, optional
        False pools the unweighted mean (metafor's ``weighted=FALSE``).

    Returns
    -------
    BatchResult
        Arrays ``estimate, se, ci_low, ci_high, pval, tau2, Q, I2, k, converged`` of the
        leading shape.
    """
    code = batch_method(method)
    options = _Options(
        flag(hksj, "hksj"), flag(weighted, "weighted"), check_level(level), code != "FE"
    )
    y, v, m, lead = batch_arrays(yi, vi, mask)
    out = {name: np.empty(len(y)) for name in _FIELDS}
    out["converged"] = np.ones(len(y))
    redo: list[np.ndarray] = []
    with np.errstate(all="ignore"):
        for rows, block in kernel.blocks(y, v, m):
            tau2, ok, fits = _tau2(block, code)
            _fill(out, rows, block, tau2, options, fits)
            if not ok.all():
                redo.append(np.flatnonzero(~ok) + rows.start)
        if redo:
            _reference(out, np.concatenate(redo), y, v, m, code, options)
    bad = ~(np.isfinite(out["estimate"]) & np.isfinite(out["se"]) & np.isfinite(out["tau2"]))
    if bad.any():
        where = index_of(int(np.flatnonzero(bad)[0]), lead)
        raise ValueError(
            f"the meta-analysis at {where} cannot be computed in double precision (its effect "
            "sizes and variances are too far apart in scale)"
        )
    k = (m.sum(axis=1) if m is not None else np.full(len(y), y.shape[1])).astype(np.int64)
    arrays = {name: out[name].reshape(lead) for name in _FIELDS}
    return BatchResult(
        **arrays, k=k.reshape(lead), converged=out["converged"].astype(bool).reshape(lead)
    )


_FIELDS = ("estimate", "se", "ci_low", "ci_high", "pval", "tau2", "Q", "I2")


@dataclass(frozen=True)
class _Options:
    hksj: bool
    weighted: bool
    level: float
    random: bool


#: The fixed-effect fit of a block and its fit at the final tau^2, when already computed.
_Fits = tuple[Weighted | None, Weighted | None]


def _tau2(block: Block, code: str) -> tuple[FloatArray, BoolArray, _Fits]:
    """tau^2 of every column of a block, whether it was solved here (else.

    tau^2 of every column of a block, whether it was solved here (else: reference), and the fits
    made on the way.
    """
    ok = np.ones(block.n, dtype=bool)
    fixed = kernel.at_tau2(block, 0.0)
    if code == "FE":
        return np.zeros(block.n), ok, (fixed, fixed)
    many = block.k >= 2
    if not many.all():
        tau2 = np.zeros(block.n)
        if many.any():
            cols = np.flatnonzero(many)
            tau2[cols], ok[cols], _ = _tau2(block.take(cols), code)
        return tau2, ok, (fixed, None)
    dl = kernel.dl_from_fixed(fixed, block.k)
    closed = {
        "DL": lambda: dl,
        "HE": lambda: kernel.he(block),
        "SJ": lambda: kernel.sj(block),
        "HS": lambda: kernel.hunter_schmidt(fixed, block.k, small_sample=False),
        "HSK": lambda: kernel.hunter_schmidt(fixed, block.k, small_sample=True),
        "DL2": lambda: kernel.two_step(block, dl),
        "CA2": lambda: kernel.two_step(block, kernel.he(block)),
    }
    if code in closed:
        return closed[code](), ok, (fixed, None)
    if code in ("PM", "EB", "PMM"):
        df = block.k - 1.0
        target = special.chdtri(df, 0.5) if code == "PMM" else df
        _, spread = kernel.unweighted_spread(block)
        return *solve.q_root(block, target, fixed.q, dl, spread), (fixed, None)
    return _likelihood(block, fixed, dl, reml=code == "REML")


def _likelihood(
    block: Block, fixed: Weighted, start: FloatArray, reml: bool
) -> tuple[FloatArray, BoolArray, _Fits]:
    """ML/REML: Newton from ``start`` where the score at 0 is positive, then the certificate."""
    upper = kernel.likelihood_upper_bound(block, block.k - (1.0 if reml else 0.0))
    tau2 = np.zeros(block.n)
    ok = np.ones(block.n, dtype=bool)
    cols = np.flatnonzero(solve.score_at_zero(fixed, reml) > 0)
    if cols.size == 0:
        final = fixed
    else:
        tau2[cols], ok[cols] = solve.likelihood_root(
            block.take(cols), reml, start[cols], upper[cols]
        )
        final = kernel.at_tau2(block, tau2)
    ok &= solve.certify_maximum(block, final, tau2, upper, reml)
    return tau2, ok, (fixed, final)


def _fill(
    out: dict[str, FloatArray],
    rows: slice,
    block: Block,
    tau2: FloatArray,
    options: _Options,
    fits: _Fits = (None, None),
) -> None:
    """Estimate, CI, P value, Q and I^2 of a block's columns at the given tau^2."""
    fixed, fit = fits
    if fixed is None:
        fixed = kernel.at_tau2(block, 0.0)
    if fit is None:
        fit = fixed if not tau2.any() else kernel.at_tau2(block, tau2)
    k = block.k
    many = k >= 2
    if options.weighted:
        est, var = fit.mu, 1.0 / fit.s1
    else:
        est = block.y.sum(axis=0) / k
        var = (block.finite_v().sum(axis=0) + k * tau2) / k**2
    df = None
    if options.hksj:
        var = np.where(many, var * hksj_scale(fit.q, k - 1.0), var)
        df = np.where(many, k - 1.0, np.nan)
    se = np.sqrt(var)
    _, pval, lo, hi = wald_test(est, se, df, options.level)
    q = np.where(many, np.maximum(fixed.q, 0.0), 0.0)
    typical = (k - 1.0) / fixed.trace_p()
    if options.random:
        i2 = np.where(many, 100.0 * tau2 / (tau2 + typical), np.nan)
    else:
        i2 = np.where(many, i2_from_q(q, k - 1.0), np.nan)
    values = {"estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "pval": pval, "tau2": tau2}
    values |= {"Q": q, "I2": i2}
    for name, value in values.items():
        out[name][rows] = value


def _reference(
    out: dict[str, FloatArray],
    rows: np.ndarray,
    y: FloatArray,
    v: FloatArray,
    mask: BoolArray | None,
    code: str,
    options: _Options,
) -> None:
    """Solve ``rows`` with the reference engine (the one :func:`pool` uses) and refill them."""
    sub_mask = None if mask is None else mask[rows]
    fit = estimate_tau2(Problem.of(y[rows], v[rows], sub_mask), code)
    for part, block in kernel.blocks(y[rows], v[rows], sub_mask):
        idx = rows[part]
        local = {name: np.empty(len(idx)) for name in _FIELDS}
        _fill(local, slice(0, len(idx)), block, fit.tau2[part], options)
        for name in _FIELDS:
            out[name][idx] = local[name]
        out["converged"][idx] = fit.converged[part]
