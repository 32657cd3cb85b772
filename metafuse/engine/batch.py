"""Many meta-analyses at once: the public batch engine (:func:`pool_many`).

Meta-analyses of different sizes share one array through a mask. Every method of :func:`pool`
for inverse-variance models is available and gives, row by row, the same numbers as :func:`pool`
(the same engine code), while iterative estimators retire converged rows as they go.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from metafuse._arrays import BoolArray, FloatArray, IntArray
from metafuse.engine.inverse_variance import fit_inverse_variance
from metafuse.measures import TABLE_METHODS, check_level, normalise_method
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
    method and ``hksj`` (the same engine code); iterative estimators retire converged rows.

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
    if str(method).strip().upper() in TABLE_METHODS:
        raise ValueError(
            f"{method} pools 2x2 tables; pool_many takes effect sizes (FE or a "
            "random-effects method)"
        )
    code = normalise_method(method, "GEN")
    y = np.asarray(yi, dtype=np.float64)
    v = np.asarray(vi, dtype=np.float64)
    if y.shape != v.shape or y.ndim < 1:
        raise ValueError(f"yi and vi need the same shape (m, k), got {y.shape} and {v.shape}")
    m = (
        np.ones(y.shape, dtype=bool)
        if mask is None
        else np.broadcast_to(np.asarray(mask, dtype=bool), y.shape)
    )
    bad = m & ~(np.isfinite(y) & np.isfinite(v) & (v > 0))
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"yi and vi must be finite with vi > 0 where the mask is set; not at {where}"
        )
    if (m.sum(axis=-1) == 0).any():
        raise ValueError("every meta-analysis needs at least one study in the mask")
    fit = fit_inverse_variance(
        y,
        v,
        code,
        hksj,
        level=check_level(level),
        mask=m,
        prediction="none",
        weighted=weighted,
        intervals=False,
    )
    return BatchResult(
        estimate=fit.estimate,
        se=fit.se,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        pval=fit.pval,
        tau2=fit.tau2,
        Q=fit.Q,
        I2=fit.I2,
        k=fit.k,
        converged=fit.converged,
    )
