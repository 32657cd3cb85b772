"""Meta-regression (mixed-effects models) and subgroup analysis.

The mixed-effects model ``y = X b + u + e``, ``u ~ N(0, tau^2)``, ``e ~ N(0, v)`` is fitted as
metafor's ``rma.uni(yi, vi, mods=...)`` does (Viechtbauer 2010), with the same tau^2 estimators
generalised to moderators and the same safeguarded solvers as the intercept-only model
(:mod:`metafuse.tau2`).

References
----------
Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and interpreted?
    Stat Med 21:1559-1573.
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. Stat Med 22:2693-2710.
Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In: The Handbook of Research
    Synthesis and Meta-Analysis, 2nd ed., chapter 16 (pseudo-R^2 as the proportional reduction
    in tau^2).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from metafuse import tau2 as t2
from metafuse.exceptions import DataError, ExcludedStudyWarning
from metafuse.inputs import prepare_studies
from metafuse.measures import (
    FIXED_METHODS,
    RANDOM_METHODS,
    TABLE_METHODS,
    normalise_measure,
    normalise_method,
)
from metafuse.pooling import pool, study_effects


@dataclass(frozen=True)
class MixedFit:
    """A fitted (mixed-effects) meta-regression on the analysis scale."""

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: int | None
    tau2: float
    QE: float
    QE_pval: float
    QM: float
    QM_df: tuple[int, int | None]
    QM_pval: float
    k: int


def _proj(y, v, X, t):
    w = 1 / (v + t)
    XtW = X.T * w
    inv = np.linalg.inv(XtW @ X)
    P = np.diag(w) - XtW.T @ inv @ XtW
    return w, inv, P


def tau2_mixed(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str) -> float:
    """tau^2 of a mixed-effects model with design matrix ``X`` (metafor's definitions)."""
    k, p = X.shape
    if method in FIXED_METHODS:
        return 0.0
    if method == "DL":
        _, _, P = _proj(y, v, X, 0.0)
        return max(0.0, (y @ P @ y - (k - p)) / np.trace(P))
    if method == "HE":
        Pu = np.eye(k) - X @ np.linalg.inv(X.T @ X) @ X.T
        return max(0.0, (y @ Pu @ y - np.trace(Pu * v)) / (k - p))
    if method == "HS":
        w, _, P = _proj(y, v, X, 0.0)
        return max(0.0, (y @ P @ y - k) / w.sum())
    if method == "SJ":
        t0 = np.var(y, ddof=1) * (k - 1) / k
        _, _, P = _proj(y, v, X, t0)
        return max(0.0, t0 * (y @ P @ y) / (k - p))

    def score(t_arr: np.ndarray):
        t = float(t_arr)
        w, _, P = _proj(y, v, X, t)
        Py = P @ y
        if method in ("PM", "EB"):
            return np.array(y @ Py - (k - p)), np.array(Py @ Py)
        if method == "REML":
            return np.array(Py @ Py - np.trace(P)), np.array(np.sum(P * P))
        return np.array(Py @ Py - w.sum()), np.array(np.sum(w**2))

    if method in ("PM", "EB"):
        root, _ = t2._bracket_root(score, np.array(True), np.array(tau2_mixed(y, v, X, "DL")))
        return float(root)
    start = np.array(tau2_mixed(y, v, X, "HE"))
    t, done = t2._fisher_scoring(score, start)
    if not bool(done):
        t, _ = t2._bracket_root(score, np.array(True), start)
    t = float(t)

    def loglik(tt: float) -> float:
        _, inv, P = _proj(y, v, X, tt)
        ll = -0.5 * np.log(v + tt).sum() - 0.5 * y @ P @ y
        return ll + 0.5 * np.linalg.slogdet(inv)[1] if method == "REML" else ll

    ll_hat, ll_zero = loglik(t), loglik(0.0)
    return 0.0 if ll_zero >= ll_hat - t2.LL_TIE * max(1.0, abs(ll_hat)) else t


def fit_mixed(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    method: str = "REML",
    knha: bool = False,
    names: Sequence[str] | None = None,
    level: float = 0.95,
) -> MixedFit:
    """Fit ``y ~ X`` with sampling variances ``v`` (first column of ``X`` the intercept)."""
    y, v, X = np.asarray(y, float), np.asarray(v, float), np.asarray(X, float)
    k, p = X.shape
    if k <= p:
        raise ValueError(f"{k} studies cannot estimate {p} coefficients")
    tau2 = tau2_mixed(y, v, X, method)
    w, inv, _ = _proj(y, v, X, tau2)
    coef = inv @ (X.T * w) @ y
    vb = inv.copy()
    df = None
    if knha:
        rss = float(np.sum(w * (y - X @ coef) ** 2))
        vb = vb * (0.0 if rss <= np.finfo(float).eps else rss / (k - p))
        df = k - p
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = coef / se
    if df is None:
        crit, pval = stats.norm.ppf(0.5 + level / 2), 2 * stats.norm.sf(np.abs(stat))
    else:
        crit, pval = stats.t.ppf(0.5 + level / 2, df), 2 * stats.t.sf(np.abs(stat), df)
    _, _, P0 = _proj(y, v, X, 0.0)
    qe = max(0.0, float(y @ P0 @ y))
    m = p - 1
    b, V = coef[1:], vb[1:, 1:]
    qm = float(b @ np.linalg.solve(V, b)) if m > 0 else float("nan")
    if df is None:
        qm_df: tuple[int, int | None] = (m, None)
        qm_p = float(stats.chi2.sf(qm, m)) if m > 0 else float("nan")
    else:
        qm = qm / m if m > 0 else qm
        qm_df = (m, df)
        qm_p = float(stats.f.sf(qm, m, df)) if m > 0 else float("nan")
    return MixedFit(
        names=tuple(names) if names is not None else tuple(f"x{j}" for j in range(p)),
        coef=coef,
        se=se,
        statistic=stat,
        pval=pval,
        ci_low=coef - crit * se,
        ci_high=coef + crit * se,
        df=df,
        tau2=tau2,
        QE=qe,
        QE_pval=float(stats.chi2.sf(qe, k - p)),
        QM=qm,
        QM_df=qm_df,
        QM_pval=qm_p,
        k=k,
    )


def _effects_with(
    data: pd.DataFrame, measure: str, columns: Sequence[str], **options: Any
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Effect sizes of the estimable studies with the named extra columns of their rows."""
    measure = normalise_measure(measure)
    frame = data.reset_index(drop=True)
    for col in columns:
        if col not in frame.columns:
            raise DataError(f"no column {col!r} in the data", column=col)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedStudyWarning)
        table = prepare_studies(frame, measure, ratio=options.get("ratio", False))
    drop00 = options.get("drop00")
    if drop00 is None:
        drop00 = measure in ("RR", "OR")
    yi, vi = study_effects(
        table,
        add=options.get("add", 0.5),
        to=options.get("to", "only0"),
        drop00=drop00,
        ratio=options.get("ratio", False),
    )
    ok = np.isfinite(yi) & np.isfinite(vi)
    rows = frame.iloc[[r for r, good in zip(table.rows, ok, strict=True) if good]]
    for col in columns:
        if rows[col].isna().any():
            bad = int(rows.index[rows[col].isna()][0])
            raise DataError("missing moderator value", row=bad, column=col)
    return yi[ok], vi[ok], rows.reset_index(drop=True)


def _design(rows: pd.DataFrame, moderators: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    columns, names = [np.ones(len(rows))], ["intercept"]
    for mod in moderators:
        values = pd.to_numeric(rows[mod], errors="coerce")
        if values.notna().all():
            columns.append(values.to_numpy(float))
            names.append(mod)
        else:  # categorical: dummies against the first level in sorted order (R's default)
            levels = sorted(rows[mod].astype(str).unique())
            for level in levels[1:]:
                columns.append((rows[mod].astype(str) == level).to_numpy(float))
                names.append(f"{mod}{level}")
    return np.column_stack(columns), names


def meta_regression(
    data: pd.DataFrame,
    measure: str,
    method: str = "REML",
    moderators: Sequence[str] = (),
    knha: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Mixed-effects meta-regression (metafor's ``rma(yi, vi, mods = ~ ...)``).

    Returns ``coef`` and ``se`` (intercept first, as lists), ``names``, ``tau2`` (residual),
    ``QM`` and ``QM_pval`` (omnibus test of the moderators; F with Knapp-Hartung), ``R2`` (percent:
    proportional reduction of tau^2 against the intercept-only model, metafor's default; for
    fixed-effect models the adjusted R^2 of the weighted regression), plus ``QE``, ``QE_pval``,
    ``pval``, ``ci_low``, ``ci_high`` and ``k``. Text moderators are dummy-coded against their first
    level in sorted order.
    """
    method = normalise_method(method, "GEN")
    if method in TABLE_METHODS:
        raise ValueError("meta-regression uses inverse-variance models, not MH or PETO")
    if not moderators:
        raise ValueError("give at least one moderator column")
    y, v, rows = _effects_with(data, measure, moderators, **options)
    X, names = _design(rows, moderators)
    fit = fit_mixed(y, v, X, method, knha, names)
    if method in RANDOM_METHODS:
        tau2_0 = tau2_mixed(y, v, np.ones((len(y), 1)), method)
        r2 = 0.0 if tau2_0 == 0 else max(0.0, 100 * (tau2_0 - fit.tau2) / tau2_0)
    else:
        r2 = _weighted_adjusted_r2(y, v, X)
    return {
        "names": list(names),
        "coef": fit.coef.tolist(),
        "se": fit.se.tolist(),
        "pval": fit.pval.tolist(),
        "ci_low": fit.ci_low.tolist(),
        "ci_high": fit.ci_high.tolist(),
        "tau2": fit.tau2,
        "QM": fit.QM,
        "QM_pval": fit.QM_pval,
        "QM_df": list(fit.QM_df),
        "QE": fit.QE,
        "QE_pval": fit.QE_pval,
        "R2": r2,
        "k": fit.k,
        "knha": knha,
    }


def _weighted_adjusted_r2(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    import statsmodels.api as sm

    if np.var(y) == 0:
        return 0.0
    return max(0.0, 100 * float(sm.WLS(y, X, weights=1 / v).fit().rsquared_adj))


def subgroup(
    data: pd.DataFrame, measure: str, method: str = "REML", by: str = "subgroup", **options: Any
) -> dict[str, Any]:
    """Subgroup analysis and the test for subgroup differences.

    Returns ``groups`` (sorted), ``group_estimate``, ``group_se``, ``group_tau2`` (each subgroup
    pooled separately with ``method``, tau^2 estimated within it), ``Q_between``, ``Q_between_df``,
    ``Q_between_pval`` (inverse-variance test on the subgroup estimates, as RevMan computes it),
    and ``QM_common_tau2``, ``QM_common_tau2_pval`` (mixed-effects model with the subgroup as a
    categorical moderator and one common tau^2, as metafor's ``rma(yi, vi, mods = ~ factor(by))``).
    """
    measure = normalise_measure(measure)
    method = normalise_method(method, measure)
    if by not in data.columns:
        raise DataError(f"no column {by!r} in the data", column=by)
    y, v, rows = _effects_with(data, measure, [by], **options)
    groups = sorted(rows[by].astype(str).unique())
    if len(groups) < 2:
        raise ValueError(f"column {by!r} has fewer than two subgroups")
    labels = data[by].astype(str)
    est, se, tau2 = [], [], []
    for g in groups:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExcludedStudyWarning)
            fit = pool(data[labels == g], measure, method, **options)
        est.append(fit.estimate)
        se.append(fit.se)
        tau2.append(fit.tau2)
    w = 1 / np.square(se)
    mean = float(np.sum(w * np.array(est)) / w.sum())
    q_between = float(np.sum(w * (np.array(est) - mean) ** 2))
    iv_method = "FE" if method in TABLE_METHODS else method
    X, _ = _design(rows.assign(**{by: rows[by].astype(str)}), [by])
    common = fit_mixed(y, v, X, iv_method)
    return {
        "groups": groups,
        "group_estimate": est,
        "group_se": se,
        "group_tau2": tau2,
        "Q_between": q_between,
        "Q_between_df": len(groups) - 1,
        "Q_between_pval": float(stats.chi2.sf(q_between, len(groups) - 1)),
        "QM_common_tau2": common.QM,
        "QM_common_tau2_pval": common.QM_pval,
    }


def bubble_plot(
    data: pd.DataFrame, measure: str, moderator: str, method: str = "REML", **options: Any
):
    """Bubble plot: effect sizes against one numeric moderator, bubbles sized by weight, with the
    fitted meta-regression line (analysis scale)."""
    from plotnine import (
        aes,
        element_text,
        geom_abline,
        geom_point,
        ggplot,
        labs,
        scale_size_area,
        theme,
        theme_bw,
    )

    y, v, rows = _effects_with(data, measure, [moderator], **options)
    x = pd.to_numeric(rows[moderator], errors="coerce")
    if x.isna().any():
        raise DataError(
            f"moderator {moderator!r} must be numeric for a bubble plot", column=moderator
        )
    fit = fit_mixed(y, v, np.column_stack([np.ones(len(y)), x]), normalise_method(method, "GEN"))
    points = pd.DataFrame({"x": x, "y": y, "weight": 1 / (v + fit.tau2)})
    return (
        ggplot(points, aes("x", "y"))
        + geom_point(aes(size="weight"), fill="#9ecae1", colour="black", alpha=0.8)
        + geom_abline(intercept=fit.coef[0], slope=fit.coef[1], size=0.6)
        + scale_size_area(max_size=9, guide=None)
        + labs(x=moderator, y=f"{measure} (analysis scale)")
        + theme_bw()
        + theme(text=element_text(family="DejaVu Sans", size=8), figure_size=(5.5, 4.5))
    )
