"""Iterative tau^2 for study-major blocks.

Iterative tau^2 for study-major blocks: Paule-Mandel, ML and REML by a fixed small number of
safeguarded Newton steps, and a certificate that the likelihood has no higher maximum elsewhere.

Newton's method runs on an equation with the estimator's root that is nearly linear in tau^2 --
``1/Q(tau2) = 1/target`` for Paule-Mandel, ``tr(P)/(Py)'(Py) = 1`` for REML (``sum w`` for ML), both
exactly linear when all variances are equal -- from the DerSimonian-Laird start, so that three or
four steps reach full precision. Each step stays inside a bracket with a sign change (bisection when
the Newton step leaves it), as in ``rtsafe`` (Press et al. 2007, section 9.4). Rows still
unconverged after :data:`NEWTON_STEPS` steps are reported as such, and :func:`metafuse.pool_many`
hands them to the reference solver.

The global-maximum certificate. Up to a constant, minus twice the (restricted) log-likelihood of an
intercept-only model is ``f(t) = L(t) + C(t)`` with ``L(t) = sum log(v_i + t)``, concave, and ``C(t)
= Q(t) [+ log sum w]``, convex: ``Q''(t) = 2 [sum w^3 r^2 - (sum w^2 r)^2 / sum w] >= 0`` by Cauchy-
Schwarz, and ``sum w`` is log-convex as a sum of log-convex ``1/(v_i + t)``. On an interval ``[a,
b]``, ``f`` is therefore above the chord of ``L`` plus the larger of the tangents of ``C`` at ``a``
and ``b``: a convex piecewise-linear function whose minimum is at ``a``, ``b`` or where the tangents
cross (Horst & Thoai 1999 on bounds for differences of convex functions). Beyond a point ``a`` a
second bound holds for the whole tail (:func:`_node`). Where a bound exceeds ``f`` at the solution,
the interval holds no point of higher likelihood -- a proof, not a sample. The range ``[0, upper]``
(beyond ``upper`` the score is negative) is covered by intervals growing geometrically in ``log(tau2
+ min v)`` away from the solution; an interval that is not certified is halved a few times, and a
row that still has one is handed to the reference solver
(:func:`metafuse.engine.solvers.likelihood_maximum`). Next to the solution no first-order bound can
separate (both sides are quadratic there): the cell of half a scan step on either side of it is left
to the root itself, as the reference scan leaves the cell that holds the sign change.

References
----------
Press WH, Teukolsky SA, Vetterling WT, Flannery BP (2007). Numerical Recipes, 3rd ed., section 9.4.
Viechtbauer W (2005). J Educ Behav Stat 30:261-293 (ML and REML estimating equations).
Horst R, Thoai NV (1999). DC programming: overview. J Optim Theory Appl 103:1-43.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from metafuse._arrays import BoolArray, FloatArray
from metafuse.engine.blocks import Block, Weighted, at_tau2
from metafuse.engine.solvers import SCAN_POINTS

#: Newton steps allowed before a row is handed to the reference solver.
NEWTON_STEPS: Final = 24
#: A Newton step below this fraction of ``tau2 + min v`` ends the iteration: the error of the
#: step's result is of the order of the step squared (quadratic convergence), ~1e-18 relative.
STEP_TOL: Final = 1e-9
#: Certificate nodes on each side of the solution, and halvings of an uncertified interval.
NODES_PER_SIDE: Final = 5
REFINEMENTS: Final = 4
#: Studies multiplied together before taking a logarithm (the ratios stay within range).
PRODUCT_GROUP: Final = 16

#: ``evaluate(sub_block, tau2, rows) -> (g, slope)``: an equation positive left of its root and
#: the slope ``-dg/dtau2`` (positive where Newton steps are trusted).
Equation = Callable[[Block, FloatArray, np.ndarray], tuple[FloatArray, FloatArray]]


def safeguarded_newton(
    block: Block, evaluate: Equation, start: FloatArray, lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Root of ``g`` in ``[lo, hi]`` (``g(lo) > 0 >= g(hi)``) for every column of ``block``.

    Converged columns are retired, so each column's iterates do not depend on the others.
    """
    t, lo, hi = start.copy(), lo.copy(), hi.copy()
    scale = block.v.min(axis=0)
    done = np.zeros(block.n, dtype=bool)
    active = np.arange(block.n)
    sub = block
    for _ in range(NEWTON_STEPS):
        ta = t[active]
        g, slope = evaluate(sub, ta, active)
        right = g > 0
        la = np.where(right, ta, lo[active])
        ha = np.where(right, hi[active], ta)
        newton = ta + g / slope
        inside = (slope > 0) & np.isfinite(newton) & (newton >= la) & (newton <= ha)
        small = np.abs(newton - ta) <= STEP_TOL * (ta + scale[active])
        finished = (g == 0) | (inside & small) | (ha - la <= STEP_TOL * (la + scale[active]))
        t[active] = np.where(g == 0, ta, np.where(inside, newton, 0.5 * (la + ha)))
        lo[active], hi[active] = la, ha
        done[active] = finished
        if finished.all():
            break
        if finished.any():
            keep = np.flatnonzero(~finished)
            active = active[keep]
            sub = sub.take(keep)
    return t, done


