"""Mantel-Haenszel and Peto fits of study tables, and RevMan's "M-H, Random".

Mantel-Haenszel and Peto fits of study tables (2x2 counts or events over person-time), and RevMan's
"M-H, Random": the fields of a :class:`~metafuse.results.PooledResult` from
:class:`~metafuse.results.EffectSizes`.

The convention decides which tables enter the Mantel-Haenszel estimate: the estimable ones
(metafuse, RevMan), every table (metafor's ``rma.mh``), and whether the zero-cell-corrected
tables are pooled (RevMan). Q always uses the per-study inverse-variance effect sizes around the
pooled estimate (``rma.mh``; Deeks & Higgins 2010), Peto's own Q for Peto.

References
----------
Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5 (zero cells, M-H random).
Viechtbauer W (2010). J Stat Softw 36(3) (metafor's ``rma.mh`` and ``rma.peto``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from metafuse._arrays import BoolArray, FloatArray
from metafuse.conventions import get_convention
from metafuse.effects.binary import continuity_corrected_cells
from metafuse.engine.heterogeneity import i2_from_q
from metafuse.engine.inverse_variance import fit_inverse_variance, wald_test
from metafuse.engine.tables import (
    TableFit,
    cochran,
    cochran_mantel_haenszel,
    cochran_mantel_haenszel_rates,
    mantel_haenszel,
    mantel_haenszel_rates,
    peto,
    tarone,
)
from metafuse.exceptions import DataError
from metafuse.measures import RATE_MEASURES
from metafuse.results import EffectSizes


def table_counts(effects: EffectSizes, rows: BoolArray) -> list[FloatArray]:
    """Events and totals (or person-time) of both arms of the selected studies."""
    names = (
        ("events_exp", "time_exp", "events_ctrl", "time_ctrl")
        if effects.measure in RATE_MEASURES
        else ("events_exp", "n_exp", "events_ctrl", "n_ctrl")
    )
    return [effects.column(c)[rows] for c in names]


def mh_rows(effects: EffectSizes, estimable: BoolArray, convention: str) -> BoolArray:
    """Tables that enter the Mantel-Haenszel estimate.

    Every table under metafor's convention (``rma.mh`` keeps tables that are not estimable as effect
    sizes: they add nothing to an odds ratio, but double zeros weigh in a risk difference and
    all-event tables in a risk ratio), else the estimable ones.
    """
    if get_convention(convention).mh_all_tables:
        return np.ones(effects.k, dtype=bool)
    return estimable


def _mh_counts(effects: EffectSizes, rows: BoolArray, convention: str) -> list[FloatArray]:
    counts = table_counts(effects, rows)
    conv = get_convention(convention)
    if conv.mh_corrected_counts and effects.measure in ("OR", "RR"):
        add, to = float(effects.options.get("add", conv.add)), str(effects.options.get("to"))
        a, b, c, d = continuity_corrected_cells(*counts, add=add, to=to)  # type: ignore[arg-type]
        counts = [a, a + b, c, c + d]
    return counts


def mantel_haenszel_fit(
    effects: EffectSizes, estimable: BoolArray, convention: str, correct: bool = True
) -> tuple[TableFit, dict[str, Any], BoolArray]:
    """Fit the Mantel-Haenszel estimate with its tests; return it, the tests and the rows pooled.

    The tests are Cochran-Mantel-Haenszel's, Cochran's and Tarone's for odds ratios, the
    Mantel-Haenszel rate test for rate ratios; ``correct`` is the continuity correction of the
    association tests, as metafor's ``rma.mh``.
    """
    rows = mh_rows(effects, estimable, convention)
    counts = _mh_counts(effects, rows, convention)
    measure = effects.measure
    extras: dict[str, Any] = {}
    if measure in RATE_MEASURES:
        fit = mantel_haenszel_rates(measure, *counts)
        if measure == "IRR" and np.isfinite(fit.estimate):
            extras["CMH"], extras["CMH_pval"] = cochran_mantel_haenszel_rates(
                *counts, correct=correct
            )
        return fit, extras, rows
    fit = mantel_haenszel(measure, *counts)
    if measure == "OR" and np.isfinite(fit.estimate):
        a, n1, c, n2 = counts
        extras["CMH"], extras["CMH_pval"] = cochran_mantel_haenszel(a, n1, c, n2, correct=correct)
        extras["CO"], extras["CO_pval"] = cochran(a, n1, c, n2, correct=correct)
        extras["tarone"], extras["tarone_pval"] = tarone(a, n1, c, n2, float(np.exp(fit.estimate)))
    return fit, extras, rows


def _q(y: FloatArray, v: FloatArray, estimate: float) -> float:
    return float(np.maximum(0.0, ((y - estimate) ** 2 / v).sum())) if len(y) > 1 else 0.0


def fit_tables(
    effects: EffectSizes, estimable: BoolArray, method: str, options: dict[str, Any]
) -> dict[str, Any]:
    """Mantel-Haenszel or Peto fixed-effect fit on the raw counts (fields of a result)."""
    measure = effects.measure
    y, v = effects.yi[estimable], effects.vi[estimable]
    k = len(y)
    if method == "MH":
        tf, extras, rows = mantel_haenszel_fit(
            effects, estimable, options["convention"], options.get("correct", True)
        )
        q = _q(y, v, float(tf.estimate))
    else:
        rows, extras = estimable, {}
        peto_fit = peto(*table_counts(effects, rows))
        tf, q = peto_fit, float(peto_fit.q) if k > 1 else 0.0
    est, se = float(tf.estimate), float(tf.se)
    if not (np.isfinite(est) and np.isfinite(se)):
        raise DataError(
            f"the {method} {measure} is not estimable from these counts (no events, "
            "or no non-events, in one arm of every study)"
        )
    stat, pval, lo, hi = wald_test(np.array([est]), np.array([se]), None, options["level"])
    return {
        "estimate": est,
        "se": se,
        "statistic": stat[0],
        "pval": pval[0],
        "ci_low": lo[0],
        "ci_high": hi[0],
        "tau2": 0.0,
        **_q_fields(q, k),
        "tau2_ci_low": None,
        "tau2_ci_high": None,
        "I2_ci_low": None,
        "I2_ci_high": None,
        "pi_low": None,
        "pi_high": None,
        "weights": np.asarray(tf.weights)[estimable[rows]],
        "extras": extras,
    }


def _q_fields(q: float, k: int) -> dict[str, Any]:
    i2 = float(i2_from_q(q, k - 1)) if k > 1 else None
    return {
        "Q": q,
        "Q_pval": float(special.chdtrc(k - 1, q)) if k > 1 else None,
        "I2": i2,
        "I2_Q": i2,
        "H2": q / (k - 1) if k > 1 else None,
    }


def mh_random_tau2(v: FloatArray, q: float) -> float:
    """Return DerSimonian-Laird tau^2 from a Q computed around the Mantel-Haenszel estimate.

    DerSimonian-Laird tau^2 from a heterogeneity statistic ``q`` computed around the Mantel-Haenszel
    estimate: ``max(0, (q - (k - 1)) / (sum w - sum w^2 / sum w))``, ``w = 1/v`` (Deeks & Higgins
    2010, section 3.3.1).
    """
    w = 1.0 / v
    denominator = w.sum() - (w**2).sum() / w.sum()
    return max(0.0, (q - (len(v) - 1)) / denominator) if len(v) > 1 else 0.0


def fit_mh_random(
    effects: EffectSizes, estimable: BoolArray, options: dict[str, Any]
) -> tuple[dict[str, Any], FloatArray]:
    """Fit RevMan's "M-H, Random" model; return the fields and the weights.

    RevMan's "M-H, Random": tau^2 by DerSimonian-Laird from the Mantel-Haenszel Q, then the
    inverse-variance random-effects model with that tau^2; heterogeneity is reported from the
    Mantel-Haenszel Q. Returns the fields and the weights.
    """
    y, v = effects.yi[estimable], effects.vi[estimable]
    tf, extras, _rows = mantel_haenszel_fit(
        effects, estimable, options["convention"], options.get("correct", True)
    )
    q = _q(y, v, float(tf.estimate))
    tau2 = mh_random_tau2(v, q)
    iv = fit_inverse_variance(
        y,
        v,
        "DL",
        level=options["level"],
        prediction=options["prediction"],
        tau2_options={"tau2": tau2},
    )
    fields = {
        "estimate": iv.estimate,
        "se": iv.se,
        "statistic": iv.statistic,
        "pval": iv.pval,
        "ci_low": iv.ci_low,
        "ci_high": iv.ci_high,
        "tau2": tau2,
        **_q_fields(q, len(y)),
        "tau2_ci_low": None,
        "tau2_ci_high": None,
        "I2_ci_low": None,
        "I2_ci_high": None,
        "pi_low": iv.pi_low,
        "pi_high": iv.pi_high,
        "extras": {**extras, "mh_estimate": float(tf.estimate), "mh_se": float(tf.se)},
    }
    return fields, np.asarray(iv.weights)
