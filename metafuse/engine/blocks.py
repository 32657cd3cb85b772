"""Intercept-only meta-analyses in study-major blocks: the arithmetic of :func:`pool_many`.

A :class:`Block` holds ``n`` meta-analyses as arrays of shape ``(k, n)``: the studies on the first
axis and the meta-analyses along the second, a few thousand at a time so that a block stays in the
CPU cache. Every per-meta-analysis sum is then ``k`` additions of contiguous rows, which is several
times faster than summing short rows of an ``(n, k)`` array. Studies outside a meta-analysis's mask
hold ``y = 0`` and ``v = +inf``: their weight ``1/(v + tau2)`` is exactly 0, so no mask is applied
while iterating.

The estimators are the engine's (:mod:`metafuse.engine.tau2`, which defines them for any design and
remains the reference): the same formulas specialised to an intercept, where ``X'WX`` is ``sum w``.
``tests/test_batch.py`` pins the two equal row by row.

References
----------
DerSimonian R, Kacker R (2007). Contemp Clin Trials 28:105-114 (generalised Q; two-step estimators).
Viechtbauer W (2005). J Educ Behav Stat 30:261-293 (moment, ML and REML estimators).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np

from metafuse._arrays import BoolArray, FloatArray

#: Elements (studies x meta-analyses) per block: about 256 kB per array.
BLOCK_ELEMENTS: Final = 32768


@dataclass(frozen=True)
class Block:
    """``n`` intercept-only meta-analyses, study-major: ``y``, ``v`` of shape ``(k, n)``."""

    y: FloatArray
    v: FloatArray
    #: Number of studies of each meta-analysis (float, shape (n,)).
    k: FloatArray
    #: Whether every study of the block takes part (no +inf variances).
    full: bool

    @property
    def n(self) -> int:
        """Number of meta-analyses."""
        return int(self.y.shape[1])

    def take(self, cols: np.ndarray) -> Block:
        """Return the meta-analyses ``cols`` (indices into the block) as a block of their own."""
        return Block(self.y[:, cols], self.v[:, cols], self.k[cols], self.full)

    def present(self) -> FloatArray:
        """1.0 for the studies that take part, 0.0 elsewhere."""
        return np.isfinite(self.v).astype(np.float64)

    def finite_v(self) -> FloatArray:
        """Variances with 0 in place of the studies that do not take part."""
        return self.v if self.full else np.where(np.isfinite(self.v), self.v, 0.0)


def blocks(y: FloatArray, v: FloatArray, mask: BoolArray | None) -> Iterator[tuple[slice, Block]]:
    """Split ``(m, k)`` arrays into study-major blocks of at most :data:`BLOCK_ELEMENTS`."""
    m, k = y.shape
    step = max(1, BLOCK_ELEMENTS // max(k, 1))
    for start in range(0, m, step):
        rows = slice(start, min(m, start + step))
        yb = np.ascontiguousarray(y[rows].T)
        vb = np.ascontiguousarray(v[rows].T)
        if mask is None or mask[rows].all():
            counts = np.full(yb.shape[1], float(k))
            yield rows, Block(yb, vb, counts, True)
            continue
        keep = np.ascontiguousarray(mask[rows].T)
        yield (
            rows,
            Block(
                np.where(keep, yb, 0.0),
                np.where(keep, vb, np.inf),
                keep.sum(axis=0).astype(np.float64),
                False,
            ),
        )


@dataclass(frozen=True)
class Weighted:
    """The weighted fit of each meta-analysis of a block at one tau^2 (or with weights ``w``).

    ``w`` and ``r`` (residuals from the weighted mean) have the block's shape ``(k, n)``; the
    sums are per meta-analysis.
    """

    w: FloatArray
    r: FloatArray
    s1: FloatArray
    mu: FloatArray
    #: ``sum w r^2``: the generalised Q.
    q: FloatArray
    #: ``w r``, kept for the derivatives.
    wr: FloatArray

    def s2(self) -> FloatArray:
        """``sum w^2``."""
        return np.einsum("ij,ij->j", self.w, self.w)

    def p2(self) -> FloatArray:
        """``sum w^2 r^2`` = ``(Py)'(Py)``, minus the derivative of Q."""
        return np.einsum("ij,ij->j", self.wr, self.wr)

    def trace_p(self) -> FloatArray:
        """``tr(P) = sum w - sum w^2 / sum w``."""
        return self.s1 - self.s2() / self.s1