# --- Paule-Mandel --------------------------------------------------------------------------------


def q_root(
    block: Block, target: FloatArray, q0: FloatArray, start: FloatArray, spread: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Solve for the tau^2 where the generalised Q equals ``target`` (0 if ``Q(0) <= target``).

    Newton's method on ``1/Q``, which is close to linear in tau^2 (exactly so for equal
    variances). ``spread`` is ``sum (y - ybar)^2``: Q is below the target beyond
    ``spread / target - min v``.
    """
    tau2 = np.zeros(block.n)
    ok = np.ones(block.n, dtype=bool)
    cols = np.flatnonzero(q0 > target)
    if cols.size == 0:
        return tau2, ok
    sub = block.take(cols)
    goal = target[cols]

    def evaluate(part: Block, t: FloatArray, rows: np.ndarray) -> tuple[FloatArray, FloatArray]:
        fit = at_tau2(part, t)
        return 1.0 / goal[rows] - 1.0 / fit.q, fit.p2() / fit.q**2

    hi = np.maximum(spread[cols] / goal - sub.v.min(axis=0), 0.0)
    lo = np.zeros(cols.size)
    t, done = safeguarded_newton(sub, evaluate, np.clip(start[cols], lo, hi), lo, hi)
    tau2[cols], ok[cols] = t, done
    return tau2, ok


# --- ML and REML ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LikelihoodTerms:
    """The ML/REML score ``a - b`` at one tau^2.

    The ML/REML score ``a - b`` at one tau^2: ``a = (Py)'(Py) = sum w^2 r^2`` and ``b = tr(P)``
    (REML) or ``sum w`` (ML), with their derivatives in tau^2.
    """

    a: FloatArray
    b: FloatArray
    da: FloatArray
    db: FloatArray

    @property
    def score(self) -> FloatArray:
        """The estimating equation, positive left of a maximum."""
        return self.a - self.b

    @property
    def information(self) -> FloatArray:
        """Observed information ``-d score / d tau2``."""
        return self.db - self.da


def likelihood_terms(fit: Weighted, reml: bool) -> LikelihoodTerms:
    """:class:`LikelihoodTerms` from a weighted fit (Viechtbauer 2005, eqs. 11 and 13).

    ``da = -2 sum w^3 r^2 + 2 (sum w^2 r)^2 / sum w`` (the weighted mean moves with tau^2);
    ``db = -sum w^2`` (ML) or ``-sum w^2 + 2 sum w^3 / sum w - (sum w^2 / sum w)^2`` (REML).
    """
    w, wr, s1 = fit.w, fit.wr, fit.s1
    w2 = w * w
    s2 = w2.sum(axis=0)
    wr2 = wr * wr
    p2 = wr2.sum(axis=0)
    r3 = np.einsum("ij,ij->j", wr2, w)
    t2 = np.einsum("ij,ij->j", wr, w)
    da = 2.0 * t2 * t2 / s1 - 2.0 * r3
    if not reml:
        return LikelihoodTerms(p2, s1, da, -s2)
    ratio = s2 / s1
    s3 = np.einsum("ij,ij->j", w2, w)
    db = 2.0 * s3 / s1 - s2 - ratio * ratio
    return LikelihoodTerms(p2, s1 - ratio, da, db)


def score_at_zero(fixed: Weighted, reml: bool) -> FloatArray:
    """Return the ML/REML score at tau^2 = 0, from the fixed-effect fit."""
    score = np.einsum("ij,ij->j", fixed.wr, fixed.wr) - fixed.s1
    return score + fixed.s2() / fixed.s1 if reml else score


def likelihood_root(
    block: Block, reml: bool, start: FloatArray, upper: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Return a root of the ML/REML score in ``(0, upper)`` for every column.

    A root of the ML/REML score in ``(0, upper)`` for every column (whose score at 0 must be
    positive), by safeguarded Newton from ``start``.

    The equation solved is ``1 - b/a = 0`` (:class:`LikelihoodTerms`), whose root is the score's:
    ``b/a`` is linear in tau^2 when all variances are equal, and close to it otherwise, so Newton's
    method on it needs few steps.
    """

    def evaluate(part: Block, t: FloatArray, rows: np.ndarray) -> tuple[FloatArray, FloatArray]:
        x = likelihood_terms(at_tau2(part, t), reml)
        return 1.0 - x.b / x.a, (x.db * x.a - x.b * x.da) / (x.a * x.a)

    lo = np.zeros(block.n)
    return safeguarded_newton(block, evaluate, np.clip(start, lo, upper), lo, upper)


