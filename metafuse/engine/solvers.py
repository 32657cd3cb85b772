"""Root finders and the global-maximum check behind the iterative tau^2 estimators.

Every solver works on a :class:`~metafuse.engine.problem.Problem` (a batch of meta-analyses) and
only on the rows still unsolved: converged rows are retired, so a batch costs what its hardest rows
cost. A *score* is a function ``score(problem, tau2, rows) -> (u, slope)``: for the rows of a (sub-)
problem, whose positions in the whole batch are ``rows``, an estimating equation ``u(tau2) = 0``
that is positive left of its root, and a positive slope ``-du/dtau2`` (or its expectation) for
Newton steps. ``rows`` lets a score carry per-row constants (e.g. a target for Q).

References
----------
Press WH, Teukolsky SA, Vetterling WT, Flannery BP (2007). Numerical Recipes, 3rd ed., sections
    9.1 (bracketing), 9.4 (safeguarded Newton, ``rtsafe``) and 10.2 (golden-section search).
Viechtbauer W (2005). J Educ Behav Stat 30:261-293 (the ML and REML estimating equations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np

from metafuse.engine.problem import BoolArray, FloatArray, Problem

IntArray = np.ndarray
Score = Callable[[Problem, FloatArray, IntArray], tuple[FloatArray, FloatArray]]
LogLik = Callable[[Problem, FloatArray], FloatArray]

#: Convergence: a step below ABS_TOL + REL_TOL * tau^2 (about 12 significant digits), with
#: ABS_TOL scaled down to ABS_TOL_PER_VARIANCE * (smallest variance) for data on a small scale
#: (tau^2 has the units of the variances; an absolute 1e-15 would end the search at once when
#: the variances are 1e-16).
REL_TOL: Final = 1e-12
ABS_TOL: Final = 1e-15
ABS_TOL_PER_VARIANCE: Final = 1e-10
#: Bisection steps of the bracketing fallback; 400 halvings shrink any bracket below REL_TOL.
MAX_BRACKET_ITERATIONS: Final = 400
#: Doublings allowed while looking for an upper end where the score is negative.
MAX_EXPANSIONS: Final = 2100
#: Points of the scan for a higher maximum (uniform in log(tau^2 + min v)).
SCAN_POINTS: Final = 48
#: Elements (rows x points x studies) evaluated at once by the scan, to bound memory.
SCAN_ELEMENTS: Final = 2_000_000
#: Log-likelihoods closer than this (relative) are ties.
LL_TIE: Final = 1e-13


def bracket_root(
    problem: Problem,
    score: Score,
    start: FloatArray,
    lower: FloatArray | None = None,
    upper: FloatArray | None = None,
) -> tuple[FloatArray, BoolArray]:
    """Root of a score that is positive at ``lower`` (default 0) and negative for large tau^2.

    Safeguarded Newton-bisection (``rtsafe``): the bracket always holds a sign change; a Newton
    step is taken when it lands inside the bracket and the bracket has halved since the last
    check, bisection otherwise. Rows whose score at ``lower`` is already <= 0 return ``lower``.
    Without ``upper`` the upper end is found by expanding from ``max(1, 2 start)``.
    """
    m = problem.m
    lo = np.zeros(m) if lower is None else lower.astype(np.float64).copy()
    u_lo, _ = score(problem, lo, np.arange(m))
    need = u_lo > 0
    x = lo.copy()
    converged = ~need
    idx = np.flatnonzero(need)
    if idx.size == 0:
        return x, converged
    sub = problem.take(idx)
    a = lo[idx]
    if upper is None:
        b = np.maximum(np.maximum(1.0, 2.0 * start[idx]), 2.0 * a + 1.0)
        for _ in range(MAX_EXPANSIONS):
            u_b, _ = score(sub, b, idx)
            grow = (u_b > 0) & np.isfinite(b)
            if not grow.any():
                break
            a = np.where(grow, b, a)
            b = np.where(grow, b * 4.0, b)
    else:
        b = upper[idx].astype(np.float64).copy()
    root, ok = _rtsafe(sub, score, a, b, idx)
    x[idx] = root
    converged[idx] = ok
    return x, converged


def _rtsafe(
    problem: Problem, score: Score, lo: FloatArray, hi: FloatArray, rows: IntArray
) -> tuple[FloatArray, BoolArray]:
    """Safeguarded Newton-bisection on brackets ``[lo, hi]`` with score(lo) > 0 >= score(hi).

    Rows are retired as they converge, so each row's iterates do not depend on the batch.
    """
    lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
    x = 0.5 * (lo + hi)
    reference = hi - lo
    smallest = np.where(problem.mask, problem.v, np.inf).min(axis=-1)
    floor = np.minimum(ABS_TOL, ABS_TOL_PER_VARIANCE * smallest)
    converged = np.zeros(problem.m, dtype=bool)
    active = np.arange(problem.m)
    sub = problem
    for _ in range(MAX_BRACKET_ITERATIONS):
        xa, la, ha = x[active], lo[active], hi[active]
        u, info = score(sub, xa, rows[active])
        pos = u > 0
        la, ha = np.where(pos, xa, la), np.where(pos, ha, xa)
        width = ha - la
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = xa + u / info
        inside = np.isfinite(newton) & (newton > la) & (newton < ha)
        halving = width <= 0.5 * reference[active]
        reference[active] = np.where(halving | ~inside, width, reference[active])
        tol = floor[active]
        tiny_step = inside & (np.abs(newton - xa) <= tol + REL_TOL * np.abs(xa))
        done = (width <= tol + REL_TOL * ha) | (u == 0) | tiny_step
        step = np.where(inside & halving, newton, 0.5 * (la + ha))
        x[active] = np.where(done, np.where(tiny_step, newton, xa), step)
        lo[active], hi[active] = la, ha
        converged[active] = done
        if done.all():
            break
        if done.any():
            active = active[~done]
            sub = problem.take(active)
    return x, converged


def scan_grid(problem: Problem, upper: FloatArray, points: int = SCAN_POINTS) -> FloatArray:
    """Scan points (m, points) from 0 to ``upper``, uniform in ``log(tau^2 + min v)``."""
    c = np.where(problem.mask, problem.v, np.inf).min(axis=-1)
    c = np.where(np.isfinite(c) & (c > 0), c, 1.0)
    top = np.log1p(np.maximum(upper, 0.0) / c)
    s = np.linspace(0.0, 1.0, points)[None, :] * top[:, None]
    return c[:, None] * np.expm1(s)


def likelihood_upper_bound(problem: Problem, df: FloatArray) -> FloatArray:
    """Return a tau^2 beyond which the ML or REML score is negative.

    A tau^2 beyond which the ML (``df = k``) or REML (``df = k - p``) score is negative.

    With ``S`` the least-squares residual sum of squares and ``v_min``, ``v_max`` the extreme
    sampling variances, the score is below ``S/(v_min + t)^2 - df/(v_max + t)`` (because
    ``r'W^2 r <= max(w)^2 S`` and ``tr P >= (k - p) min w``, ``sum w >= k min w``), which is
    negative beyond the larger root of ``df (v_min + t)^2 = S (v_max + t)``.
    """
    from metafuse.engine.problem import unweighted_residual_ss

    s = unweighted_residual_ss(problem)
    vmin = np.where(problem.mask, problem.v, np.inf).min(axis=-1)
    vmax = np.where(problem.mask, problem.v, -np.inf).max(axis=-1)
    a = np.maximum(df, 1.0)
    b = 2.0 * a * vmin - s
    c = a * vmin**2 - s * vmax
    disc = np.maximum(b * b - 4.0 * a * c, 0.0)
    return np.maximum((-b + np.sqrt(disc)) / (2.0 * a), 0.0)


def likelihood_maximum(
    problem: Problem, score: Score, loglik: LogLik, upper: FloatArray
) -> tuple[FloatArray, BoolArray, IntArray]:
    """Return the global maximum of a (restricted) likelihood over ``tau2`` in ``[0, upper]``.

    The score is evaluated on :data:`SCAN_POINTS` points (uniform in ``log(tau2 + min v)``); every
    interval where it turns from positive to non-positive holds a local maximum, which is solved to
    full precision by safeguarded Newton-bisection. The boundary 0 is a candidate too. The
    candidate with the highest likelihood wins, 0 on a tie (to rounding), as in metafor's
    ``ll0check``. Returns ``(tau2, converged, number of interior local maxima found)``.
    """
    m = problem.m
    grid = scan_grid(problem, upper * (1.0 + 1e-9) + 1e-300)
    points = grid.shape[1]
    u = np.empty((m, points))
    k = max(1, problem.y.shape[-1])
    # at most SCAN_ELEMENTS study cells at once: whole rows of grid points, or, when one row's
    # points are too many (k in the tens of thousands), a block of its points
    width = max(1, min(points, SCAN_ELEMENTS // k))
    chunk = max(1, SCAN_ELEMENTS // (width * k))
    for start in range(0, m, chunk):
        rows_ = np.arange(start, min(m, start + chunk))
        for left in range(0, points, width):
            span = slice(left, min(points, left + width))
            n = span.stop - span.start
            rep_rows = np.repeat(rows_, n)
            u_chunk, _ = score(problem.take(rep_rows), grid[rows_, span].reshape(-1), rep_rows)
            u[rows_, span] = u_chunk.reshape(rows_.size, n)
    change = (u[:, :-1] > 0) & (u[:, 1:] <= 0)
    rows, cols = np.nonzero(change)
    best = np.zeros(m)
    converged = np.ones(m, dtype=bool)
    best_ll = loglik(problem, best)
    if rows.size:
        sub = problem.take(rows)
        root, ok = _rtsafe(sub, score, grid[rows, cols], grid[rows, cols + 1], rows)
        ll_root = loglik(sub, root)
        order = np.lexsort((-ll_root, rows))
        first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
        r = rows[first]
        tie = LL_TIE * np.maximum(1.0, np.abs(ll_root[first]))
        wins = ll_root[first] > best_ll[r] + tie
        best[r[wins]] = root[first][wins]
        converged[r] = np.where(wins, ok[first], True)
    return best, converged, np.bincount(rows, minlength=m)
