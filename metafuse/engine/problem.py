"""A batch of meta-analyses as arrays, and the weighted least-squares algebra every estimator uses.

A :class:`Problem` holds ``m`` meta-analyses side by side: effect sizes ``y`` and sampling
variances ``v`` of shape ``(m, k)``, a boolean ``mask`` of the studies that take part (so that
meta-analyses of different sizes share one array), and optionally a design matrix ``X`` of shape
``(m, k, p)`` (meta-regression); without ``X`` the model has an intercept only and every quantity
has a closed form in sums, which is the fast path.

For weights ``w`` (zero outside the mask) the functions here give the weighted fit
``b = (X'WX)^-1 X'Wy``, its residuals ``r = y - Xb`` and the traces of ``P = W - WX(X'WX)^-1X'W``
that the moment and likelihood estimators of tau^2 need (Viechtbauer 2005; Viechtbauer 2010).

References
----------
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the random-effects
    model. J Educ Behav Stat 30:261-293.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Problem:
    """``m`` meta-analyses: ``y``, ``v``, ``mask`` of shape (m, k); ``X`` (m, k, p) or None.

    Entries outside the mask hold ``y = 0`` and ``v = 1`` (never used: their weight is 0).
    ``batch_shape`` is the leading shape the caller passed (restored by :meth:`unbatch`).
    """

    y: FloatArray
    v: FloatArray
    mask: BoolArray
    X: FloatArray | None
    batch_shape: tuple[int, ...]

    @classmethod
    def of(
        cls,
        y: npt.ArrayLike,
        v: npt.ArrayLike,
        mask: npt.ArrayLike | None = None,
        X: npt.ArrayLike | None = None,
    ) -> Problem:
        """Build a problem from arrays whose last axis holds the studies (any leading shape)."""
        ya = np.asarray(y, dtype=np.float64)
        va = np.asarray(v, dtype=np.float64)
        if ya.shape != va.shape or ya.ndim == 0:
            raise ValueError(
                f"y and v need the same shape with a study axis, got {ya.shape}, {va.shape}"
            )
        batch = ya.shape[:-1]
        k = ya.shape[-1]
        ya, va = ya.reshape(-1, k), va.reshape(-1, k)
        if mask is None:
            ma = np.ones(ya.shape, dtype=bool)
        else:
            ma = np.broadcast_to(np.asarray(mask, dtype=bool), (*batch, k)).reshape(-1, k)
        xa = None
        if X is not None:
            xa = np.asarray(X, dtype=np.float64)
            if xa.ndim == 2:
                xa = np.broadcast_to(xa, batch + xa.shape)
            xa = xa.reshape(-1, k, xa.shape[-1])
            xa = np.where(ma[..., None], xa, 0.0)
        ya = np.where(ma, ya, 0.0)
        va = np.where(ma, va, 1.0)
        return cls(y=ya, v=va, mask=ma.copy(), X=xa, batch_shape=batch)

    @property
    def m(self) -> int:
        """Number of meta-analyses."""
        return int(self.y.shape[0])

    @property
    def p(self) -> int:
        """Number of coefficients (1 for the intercept-only model)."""
        return 1 if self.X is None else int(self.X.shape[-1])

    @property
    def k(self) -> IntArray:
        """Number of studies in each meta-analysis."""
        return self.mask.sum(axis=-1)

    def take(self, rows: IntArray | BoolArray) -> Problem:
        """Return the sub-batch of the given rows (flat indices or a boolean selection)."""
        X = None if self.X is None else self.X[rows]
        y = self.y[rows]
        return Problem(y, self.v[rows], self.mask[rows], X, (int(y.shape[0]),))

    def unbatch(self, values: FloatArray) -> FloatArray:
        """Reshape a per-row (m,) result back to the caller's leading shape."""
        return values.reshape(self.batch_shape)

    def weights(self, tau2: FloatArray | float) -> FloatArray:
        """Random-effects weights ``1/(v + tau2)`` (0 outside the mask)."""
        t = np.asarray(tau2, dtype=np.float64)
        if t.ndim:
            t = t[:, None]
        return np.where(self.mask, 1.0 / (self.v + t), 0.0)

    def unit_weights(self) -> FloatArray:
        """Weights of an unweighted fit: 1 inside the mask."""
        return self.mask.astype(np.float64)


