"""Duval and Tweedie's trim-and-fill (metafor's ``trimfill``), with the L0 and R0 estimators.

References
----------
Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of accounting for publication
    bias in meta-analysis. J Am Stat Assoc 95:89-98 (the estimators L0 and R0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import FloatArray
from metafuse.engine.mixed import fit_mixed
from metafuse.measures import TABLE_METHODS, normalise_method
from metafuse.pooling import refit
from metafuse.result_protocol import ResultMixin, short
from metafuse.results import EffectSizes, PooledResult
from metafuse.toolbox._inputs import as_result, used_effects

MAX_ITERATIONS = 100


@dataclass(frozen=True, repr=False)
class TrimFillResult(ResultMixin):
    """A trim-and-fill analysis: the model fitted to observed plus filled studies."""

    title = "Trim-and-fill"

    result: PooledResult
    #: Estimated number of missing studies, and its standard error.
    k0: int
    se_k0: float
    #: Side on which studies were filled ("left" or "right").
    side: str
    #: Labels of the filled studies (``Filled 1``, ...), marked for the funnel plot.
    filled: tuple[str, ...] = field(default=())
    #: The estimator (L0 or R0) and, for R0, the one-sided P of the test that no study is
    #: missing, ``0.5^(k0 + 1)`` (Duval & Tweedie 2000, JASA; metafor's ``p.k0``); None for L0.
    estimator: str = "L0"
    p_k0: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the values as a dictionary.

        The :func:`metafuse.pool` keys of the filled model plus ``k0``, ``se_k0``, ``p_k0``,
        ``estimator`` and ``side``.
        """
        return {
            **self.result.to_dict(),
            "k0": self.k0,
            "se_k0": self.se_k0,
            "p_k0": self.p_k0,
            "estimator": self.estimator,
            "side": self.side,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the study table of the filled model.

        Return the study table of the filled model (observed, then filled studies), with a boolean
        column ``filled``.
        """
        frame = self.result.to_frame()
        frame["filled"] = frame["study"].isin(self.filled)
        return frame

    def _headline(self) -> str:
        r = self.result
        scale = r.display_scale
        est, lo, hi = (scale.display(x) for x in (r.estimate, r.ci_low, r.ci_high))
        return (
            f"{self.estimator}: {self.k0} filled on the {self.side}; {r.measure} {r.method} "
            f"k={r.k}: {short(est)} [{short(lo)}, {short(hi)}]"
        )

    def _summary_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("Studies filled (k0)", f"{self.k0} (SE {short(self.se_k0)}) on the {self.side}"),
        ]
        if self.p_k0 is not None:
            rows.append(("P (no study missing)", f"{self.p_k0:.4g}"))
        return [*rows, ("Filled model", repr(self.result))]


def _k0(centred: FloatArray, estimator: str) -> tuple[float, float]:
    """Return the L0 or R0 estimate of the number of missing studies and its standard error."""
    from scipy import stats  # here, not at import (0.3 s)

    k = len(centred)
    ranks = stats.rankdata(np.abs(centred), method="ordinal")
    signed = np.sign(centred) * ranks
    if estimator == "R0":
        k0 = (k - np.max(-signed[signed < 0], initial=0)) - 1
        return float(k0), float(np.sqrt(2 * max(0, k0) + 2))
    sr = float(np.sum(signed[signed > 0]))
    k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
    var_sr = (
        k * (k + 1) * (2 * k + 1)
        + 10 * k0**3
        + 27 * k0**2
        + 17 * k0
        - 18 * k * k0**2
        - 18 * k * k0
        + 6 * k**2 * k0
    ) / 24
    # the variance formula can be negative for small k0: its SE is then not defined (metafor: NaN)
    se = 4 * math.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else math.nan
    return float(k0), float(se)


def trim_and_fill(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "FE",
    estimator: str = "L0",
    side: str | None = None,
    **options: Any,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill with the L0 or R0 estimator (metafor's ``trimfill``).

    Studies are trimmed iteratively until the number missing (``k0``) is stable, then mirrored
    about the trimmed estimate, and the model is refitted to observed plus filled studies.

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).
    estimator : {"L0", "R0"}, optional
        Estimator of the number of missing studies.
    side : {"left", "right"}, optional
        Side of the funnel where studies are missing; by default estimated from the sign of the
        slope of ``yi`` on ``sei`` in a meta-regression with the model's method.

    Returns
    -------
    TrimFillResult
        The filled model, ``k0`` and its standard error, the side, the filled studies and, for
        R0, the P value of the test that no study is missing.

    Raises
    ------
    ValueError
        For Mantel-Haenszel and Peto models, or fewer than 3 studies.

    References
    ----------
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
    """
    result = as_result(data, measure, method, False, **options)
    method = normalise_method(result.method, "GEN")
    if method in TABLE_METHODS:
        raise ValueError("trim-and-fill refits inverse-variance models, not MH or PETO")
    estimator = estimator.upper()
    if estimator not in ("L0", "R0"):
        raise ValueError("estimator must be L0 or R0")
    labels, y_obs, v_obs = used_effects(result)
    k = len(y_obs)
    if k < 3:
        raise ValueError("trim-and-fill needs at least 3 studies")
    if side is None:
        slope = fit_mixed(y_obs, v_obs, np.column_stack([np.ones(k), np.sqrt(v_obs)]), method)
        side = "right" if slope.coef[1] < 0 else "left"
    if side not in ("left", "right"):
        raise ValueError("side must be left or right")
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * y_obs, kind="stable")
    y, v = sign * y_obs[order], v_obs[order]
    scale = result.display_scale
    k0, previous, iterations, beta, se_k0 = 0, -1, 0, 0.0, 0.0
    while k0 != previous:
        previous, iterations = k0, iterations + 1
        if iterations > MAX_ITERATIONS:
            raise ValueError(f"trim-and-fill did not converge in {MAX_ITERATIONS} iterations")
        trimmed = EffectSizes.from_arrays(
            result.measure, [str(i) for i in range(k - k0)], y[: k - k0], v[: k - k0], scale=scale
        )
        beta = refit(result, effects=trimmed, method=method, hksj=False).estimate_se()[0]
        k0_raw, se_k0 = _k0(y - beta, estimator)
        k0 = max(0, int(np.round(k0_raw)))
    used = [s for s in result.studies if s.yi is not None]
    mirrored = sign * (2 * beta - y[k - k0 :]) if k0 else np.array([])
    filled = tuple(f"Filled {i + 1}" for i in range(k0))
    rows = [s.data for s in used] + [
        MappingProxyType({"yi": float(a), "sei": float(np.sqrt(b))})
        for a, b in zip(mirrored, v[k - k0 :], strict=True)
    ]
    combined = EffectSizes.from_arrays(
        result.measure,
        labels + list(filled),
        np.concatenate([y_obs, mirrored]),
        np.concatenate([v_obs, v[k - k0 :]]),
        scale=scale,
        data=rows,
    )
    final = refit(result, effects=combined, method=method)
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else None
    return TrimFillResult(final, k0, se_k0, side, filled, estimator, p_k0)
