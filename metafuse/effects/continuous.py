"""Effect sizes of two-arm continuous outcomes: raw and standardised mean differences.

References
----------
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related estimators.
    J Educ Stat 6:107-128.
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5, section 2.1.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from metafuse._arrays import ArrayLike, FloatArray, as_float
from metafuse.model import SMD_CORRECTIONS


def mean_difference(
    mean_exp: ArrayLike,
    sd_exp: ArrayLike,
    n_exp: ArrayLike,
    mean_ctrl: ArrayLike,
    sd_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Raw mean differences with variance ``sd1^2/n1 + sd2^2/n2`` (unequal variances).

    Reference: Deeks & Higgins (2010), Statistical algorithms in Review Manager 5, section 2.1.
    """
    m1, s1, n1, m2, s2, n2 = map(as_float, (mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl))
    return m1 - m2, s1**2 / n1 + s2**2 / n2


def hedges_correction(df: ArrayLike) -> FloatArray:
    """Exact small-sample bias correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)).

    Hedges (1981), J Educ Stat 6:107-128, equation 6e; ``nan`` for ``m <= 1``.
    """
    m = as_float(df)
    with np.errstate(invalid="ignore"):
        out = np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


def standardized_mean_difference(
    mean_exp: ArrayLike,
    sd_exp: ArrayLike,
    n_exp: ArrayLike,
    mean_ctrl: ArrayLike,
    sd_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    correction: str = "exact",
) -> tuple[FloatArray, FloatArray]:
    """Hedges' g (bias-corrected SMD with pooled SD) and its large-sample variance.

    ``correction="exact"``: ``g = J(n1+n2-2) (m1-m2)/s_pooled`` and
    ``var = 1/n1 + 1/n2 + g^2 / (2 (n1+n2))``, metafor's default (``vtype="LS"``); Hedges (1981);
    Hedges & Olkin (1985), chapter 5. ``correction="approximate"``: ``J = 1 - 3/(4N - 9)`` and
    ``var = N/(n1 n2) + g^2 / (2 (N - 3.94))`` with ``N = n1 + n2``, Review Manager 5's formulas
    (Deeks & Higgins 2010, section 2.1.2).
    """
    if correction not in SMD_CORRECTIONS:
        raise ValueError(
            f"correction must be one of {', '.join(SMD_CORRECTIONS)}, got {correction!r}"
        )
    m1, s1, n1, m2, s2, n2 = map(as_float, (mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl))
    df = n1 + n2 - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
        if correction == "approximate":
            total = n1 + n2
            g = (1 - 3 / (4 * total - 9)) * (m1 - m2) / sp
            vi = total / (n1 * n2) + g**2 / (2 * (total - 3.94))
        else:
            g = hedges_correction(df) * (m1 - m2) / sp
            vi = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    return g, vi