@dataclass(frozen=True)
class WeightedFit:
    """The weighted least-squares fit of one weight vector per row."""

    w: FloatArray
    #: (m, p) coefficients and (m, p, p) inverse of X'WX (intercept: (m, 1) and 1/sum w).
    beta: FloatArray
    inverse: FloatArray
    resid: FloatArray

    @property
    def q(self) -> FloatArray:
        """Weighted residual sum of squares ``sum w r^2`` (generalised Q for w = 1/(v + tau2))."""
        return (self.w * self.resid**2).sum(axis=-1)


def fit_weighted(problem: Problem, w: FloatArray) -> WeightedFit:
    """Weighted least squares ``b = (X'WX)^-1 X'Wy`` for each row."""
    if problem.X is None:
        sw = w.sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = (w * problem.y).sum(axis=-1) / sw
            inverse = (1.0 / sw)[:, None, None]
        resid = np.where(problem.mask, problem.y - mu[:, None], 0.0)
        return WeightedFit(w, mu[:, None], inverse, resid)
    X = problem.X
    xtwx = np.einsum("mk,mkp,mkq->mpq", w, X, X)
    inverse = np.linalg.inv(xtwx)
    beta = np.einsum("mpq,mk,mkq,mk->mp", inverse, w, X, problem.y)
    resid = np.where(problem.mask, problem.y - np.einsum("mkp,mp->mk", X, beta), 0.0)
    return WeightedFit(w, beta, inverse, resid)


def _weighted_cross(problem: Problem, d: FloatArray) -> FloatArray:
    """``X' diag(d) X`` per row, shape (m, p, p) (intercept: sum d)."""
    if problem.X is None:
        return d.sum(axis=-1)[:, None, None]
    return np.einsum("mk,mkp,mkq->mpq", d, problem.X, problem.X)


def _trace_product(a: FloatArray, b: FloatArray) -> FloatArray:
    """``tr(A B)`` for stacks of square matrices."""
    return np.einsum("mpq,mqp->m", a, b)


def trace_p(problem: Problem, fit: WeightedFit, d: FloatArray | None = None) -> FloatArray:
    """``tr(P D)`` with ``P = W - WX(X'WX)^-1X'W`` and ``D = diag(d)`` (``tr(P)`` without d).

    Intercept only: ``sum w d - sum w^2 d / sum w``.
    """
    w = fit.w
    wd = w if d is None else w * d
    return wd.sum(axis=-1) - _trace_product(fit.inverse, _weighted_cross(problem, w * wd))


def trace_pp(problem: Problem, fit: WeightedFit) -> FloatArray:
    """``tr(P P)``: the expected information of the REML score (Viechtbauer 2005, eq. 15)."""
    w = fit.w
    a = fit.inverse
    w2 = _weighted_cross(problem, w**2)
    w3 = _weighted_cross(problem, w**3)
    cross = np.einsum("mpq,mqr,mrs,msp->m", a, w2, a, w2)
    return (w**2).sum(axis=-1) - 2.0 * _trace_product(a, w3) + cross


def py_squared(fit: WeightedFit) -> FloatArray:
    """``(Py)'(Py) = sum w^2 r^2``."""
    return (fit.w**2 * fit.resid**2).sum(axis=-1)


def log_likelihood(problem: Problem, tau2: FloatArray, *, reml: bool) -> FloatArray:
    """(Restricted) log-likelihood of tau^2, up to a constant that does not depend on tau^2.

    ``-1/2 [sum log(v + tau2) + sum w r^2]``, minus ``1/2 log det(X'WX)`` for REML.
    """
    w = problem.weights(tau2)
    fit = fit_weighted(problem, w)
    t = np.asarray(tau2, dtype=np.float64)
    logs = np.where(problem.mask, np.log(problem.v + t[:, None]), 0.0).sum(axis=-1)
    ll = -0.5 * (logs + fit.q)
    if reml:
        ll = ll - 0.5 * np.linalg.slogdet(_weighted_cross(problem, w))[1]
    return ll


def unweighted_residual_ss(problem: Problem) -> FloatArray:
    """``min_b ||y - Xb||^2`` over the masked studies (the ordinary least-squares RSS)."""
    return fit_weighted(problem, problem.unit_weights()).q