def weighted(block: Block, w: FloatArray) -> Weighted:
    """Weighted mean, residuals and generalised Q of every meta-analysis, for weights ``w``."""
    s1 = w.sum(axis=0)
    mu = np.einsum("ij,ij->j", w, block.y) / s1
    r = block.y - mu
    wr = w * r
    q = np.einsum("ij,ij->j", wr, r)
    return Weighted(w, r, s1, mu, q, wr)


def at_tau2(block: Block, tau2: FloatArray | float) -> Weighted:
    """:func:`weighted` with the random-effects weights ``1/(v + tau2)``."""
    w = block.v + tau2
    np.reciprocal(w, out=w)
    return weighted(block, w)


# --- closed-form tau^2 estimators ----------------------------------------------------------------


def genq(block: Block, a: FloatArray) -> FloatArray:
    """Generalised-Q estimator ``(Q_a - tr(P_a V)) / tr(P_a)`` for weights ``a``.

    Generalised-Q estimator ``(Q_a - tr(P_a V)) / tr(P_a)`` for weights ``a`` (0 outside the mask),
    truncated at 0 (DerSimonian & Kacker 2007, eq. 6).
    """
    fit = weighted(block, a)
    sa2 = np.einsum("ij,ij->j", a, a)
    av = a * block.finite_v()
    trace_pv = av.sum(axis=0) - np.einsum("ij,ij->j", av, a) / fit.s1
    return np.maximum((fit.q - trace_pv) / (fit.s1 - sa2 / fit.s1), 0.0)


def dl_from_fixed(fixed: Weighted, k: FloatArray) -> FloatArray:
    """DerSimonian-Laird from the fixed-effect fit: ``(Q - (k - 1)) / tr(P)``, truncated at 0.

    With weights ``1/v``, ``tr(P V) = k - 1`` exactly, so Q and ``tr(P)`` are all it needs.
    """
    return np.maximum((fixed.q - (k - 1.0)) / fixed.trace_p(), 0.0)


def he(block: Block) -> FloatArray:
    """Hedges' estimator: generalised Q with unit weights."""
    return genq(block, block.present())


def two_step(block: Block, first: FloatArray) -> FloatArray:
    """Two-step estimator: generalised Q with weights ``1/(v + first)`` (DL2, CA2)."""
    w = block.v + first
    np.reciprocal(w, out=w)
    return genq(block, w)


def hunter_schmidt(fixed: Weighted, k: FloatArray, small_sample: bool) -> FloatArray:
    """Hunter-Schmidt ``(Q - k) / sum w`` (with ``Q k/(k - 1)`` for HSk), truncated at 0."""
    q = fixed.q * (k / (k - 1.0)) if small_sample else fixed.q
    return np.maximum((q - k) / fixed.s1, 0.0)


def unweighted_spread(block: Block) -> tuple[FloatArray, FloatArray]:
    """Unweighted mean of each meta-analysis and ``sum (y - mean)^2`` over its studies."""
    ybar = block.y.sum(axis=0) / block.k
    dev = block.y - ybar
    if not block.full:
        dev *= block.present()
    return ybar, np.einsum("ij,ij->j", dev, dev)


def sj(block: Block) -> FloatArray:
    """Sidik-Jonkman: ``t0 Q(t0) / (k - 1)`` with ``t0 = sum (y - ybar)^2 / k``."""
    _, ss = unweighted_spread(block)
    t0 = ss / block.k
    return np.maximum(t0 * at_tau2(block, t0).q / (block.k - 1.0), 0.0)


def likelihood_upper_bound(block: Block, df: FloatArray) -> FloatArray:
    """Return a tau^2 beyond which the ML (``df = k``) or REML (``df = k - 1``) score is negative.

    A tau^2 beyond which the ML (``df = k``) or REML (``df = k - 1``) score is negative
    (:func:`metafuse.engine.solvers.likelihood_upper_bound`, for an intercept).
    """
    _, s = unweighted_spread(block)
    vmin = block.v.min(axis=0)
    vmax = block.finite_v().max(axis=0)
    a = np.maximum(df, 1.0)
    b = 2.0 * a * vmin - s
    c = a * vmin**2 - s * vmax
    disc = np.maximum(b * b - 4.0 * a * c, 0.0)
    return np.maximum((-b + np.sqrt(disc)) / (2.0 * a), 0.0)
