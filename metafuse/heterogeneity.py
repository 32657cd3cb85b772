"""Heterogeneity statistics: Cochran's Q, I^2, H^2 (vectorised over leading batch axes).

References
----------
Cochran WG (1954). The combination of estimates from different experiments. Biometrics 10:101-129.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med 21:1539-58.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3):
    I^2 = tau^2 / (tau^2 + s^2), with s^2 the "typical" within-study variance.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metafuse.tau2 import generalised_q

FloatArray = npt.NDArray[np.float64]


def cochran_q(yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Cochran's Q with inverse-variance weights ``1/vi``."""
    return generalised_q(yi, vi, 0.0)


def typical_variance(vi: FloatArray) -> FloatArray:
    """Typical within-study variance ``s^2 = (k - 1) sum w / ((sum w)^2 - sum w^2)``, ``w = 1/vi``.

    Higgins & Thompson (2002), equation 9.
    """
    w = 1.0 / vi
    sw = w.sum(axis=-1)
    return (vi.shape[-1] - 1) * sw / (sw**2 - (w**2).sum(axis=-1))


def i2_from_q(q: FloatArray, df: int) -> FloatArray:
    """Q-based I^2 in percent: ``max(0, (Q - df) / Q) * 100`` (0 when Q = 0)."""
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, 100.0 * (q - df) / q, 0.0)
    return np.maximum(i2, 0.0)


def i2_from_tau2(tau2: FloatArray, s2: FloatArray) -> FloatArray:
    """tau^2-based I^2 in percent: ``100 tau^2 / (tau^2 + s^2)`` (metafor's definition)."""
    return 100.0 * tau2 / (tau2 + s2)


def h2_from_tau2(tau2: FloatArray, s2: FloatArray) -> FloatArray:
    """tau^2-based H^2: ``(tau^2 + s^2) / s^2``."""
    return tau2 / s2 + 1.0