@dataclass(frozen=True)
class Node:
    """The certificate's values at one tau^2 per column.

    The certificate's values at one tau^2 per column: ``L(t) - L(t*)``, ``C``, ``C'``, and whether
    the tail test holds there (no maximum beyond ``t``).
    """

    t: FloatArray
    dl: FloatArray
    c: FloatArray
    dc: FloatArray
    tail: BoolArray

    def take(self, idx: np.ndarray) -> Node:
        """Return the values of the columns ``idx``."""
        return Node(*(x[idx] for x in self.fields()))

    def fields(self) -> tuple[np.ndarray, ...]:
        """Return the arrays, in order."""
        return (self.t, self.dl, self.c, self.dc, self.tail)


@dataclass(frozen=True)
class _Solution:
    """What every node compares with.

    What every node compares with: the solution ``t``, its weights ``w``, the smallest variance, and
    the level ``C(t*) + slack`` an interval's bound must exceed.
    """

    t: FloatArray
    w: FloatArray
    vmin: FloatArray
    level: FloatArray
    reml: bool

    def take(self, idx: np.ndarray) -> _Solution:
        return _Solution(self.t[idx], self.w[:, idx], self.vmin[idx], self.level[idx], self.reml)


def convex_part(fit: Weighted, reml: bool) -> tuple[FloatArray, FloatArray]:
    """``C = Q [+ log sum w]`` and ``C' = -sum w^2 r^2 [- sum w^2 / sum w]``.

    ``C = Q [+ log sum w]`` and ``C' = -sum w^2 r^2 [- sum w^2 / sum w]`` (Q' by the envelope
    theorem).
    """
    p2 = np.einsum("ij,ij->j", fit.wr, fit.wr)
    if not reml:
        return fit.q, -p2
    return fit.q + np.log(fit.s1), -p2 - np.einsum("ij,ij->j", fit.w, fit.w) / fit.s1


