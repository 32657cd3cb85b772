"""Mantel-Haenszel (RR, OR, RD) and Peto (OR) fixed-effect pooling of 2x2 tables, from raw counts.

Vectorised: the last axis holds the studies. Variances follow metafor's ``rma.mh`` and
``rma.peto`` (Viechtbauer 2010), which are those of RevMan 5 (Deeks & Higgins 2010).

References
----------
Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
Robins J, Breslow N, Greenland S (1986). Estimators of the Mantel-Haenszel variance consistent in
    both sparse data and large-strata limiting models. Biometrics 42:311-323 (variance of log OR).
Greenland S, Robins JM (1985). Estimation of a common effect parameter from sparse follow-up data.
    Biometrics 41:55-68 (variance of log RR).
Sato T, Greenland S, Robins JM (1989). On the variance estimator for the Mantel-Haenszel risk
    difference. Biometrics 45:1323-1324.
Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and after myocardial
    infarction. Prog Cardiovasc Dis 27:335-371 (Peto's one-step odds ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metafuse._arrays import ArrayLike, FloatArray


@dataclass(frozen=True)
class TableFit:
    """A pooled 2x2-table estimate on the analysis scale, with per-study weights (sum to 1)."""

    estimate: FloatArray
    se: FloatArray
    weights: FloatArray


def _cells(a, n1, c, n2):
    a, n1, c, n2 = (np.asarray(x, dtype=np.float64) for x in (a, n1, c, n2))
    return a, n1 - a, c, n2 - c, n1, n2, n1 + n2


def mantel_haenszel(measure: str, events_exp, n_exp, events_ctrl, n_ctrl) -> TableFit:
    """Mantel-Haenszel pooled log RR, log OR or RD with its standard error.

    The estimate is ``nan`` when it is not defined (e.g. no events in one arm of every study for
    RR/OR). Weights are the Mantel-Haenszel weights, as RevMan shows them.
    """
    a, b, c, d, n1, n2, n = _cells(events_exp, n_exp, events_ctrl, n_ctrl)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            p, q = (a + d) / n, (b + c) / n
            r, s = a * d / n, b * c / n
            big_r, big_s = r.sum(-1), s.sum(-1)
            est = np.log(big_r / big_s)
            var = 0.5 * (
                (p * r).sum(-1) / big_r**2
                + (p * s + q * r).sum(-1) / (big_r * big_s)
                + (q * s).sum(-1) / big_s**2
            )
            w = b * c / n
        elif measure == "RR":
            big_r, big_s = (a * n2 / n).sum(-1), (c * n1 / n).sum(-1)
            est = np.log(big_r / big_s)
            var = (n1 * n2 * (a + c) / n**2 - a * c / n).sum(-1) / (big_r * big_s)
            w = c * n1 / n
        elif measure == "RD":
            den = (n1 * n2 / n).sum(-1)
            est = (a * n2 / n - c * n1 / n).sum(-1) / den
            var = (
                est
                * (c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2).sum(
                    -1
                )
                + (a * (n2 - c) / n + c * (n1 - a) / n).sum(-1) / 2
            ) / den**2
            w = n1 * n2 / n
        else:
            raise ValueError(f"Mantel-Haenszel pools RR, OR or RD, not {measure}")
        weights = w / w.sum(-1, keepdims=True)
    return TableFit(estimate=est, se=np.sqrt(var), weights=weights)


@dataclass(frozen=True)
class PetoFit(TableFit):
    """Peto's pooled log OR with the per-study (O - E) and V that make it up."""

    o_minus_e: FloatArray
    v: FloatArray
    q: FloatArray


