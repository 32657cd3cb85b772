"""Heterogeneity statistics: Cochran's Q, I^2, H^2, for a batch of meta-analyses.

References
----------
Cochran WG (1954). The combination of estimates from different experiments. Biometrics 10:101-129.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med 21:1539-58.
Viechtbauer W (2010). J Stat Softw 36(3): I^2 = tau^2 / (tau^2 + s^2) with s^2 the "typical"
    within-study variance ((k - p)/tr(P) in meta-regression).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from metafuse.engine.problem import FloatArray, Problem, fit_weighted, trace_p


def i2_from_q(q: npt.ArrayLike, df: FloatArray | float) -> FloatArray:
    """Q-based I^2 in percent: ``max(0, (Q - df) / Q) * 100`` (0 when Q = 0)."""
    qa = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(qa > 0, 100.0 * (qa - df) / qa, 0.0)
    return np.maximum(i2, 0.0)


@dataclass(frozen=True)
class Heterogeneity:
    """Q, its P value, I^2 (tau^2-based for random effects, Q-based otherwise), I2_Q and H^2.

    ``s2`` is the typical within-study variance that turns a tau^2 into an I^2.
    """

    q: FloatArray
    q_pval: FloatArray
    i2: FloatArray
    i2_q: FloatArray
    h2: FloatArray
    s2: FloatArray

    def i2_at(self, tau2: FloatArray) -> FloatArray:
        """I^2 (percent) of a given tau^2: ``100 tau2 / (tau2 + s^2)``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100.0 * tau2 / (tau2 + self.s2)


def heterogeneity(problem: Problem, tau2: FloatArray, random: bool) -> Heterogeneity:
    """Cochran's Q (inverse-variance weights) and I^2/H^2 for each row (nan where k < 2)."""
    fit = fit_weighted(problem, problem.weights(0.0))
    df = (problem.k - problem.p).astype(np.float64)
    many = df >= 1
    q = np.where(many, np.maximum(fit.q, 0.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q_pval = np.where(many, special.chdtrc(np.maximum(df, 1.0), q), np.nan)
        s2 = df / trace_p(problem, fit)
        i2_q = np.where(many, i2_from_q(q, df), np.nan)
        if random:
            i2 = np.where(many, 100.0 * tau2 / (tau2 + s2), np.nan)
            h2 = np.where(many, tau2 / s2 + 1.0, np.nan)
        else:
            i2 = i2_q
            h2 = np.where(many, q / df, np.nan)
    return Heterogeneity(q=q, q_pval=q_pval, i2=i2, i2_q=i2_q, h2=h2, s2=s2)