def _node(block: Block, t: FloatArray, star: _Solution) -> Node:
    """Evaluate the certificate's values at ``t``, and the tail bound.

    Tail bound: for ``s >= t`` and ``x = log((v_min + s)/(v_min + t))``, each weight satisfies
    ``w_i(s) >= w_i(t) e^-x``, so ``Q(s) >= Q(t) e^-x`` and ``log sum w(s) >= log sum w(t) - x``;
    and ``L`` is convex in ``log(v_min + s)`` with slope ``R = (v_min + t) sum w(t)`` at ``t``.
    Hence ``f(s) >= f(t) + (R [- 1]) x - Q(t)(1 - e^-x)``, a convex function of ``x`` whose
    minimum over ``x >= 0`` has a closed form; where it exceeds the level, no tau^2 beyond ``t``
    has a higher likelihood. (Exact when all variances are equal.)
    """
    fit = at_tau2(block, t)
    c, dc = convex_part(fit, star.reml)
    # sum log((v + t)/(v + t*)) as logs of products of ratios (a log per group, not per study)
    factors = star.w * (t - star.t)
    factors += 1.0
    dl = np.zeros(block.n)
    for g in range(0, factors.shape[0], PRODUCT_GROUP):
        dl += np.log(np.prod(factors[g : g + PRODUCT_GROUP], axis=0))
    beta = (star.vmin + t) * fit.s1 - (1.0 if star.reml else 0.0)
    x = np.log(np.maximum(fit.q / np.where(beta > 0, beta, 1.0), 1.0))
    tail_low = dl + c + beta * x - fit.q * -np.expm1(-x)
    return Node(t, dl, c, dc, (beta > 0) & (tail_low > star.level))


def _certified(a: Node, b: Node, level: FloatArray) -> BoolArray:
    """Whether ``f - L(t*)`` exceeds ``level`` on ``[a.t, b.t]``.

    Whether ``f - L(t*)`` exceeds ``level`` on ``[a.t, b.t]``: by the bound of the chord of L plus
    the larger tangent of C (a convex piecewise-linear function: lowest at an end, where it equals
    ``f``, or where the tangents cross), or by the tail bound at ``a``.
    """
    h = b.t - a.t
    slope = (b.dl - a.dl) / np.where(h > 0, h, 1.0)
    cross = (b.c - b.dc * b.t - a.c + a.dc * a.t) / (a.dc - b.dc)
    cross = np.clip(np.where(np.isfinite(cross), cross, a.t), a.t, b.t)
    at_cross = (
        a.dl
        + slope * (cross - a.t)
        + np.maximum(a.c + a.dc * (cross - a.t), b.c + b.dc * (cross - b.t))
    )
    low = np.minimum(np.minimum(a.dl + a.c, b.dl + b.c), at_cross)
    return (low > level) | (a.tail & (a.dl + a.c > level))


def _positions(near: FloatArray, far: FloatArray, first: FloatArray) -> list[FloatArray]:
    """Nodes from ``near + first`` to ``far`` (log scale), distances growing geometrically."""
    span = far - near
    sign = np.sign(span)
    reach = np.maximum(np.abs(span), first)
    ratio = (reach / first) ** (1.0 / (NODES_PER_SIDE - 1))
    return [near + sign * first * ratio**j for j in range(NODES_PER_SIDE - 1)] + [far]