def peto(events_exp, n_exp, events_ctrl, n_ctrl) -> PetoFit:
    """Peto's one-step odds ratio: ``sum(O - E) / sum(V)`` with variance ``1 / sum(V)``.

    ``O`` is the observed number of events in the experimental arm, ``E`` its expectation under the
    null and ``V`` the hypergeometric variance. Heterogeneity:
    ``Q = sum (O-E)^2/V - (sum(O-E))^2 / sum V`` (Yusuf et al. 1985).
    """
    a, b, c, d, n1, n2, n = _cells(events_exp, n_exp, events_ctrl, n_ctrl)
    events, non_events = a + c, b + d
    expected = events * n1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        v = events * non_events * (n1 / n) * (n2 / n) / (n - 1)
        oe = a - expected
        sv = v.sum(-1)
        est = oe.sum(-1) / sv
        q = np.where(v > 0, oe**2 / v, 0.0).sum(-1) - oe.sum(-1) ** 2 / sv
    return PetoFit(
        estimate=est,
        se=np.sqrt(1 / sv),
        weights=v / sv[..., None],
        o_minus_e=oe,
        v=v,
        q=np.maximum(q, 0.0),
    )


def mantel_haenszel_rates(
    measure: str,
    events_exp: ArrayLike,
    time_exp: ArrayLike,
    events_ctrl: ArrayLike,
    time_ctrl: ArrayLike,
) -> TableFit:
    """Mantel-Haenszel pooled log incidence rate ratio or rate difference of person-time data.

    IRR: ``log(sum x1 t2 / T) - log(sum x2 t1 / T)``, variance
    ``sum(t1 t2 (x1 + x2) / T^2) / (R S)`` (Greenland & Robins 1985); IRD:
    ``sum (x1 t2 - x2 t1) / T / sum(t1 t2 / T)``, variance
    ``sum((t1 t2 / T)^2 (x1 / t1^2 + x2 / t2^2)) / (sum t1 t2 / T)^2``.
    """
    x1, t1, x2, t2 = (
        np.asarray(x, dtype=np.float64) for x in (events_exp, time_exp, events_ctrl, time_ctrl)
    )
    t = t1 + t2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "IRR":
            big_r, big_s = (x1 * t2 / t).sum(-1), (x2 * t1 / t).sum(-1)
            est = np.log(big_r / big_s)
            var = (t1 * t2 * (x1 + x2) / t**2).sum(-1) / (big_r * big_s)
            w = x2 * t1 / t
        elif measure == "IRD":
            w = t1 * t2 / t
            est = ((x1 * t2 - x2 * t1) / t).sum(-1) / w.sum(-1)
            var = (w**2 * (x1 / t1**2 + x2 / t2**2)).sum(-1) / w.sum(-1) ** 2
        else:
            raise ValueError(f"Mantel-Haenszel for rates pools IRR or IRD, not {measure}")
        weights = w / w.sum(-1, keepdims=True)
    return TableFit(estimate=est, se=np.sqrt(var), weights=weights)


def _association(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike
) -> tuple[float, FloatArray, FloatArray]:
    """``sum (a - E a)`` under no association, and per table ``n1 n2 m1 m2 / n^2`` and ``n``."""
    a, _b, c, _d, n1, n2, n = _cells(events_exp, n_exp, events_ctrl, n_ctrl)
    m1 = a + c
    return float((a - n1 * m1 / n).sum()), n1 * n2 * m1 * (n - m1) / n**2, n


def cochran_mantel_haenszel(
    events_exp: ArrayLike,
    n_exp: ArrayLike,
    events_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    *,
    correct: bool = True,
) -> tuple[float, float]:
    """Return the Cochran-Mantel-Haenszel test of no association across 2x2 tables.

    ``(statistic, P)``, ``(|sum (a - E a)| - 0.5)^2 / sum Var a`` with the hypergeometric
    variance ``n1 n2 m1 m2 / (n^2 (n - 1))`` (Mantel & Haenszel 1959), chi^2 with 1 df;
    ``correct=False`` drops the 0.5 (metafor's ``rma.mh(correct = FALSE)``).
    """
    difference, spread, n = _association(events_exp, n_exp, events_ctrl, n_ctrl)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.where(n > 1, spread / (n - 1), 0.0)
    return _one_df_test(difference, float(variance.sum()), correct)


