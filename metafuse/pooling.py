"""Pooling: fixed effect (inverse variance), Mantel-Haenszel, Peto and random-effects models.

:func:`pool` is the public entry point (DataFrame in, :class:`~metafuse.results.PooledResult`
out). :func:`fit_inverse_variance` is its array core, vectorised over leading batch axes so that
many meta-analyses with the same number of studies are fitted at once.

References
----------
DerSimonian R, Laird N (1986). Control Clin Trials 7:177-188.
Hartung J, Knapp G (2001). Stat Med 20:3875-3889; Sidik K, Jonkman JN (2002). Stat Med
    21:3153-3159 (the HKSJ adjustment: t with k-1 df and a rescaled standard error).
Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects meta-analysis.
    J R Stat Soc A 172:137-159 (prediction interval with t(k-2)).
Viechtbauer W (2007). Stat Med 26:37-52 (Q-profile CI for tau^2).
Viechtbauer W (2010). J Stat Softw 36(3) (metafor, whose results these reproduce).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from metafuse import effects
from metafuse._version import __version__
from metafuse.exceptions import DataError, ExcludedStudyWarning
from metafuse.heterogeneity import (
    cochran_q,
    h2_from_tau2,
    i2_from_q,
    i2_from_tau2,
    typical_variance,
)
from metafuse.inputs import StudyTable, prepare_studies
from metafuse.mantel_haenszel import mantel_haenszel, peto
from metafuse.measures import (
    BINARY_MEASURES,
    LEVEL,
    RANDOM_METHODS,
    TABLE_METHODS,
    normalise_measure,
    normalise_method,
)
from metafuse.results import PooledResult, StudyEstimate
from metafuse.tau2 import ESTIMATORS, q_profile_ci

FloatArray = npt.NDArray[np.float64]

#: HKSJ: when the weighted residual sum of squares is at or below this, the scale factor is set to
#: 0 (metafor's rule, .Machine$double.eps).
HKSJ_RSS_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class InverseVarianceFit:
    """Arrays (batch shape, or batch shape + k for ``weights``) of an inverse-variance model."""

    estimate: FloatArray
    se: FloatArray
    statistic: FloatArray
    pval: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    df: int | None
    tau2: FloatArray
    weights: FloatArray
    Q: FloatArray
    Q_pval: FloatArray
    I2: FloatArray
    I2_Q: FloatArray
    H2: FloatArray
    tau2_ci_low: FloatArray | None
    tau2_ci_high: FloatArray | None
    I2_ci_low: FloatArray | None
    I2_ci_high: FloatArray | None
    pi_low: FloatArray | None
    pi_high: FloatArray | None


def _pvalue_and_ci(est, se, df, level):
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if df is None:
        crit = stats.norm.ppf(0.5 + level / 2)
        pval = 2 * stats.norm.sf(np.abs(stat))
    else:
        crit = stats.t.ppf(0.5 + level / 2, df)
        pval = 2 * stats.t.sf(np.abs(stat), df)
    return stat, pval, est - crit * se, est + crit * se


def fit_inverse_variance(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    hksj: bool = False,
    level: float = LEVEL,
) -> InverseVarianceFit:
    """Fixed-effect (``FE``) or random-effects fit of effect sizes ``yi`` with variances ``vi``.

    The last axis holds the k studies. For random-effects models tau^2 comes from
    :data:`metafuse.tau2.ESTIMATORS`; the Q-profile CI for tau^2 and I^2 and the prediction
    interval ``estimate +/- t(k-2) sqrt(tau^2 + se^2)`` (k >= 3) are added. With ``hksj`` the
    standard error is multiplied by ``sqrt(sum w (y - mu)^2 / (k - 1))`` and t(k-1) is used
    (metafor's ``test="knha"``).
    """
    yi = np.asarray(yi, dtype=np.float64)
    vi = np.asarray(vi, dtype=np.float64)
    k = yi.shape[-1]
    random = method in RANDOM_METHODS
    batch = yi.shape[:-1]
    if random and k >= 2:
        tau2 = np.asarray(ESTIMATORS[method](yi, vi), dtype=np.float64)
    else:
        tau2 = np.zeros(batch)
    w = 1.0 / (vi + tau2[..., None])
    sw = w.sum(axis=-1)
    est = (w * yi).sum(axis=-1) / sw
    se = np.sqrt(1.0 / sw)
    df: int | None = None
    if hksj:
        if k < 2:
            pass  # one study: no residual df, so the z-based interval is kept (as metafor does)
        else:
            rss = (w * (yi - est[..., None]) ** 2).sum(axis=-1)
            s2w = np.where(rss <= HKSJ_RSS_EPS, 0.0, rss / (k - 1))
            se = se * np.sqrt(s2w)
            df = k - 1
    stat, pval, lo, hi = _pvalue_and_ci(est, se, df, level)

    if k >= 2:
        q = cochran_q(yi, vi)
        q_pval = stats.chi2.sf(q, k - 1)
        i2_q = i2_from_q(q, k - 1)
        if random:
            s2 = typical_variance(vi)
            i2 = i2_from_tau2(tau2, s2)
            h2 = h2_from_tau2(tau2, s2)
        else:
            i2 = i2_q
            with np.errstate(divide="ignore", invalid="ignore"):
                h2 = q / (k - 1)
    else:
        q = np.zeros(batch)
        q_pval = i2 = i2_q = h2 = np.full(batch, np.nan)

    t2_lo = t2_hi = i2_lo = i2_hi = pi_lo = pi_hi = None
    if random and k >= 2:
        t2_lo, t2_hi = q_profile_ci(yi, vi, level)
        i2_lo, i2_hi = i2_from_tau2(t2_lo, s2), i2_from_tau2(t2_hi, s2)
    if random and k >= 3:
        half = stats.t.ppf(0.5 + level / 2, k - 2) * np.sqrt(tau2 + se**2)
        pi_lo, pi_hi = est - half, est + half
    return InverseVarianceFit(
        estimate=est, se=se, statistic=stat, pval=pval, ci_low=lo, ci_high=hi, df=df,
        tau2=tau2, weights=w / sw[..., None], Q=q, Q_pval=q_pval, I2=i2, I2_Q=i2_q, H2=h2,
        tau2_ci_low=t2_lo, tau2_ci_high=t2_hi, I2_ci_low=i2_lo, I2_ci_high=i2_hi,
        pi_low=pi_lo, pi_high=pi_hi,
    )  # fmt: skip


def study_effects(
    table: StudyTable,
    *,
    add: float = effects.DEFAULT_ADD,
    to: effects.CorrectWhen = effects.DEFAULT_TO,
    drop00: bool | None = None,
    ratio: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Per-study ``(yi, vi)`` on the analysis scale for a validated table (nan = not estimable)."""
    m, v = table.measure, table.column
    if m in BINARY_MEASURES:
        return effects.two_by_two(
            m, v("events_exp"), v("n_exp"), v("events_ctrl"), v("n_ctrl"),
            add=add, to=to, drop00=drop00,
        )  # fmt: skip
    if m == "PLO":
        return effects.proportion_logit(v("events"), v("n"), add=add, to=to)
    if m == "PFT":
        return effects.proportion_freeman_tukey(v("events"), v("n"))
    if m in ("MD", "SMD"):
        fn = effects.mean_difference if m == "MD" else effects.standardized_mean_difference
        return fn(v("mean_exp"), v("sd_exp"), v("n_exp"), v("mean_ctrl"), v("sd_ctrl"), v("n_ctrl"))
    # generic: yi/sei where given, otherwise estimate with its CI
    n = len(table.study)
    yi, sei = np.full(n, np.nan), np.full(n, np.nan)
    if "yi" in table.values:
        yi, sei = v("yi").copy(), v("sei").copy()
    if "estimate" in table.values:
        y2, s2 = effects.from_confidence_interval(
            v("estimate"), v("ci_low"), v("ci_high"), ratio=ratio
        )
        use = np.isnan(yi) | np.isnan(sei)
        yi, sei = np.where(use, y2, yi), np.where(use, s2, sei)
    return yi, sei**2


def _opt(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if not np.isfinite(x) else x


def pool(
    data: pd.DataFrame,
    measure: str,
    method: str = "REML",
    hksj: bool = False,
    *,
    add: float = effects.DEFAULT_ADD,
    to: effects.CorrectWhen = effects.DEFAULT_TO,
    drop00: bool | None = None,
    ratio: bool = False,
) -> PooledResult:
    """Pool the studies in ``data`` and return an immutable :class:`PooledResult`.

    Parameters
    ----------
    data
        One row per study, with a ``study`` column and either ``events_exp, n_exp, events_ctrl,
        n_ctrl`` (RR, OR, RD), ``mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl`` (MD, SMD),
        or, for ``GEN``, ``yi, sei`` and/or ``estimate, ci_low, ci_high``; for single-arm
        proportions (``PLO``, ``PFT``) ``events, n``.
    measure
        ``RR``, ``OR``, ``RD``, ``MD``, ``SMD``, ``GEN``, ``PLO`` (logit proportion) or ``PFT``
        (Freeman-Tukey double arcsine); see :meth:`PooledResult.back_transformed`.
    method
        ``FE`` (alias ``EE``), ``MH``, ``PETO`` or a random-effects tau^2 estimator: ``DL``,
        ``REML``, ``ML``, ``PM``, ``HE``, ``SJ``, ``EB``, ``HS``.
    hksj
        Hartung-Knapp-Sidik-Jonkman adjustment (inverse-variance models only).
    add, to, drop00
        Zero-cell rule for inverse-variance effect sizes of 2x2 tables: add ``add`` to every cell
        of tables with a zero cell (``to="only0"``; or ``"all"``, ``"if0all"``, ``"none"``); drop
        double-zero studies (default: for RR and OR, not for RD). MH and Peto pool raw counts.
    ratio
        For ``GEN`` rows given as estimate and CI: the values are ratios (log-transformed).

    Raises
    ------
    DataError
        Invalid data (the message names row and column).
    ValueError
        An unknown measure or method, or an option that does not apply.
    """
    measure = normalise_measure(measure)
    method = normalise_method(method, measure)
    if hksj and method in TABLE_METHODS:
        raise ValueError(f"the HKSJ adjustment applies to inverse-variance models, not {method}")
    if drop00 is None:
        drop00 = measure in ("RR", "OR")
    table = prepare_studies(data, measure, ratio=ratio)
    if not table.study:
        raise DataError("no study has data to pool")
    yi, vi = study_effects(table, add=add, to=to, drop00=drop00, ratio=ratio)
    estimable = np.isfinite(yi) & np.isfinite(vi)
    excluded = list(table.excluded)
    for name, ok in zip(table.study, estimable, strict=True):
        if not ok:
            reason = "no events in either arm, or only events, in both arms (not estimable)"
            excluded.append((name, reason))
            warnings.warn(
                f"study {name!r}: {reason}; excluded from {measure}",
                ExcludedStudyWarning,
                stacklevel=2,
            )
    if not estimable.any():
        raise DataError(f"no study is estimable for {measure}")
    if measure in BINARY_MEASURES and np.any(vi[estimable] <= 0):
        bad = table.study[int(np.flatnonzero(estimable & (vi <= 0))[0])]
        raise DataError(f"study {bad!r} has zero variance; use a continuity correction (to=...)")
    y, v = yi[estimable], vi[estimable]
    options = MappingProxyType(
        {"add": add, "to": to, "drop00": drop00, "ratio": ratio, "level": LEVEL}
    )

    if method in TABLE_METHODS:
        fit = _fit_tables(table, estimable, measure, method, y, v)
        weights, df = fit.pop("weights"), None
    else:
        fit, weights, df = _fit_iv(y, v, method, hksj)
    data_rows = [{c: float(arr[i]) for c, arr in table.values.items()} for i in range(len(yi))]
    return _assemble(measure, method, hksj, table.study, yi, vi, estimable, weights, fit, df,
                     data_rows, tuple(excluded), options)  # fmt: skip


IV_FIELDS = ("estimate", "se", "statistic", "pval", "ci_low", "ci_high", "tau2", "Q", "Q_pval",
             "I2", "I2_Q", "H2", "tau2_ci_low", "tau2_ci_high", "I2_ci_low", "I2_ci_high",
             "pi_low", "pi_high")  # fmt: skip


def _fit_iv(y: FloatArray, v: FloatArray, method: str, hksj: bool):
    iv = fit_inverse_variance(y, v, method, hksj)
    return {name: getattr(iv, name) for name in IV_FIELDS}, iv.weights, iv.df


def _assemble(
    measure: str, method: str, hksj: bool, labels, yi, vi, estimable, weights, fit, df,
    data_rows, excluded, options,
) -> PooledResult:  # fmt: skip
    full_w = np.zeros(len(labels))
    full_w[estimable] = 100.0 * np.asarray(weights)
    studies = tuple(
        StudyEstimate(
            study=name,
            yi=_opt(yi[i]) if estimable[i] else None,
            sei=_opt(np.sqrt(vi[i])) if estimable[i] else None,
            weight_percent=float(full_w[i]),
            data=MappingProxyType(data_rows[i]),
            note=None if estimable[i] else "not estimable",
        )
        for i, name in enumerate(labels)
    )
    k = int(np.sum(estimable))
    return PooledResult(
        measure=measure, method=method, hksj=bool(hksj), k=k, Q_df=k - 1, studies=studies,
        df=df, excluded=excluded, options=options, version=__version__,
        **{name: _opt(value) for name, value in fit.items() if name != "statistic"},
        statistic=_opt(fit["statistic"]),
    )  # fmt: skip


def pool_effects(
    study: list[str] | tuple[str, ...],
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    measure: str,
    method: str = "REML",
    hksj: bool = False,
    data_rows: list[dict[str, float]] | None = None,
) -> PooledResult:
    """Inverse-variance pooling of given effect sizes (analysis scale), keeping ``measure``.

    Used by the sensitivity tools (leave-one-out, cumulative, trim-and-fill), which re-fit a
    model on a subset or an augmented set of the same effect sizes.
    """
    method = normalise_method(method, "GEN")
    if method in TABLE_METHODS:
        raise ValueError(f"{method} needs 2x2 counts; use pool()")
    y, v = np.asarray(yi, dtype=np.float64), np.asarray(vi, dtype=np.float64)
    fit, weights, df = _fit_iv(y, v, method, hksj)
    rows = data_rows if data_rows is not None else [{"yi": float(a), "sei": float(np.sqrt(b))}
                                                    for a, b in zip(y, v, strict=True)]  # fmt: skip
    options = MappingProxyType({"level": LEVEL})
    return _assemble(measure, method, hksj, tuple(study), y, v, np.ones(len(y), dtype=bool),
                     weights, fit, df, rows, (), options)  # fmt: skip


def _fit_tables(
    table: StudyTable, estimable, measure: str, method: str, y: FloatArray, v: FloatArray
) -> dict[str, Any]:
    """Mantel-Haenszel or Peto fit on the raw counts of the estimable studies.

    Q uses the per-study inverse-variance effect sizes (with the zero-cell correction) around the
    pooled estimate, as metafor's ``rma.mh`` does; for Peto it is Peto's own Q.
    """
    counts = [table.column(c)[estimable] for c in ("events_exp", "n_exp", "events_ctrl", "n_ctrl")]
    k = len(y)
    if method == "MH":
        tf = mantel_haenszel(measure, *counts)
        q = float(np.maximum(0.0, ((y - tf.estimate) ** 2 / v).sum())) if k > 1 else 0.0
    else:
        tf = peto(*counts)
        q = float(tf.q) if k > 1 else 0.0
    est, se = float(tf.estimate), float(tf.se)
    if not (np.isfinite(est) and np.isfinite(se)):
        raise DataError(
            f"the {method} {measure} is not estimable from these counts "
            "(no events, or no non-events, in one arm of every study)"
        )
    stat, pval, lo, hi = _pvalue_and_ci(est, se, None, LEVEL)
    i2_q = float(i2_from_q(q, k - 1)) if k > 1 else None
    return {
        "estimate": est, "se": se, "statistic": stat, "pval": pval, "ci_low": lo, "ci_high": hi,
        "tau2": 0.0, "Q": q, "Q_pval": float(stats.chi2.sf(q, k - 1)) if k > 1 else None,
        "I2": i2_q, "I2_Q": i2_q, "H2": q / (k - 1) if k > 1 else None,
        "tau2_ci_low": None, "tau2_ci_high": None, "I2_ci_low": None, "I2_ci_high": None,
        "pi_low": None, "pi_high": None, "weights": tf.weights,
    }  # fmt: skip