def certify_maximum(
    block: Block, star_fit: Weighted, t_star: FloatArray, upper: FloatArray, reml: bool
) -> BoolArray:
    """Certify, per column, that the likelihood has no higher maximum in ``[0, upper]``.

    True where no tau^2 in ``[0, upper]`` outside the cell around ``t_star`` has a (restricted)
    likelihood above the one at ``t_star`` (``star_fit``: the fit there; see the module docstring).

    Each side of the solution (right: up to ``upper``; left: down to 0, if ``t_star > 0``) is a
    column of its own in one sub-block, so every node and interval is one vectorised step.
    """
    vmin = block.v.min(axis=0)
    s0 = np.log(vmin)
    s_top = np.log(upper * (1.0 + 1e-9) + 1e-300 + vmin)
    half_step = 0.5 * (s_top - s0) / (SCAN_POINTS - 1)
    s_star = np.log(t_star + vmin)
    c_star, _ = convex_part(star_fit, reml)
    level = c_star + 1e-10 * (1.0 + np.abs(c_star) + block.k)
    interior = t_star > 0
    near = np.where(interior, s_star, s0)
    start_right = np.where(interior, s_star + half_step, s0 + 2.0 * half_step)
    start_left = s_star - half_step
    right_cols = np.flatnonzero(start_right < s_top)
    left_cols = np.flatnonzero(interior & (start_left > s0))
    cols = np.concatenate([right_cols, left_cols])
    if cols.size == 0:
        return np.ones(block.n, dtype=bool)
    right = np.arange(cols.size) < right_cols.size
    start = np.where(right, start_right[cols], start_left[cols])
    far = np.where(right, s_top[cols], s0[cols])
    positions = _positions(near[cols], far, np.abs(start - near[cols]))
    ts = [np.maximum(np.exp(s) - vmin[cols], 0.0) for s in positions]
    ts[-1] = np.where(right, upper[cols] * (1.0 + 1e-9), 0.0)
    sub = block.take(cols)
    star = _Solution(t_star, star_fit.w, vmin, level, reml).take(cols)
    nodes = [_node(sub, t, star) for t in ts[:-1]]
    for prev, node in itertools.pairwise(nodes):  # a tail holds from its node on
        node.tail[right] |= prev.tail[right]
    # the last node (upper, or 0) only where a tail bound has not already covered it
    need = np.flatnonzero(~right | ~nodes[-1].tail)
    last = _node(sub.take(need), ts[-1][need], star.take(need))
    steps = [(np.arange(cols.size), a, b) for a, b in itertools.pairwise(nodes)]
    steps.append((need, nodes[-1].take(need), last))
    pairs = []
    for idx, a, b in steps:
        side = right[idx]
        lo = Node(*(np.where(side, x, y) for x, y in zip(a.fields(), b.fields(), strict=True)))
        hi = Node(*(np.where(side, y, x) for x, y in zip(a.fields(), b.fields(), strict=True)))
        fails = np.flatnonzero(~_certified(lo, hi, star.level[idx]))
        pairs.append((idx[fails], lo.take(fails), hi.take(fails)))
    bad = _refine(sub, _join(pairs), star)
    certified = np.ones(block.n, dtype=bool)
    certified[cols[bad]] = False
    return certified


def _join(pairs: list[tuple[np.ndarray, Node, Node]]) -> tuple[np.ndarray, Node, Node]:
    """One set of (column, lower node, upper node) from several."""
    idx = np.concatenate([p[0] for p in pairs])
    lo = Node(*(np.concatenate(f) for f in zip(*(p[1].fields() for p in pairs), strict=True)))
    hi = Node(*(np.concatenate(f) for f in zip(*(p[2].fields() for p in pairs), strict=True)))
    return idx, lo, hi


def _refine(block: Block, failing: tuple[np.ndarray, Node, Node], star: _Solution) -> np.ndarray:
    """Halve (in log scale) the failing intervals up to :data:`REFINEMENTS` times.

    Halve (in log scale) the failing intervals up to :data:`REFINEMENTS` times; the columns where
    some piece still is not certified.
    """
    idx, a, b = failing
    for _ in range(REFINEMENTS):
        if idx.size == 0:
            break
        part = star.take(idx)
        c = part.vmin
        mid_t = np.clip(np.sqrt((a.t + c) * (b.t + c)) - c, a.t, b.t)
        mid = _node(block.take(idx), mid_t, part)
        pairs = []
        for x, y in ((a, mid), (mid, b)):
            keep = np.flatnonzero(~_certified(x, y, part.level))
            pairs.append((idx[keep], x.take(keep), y.take(keep)))
        idx, a, b = _join(pairs)
    return np.unique(idx)