def cochran(
    events_exp: ArrayLike,
    n_exp: ArrayLike,
    events_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    *,
    correct: bool = True,
) -> tuple[float, float]:
    """Cochran's test of no association across 2x2 tables.

    Cochran's test of no association across 2x2 tables: ``(statistic, P)``, as the Cochran-Mantel-
    Haenszel test but with the binomial variance ``n1 n2 m1 m2 / n^3`` of each table (Cochran 1954,
    Biometrics 10:417-451; metafor's ``CO`` in ``rma.mh``).
    """
    difference, spread, n = _association(events_exp, n_exp, events_ctrl, n_ctrl)
    return _one_df_test(difference, float((spread / n).sum()), correct)


def tarone(
    events_exp: ArrayLike,
    n_exp: ArrayLike,
    events_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    odds_ratio: float,
) -> tuple[float, float]:
    """Tarone's test for heterogeneity of odds ratios (Breslow-Day with Tarone's correction).

    ``(statistic, P)``, chi^2 with k - 1 df, at the common (Mantel-Haenszel) ``odds_ratio``.

    Tarone RE (1985). On heterogeneity tests based on efficient scores. Biometrika 72:91-95.
    """
    from scipy import special

    a, _b, c, _d, n1, n2, _n = _cells(events_exp, n_exp, events_ctrl, n_ctrl)
    m1 = a + c
    psi = odds_ratio
    qa, qb, qc = psi - 1, -(psi * (n1 + m1) + n2 - m1), psi * n1 * m1
    with np.errstate(divide="ignore", invalid="ignore"):
        if abs(qa) < 1e-15:
            fitted = -qc / qb
        else:
            root = np.sqrt(qb * qb - 4 * qa * qc)
            low, high = (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)
            inside = (low >= np.maximum(0, m1 - n2)) & (low <= np.minimum(n1, m1))
            fitted = np.where(inside, low, high)
        var = 1 / (1 / fitted + 1 / (n1 - fitted) + 1 / (m1 - fitted) + 1 / (n2 - m1 + fitted))
    use = np.isfinite(var) & (var > 0)
    bd = float(((a - fitted) ** 2 / var)[use].sum())
    stat = bd - float((a - fitted)[use].sum()) ** 2 / float(var[use].sum())
    df = int(use.sum()) - 1
    return stat, float(special.chdtrc(df, stat)) if df > 0 else float("nan")


def cochran_mantel_haenszel_rates(
    events_exp: ArrayLike,
    time_exp: ArrayLike,
    events_ctrl: ArrayLike,
    time_ctrl: ArrayLike,
    *,
    correct: bool = True,
) -> tuple[float, float]:
    """Mantel-Haenszel test of rate ratio 1 for person-time data.

    ``(statistic, P)``; given ``m = x1 + x2``, ``x1`` is binomial with ``p = t1 / (t1 + t2)`` under
    the null, so ``(|sum (x1 - m t1/T)| - 0.5)^2 / sum m t1 t2 / T^2`` is chi^2 with 1 df (Rothman,
    Greenland & Lash 2008, chapter 15).
    """
    x1, t1, x2, t2 = (
        np.asarray(x, dtype=np.float64) for x in (events_exp, time_exp, events_ctrl, time_ctrl)
    )
    t, m = t1 + t2, x1 + x2
    variance = float((m * t1 * t2 / t**2).sum())
    return _one_df_test(float((x1 - m * t1 / t).sum()), variance, correct)


def _one_df_test(difference: float, variance: float, correct: bool) -> tuple[float, float]:
    """Return a continuity-corrected chi^2 test with 1 df and its P value.

    ``((|observed - expected| - 0.5)^2 / variance, P)`` on chi^2 with 1 df (the 0.5 only with
    ``correct``); nan without variance.
    """
    from scipy import special

    diff = abs(difference) - (0.5 if correct else 0.0)
    stat = max(diff, 0.0) ** 2 / variance if variance > 0 else float("nan")
    return stat, float(special.chdtrc(1, stat))
