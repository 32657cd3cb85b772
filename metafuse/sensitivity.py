"""Sensitivity analyses: leave-one-out, cumulative meta-analysis, influence diagnostics, Baujat.

All take the same ``data, measure, method`` as :func:`metafuse.pool` and reproduce metafor's
``leave1out``, ``cumul``, ``influence`` and ``baujat`` (Viechtbauer 2010).

References
----------
Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis. Res Synth
    Methods 1:112-125 (studentised deleted residuals, DFFITS, Cook's distance, COVRATIO).
Baujat B, Mahé C, Pignon J-P, Hill C (2002). A graphical method for exploring heterogeneity in
    meta-analyses. Stat Med 21:2641-2652.
Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic trials
    for myocardial infarction. N Engl J Med 327:248-254.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from metafuse.exceptions import ExcludedStudyWarning
from metafuse.heterogeneity import cochran_q
from metafuse.measures import RANDOM_METHODS, TABLE_METHODS, normalise_method
from metafuse.pooling import pool
from metafuse.results import PooledResult
from metafuse.tau2 import ESTIMATORS

if TYPE_CHECKING:
    from plotnine import ggplot


def _quiet_pool(data: pd.DataFrame, measure: str, method: str, hksj: bool, **options: Any):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedStudyWarning)
        return pool(data, measure, method, hksj, **options)


def _estimable_rows(data: pd.DataFrame, result: PooledResult) -> list[tuple[str, pd.DataFrame]]:
    """(study, data row) for every study that enters the model, in data order."""
    frame = data.reset_index(drop=True)
    labels = frame["study"].astype(str).str.strip()
    return [(s.study, frame[labels == s.study]) for s in result.studies if s.yi is not None]


def leave_one_out(
    data: pd.DataFrame, measure: str, method: str = "REML", hksj: bool = False, **options: Any
) -> pd.DataFrame:
    """Refit the model without each study in turn (metafor's ``leave1out``).

    Returns one row per omitted study, in data order: ``study, estimate, se, ci_low, ci_high,
    tau2, I2, Q`` (analysis scale).
    """
    full = _quiet_pool(data, measure, method, hksj, **options)
    rows = []
    labels = data["study"].astype(str).str.strip()
    for study, _ in _estimable_rows(data, full):
        fit = _quiet_pool(data[labels != study], measure, method, hksj, **options)
        rows.append(
            {
                "study": study,
                "estimate": fit.estimate,
                "se": fit.se,
                "ci_low": fit.ci_low,
                "ci_high": fit.ci_high,
                "tau2": fit.tau2,
                "I2": fit.I2,
                "Q": fit.Q,
            }
        )
    return pd.DataFrame(
        rows, columns=["study", "estimate", "se", "ci_low", "ci_high", "tau2", "I2", "Q"]
    )


def cumulative(
    data: pd.DataFrame, measure: str, method: str = "REML", hksj: bool = False, **options: Any
) -> pd.DataFrame:
    """Cumulative meta-analysis adding studies in data order (metafor's ``cumul``).

    Returns ``study, estimate, ci_low, ci_high, tau2``; row ``i`` pools the first ``i`` studies.
    Sort ``data`` first (for example by year) to accumulate in another order.
    """
    full = _quiet_pool(data, measure, method, hksj, **options)
    rows, taken = [], []
    for study, row in _estimable_rows(data, full):
        taken.append(row)
        fit = _quiet_pool(pd.concat(taken), measure, method, hksj, **options)
        rows.append(
            {
                "study": study,
                "estimate": fit.estimate,
                "ci_low": fit.ci_low,
                "ci_high": fit.ci_high,
                "tau2": fit.tau2,
            }
        )
    return pd.DataFrame(rows, columns=["study", "estimate", "ci_low", "ci_high", "tau2"])


def _deleted_fits(y: np.ndarray, v: np.ndarray, method: str, hksj: bool) -> dict[str, np.ndarray]:
    """Fits of the k leave-one-out models at once (batch of k meta-analyses of k - 1 studies)."""
    k = len(y)
    keep = ~np.eye(k, dtype=bool)
    yd, vd = (
        y[None, :].repeat(k, 0)[keep].reshape(k, k - 1),
        v[None, :].repeat(k, 0)[keep].reshape(k, k - 1),
    )
    tau2 = ESTIMATORS[method](yd, vd) if method in RANDOM_METHODS and k > 2 else np.zeros(k)
    w = 1 / (vd + tau2[:, None])
    beta = (w * yd).sum(1) / w.sum(1)
    vb = 1 / w.sum(1)
    s2w = np.ones(k)
    if hksj:
        rss = (w * (yd - beta[:, None]) ** 2).sum(1)
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / max(k - 2, 1))
    return {"tau2": tau2, "beta": beta, "vb": vb * s2w, "s2w": s2w, "QE": cochran_q(yd, vd)}


def influence(
    data: pd.DataFrame, measure: str, method: str = "REML", hksj: bool = False, **options: Any
) -> pd.DataFrame:
    """Case diagnostics of metafor's ``influence.rma.uni`` (inverse-variance models).

    Columns: ``study, rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight``.
    ``rstudent`` is the studentised deleted residual, ``dffits`` the change in the fitted value,
    ``cook_d`` Cook's distance, ``cov_r`` the ratio of the deleted to the full variance of the
    estimate; ``hat`` and ``weight`` (percent) come from the full model.
    """
    method = normalise_method(method, measure.upper())
    if method in TABLE_METHODS:
        raise ValueError("influence diagnostics apply to inverse-variance models, not MH or PETO")
    full = _quiet_pool(data, measure, method, hksj, **options)
    used = [s for s in full.studies if s.yi is not None]
    y = np.array([s.yi for s in used])
    v = np.array([s.sei**2 for s in used])
    if len(y) < 2:
        raise ValueError("influence diagnostics need at least 2 studies")
    tau2 = full.tau2 or 0.0
    w = 1 / (v + tau2)
    hat = w / w.sum()
    vb_full = full.se**2
    d = _deleted_fits(y, v, method, hksj)
    diff = full.estimate - d["beta"]
    rstudent = (y - d["beta"]) / np.sqrt(v * d["s2w"] + d["vb"] + d["tau2"] * d["s2w"])
    dffits = diff / np.sqrt(d["s2w"] * hat * (d["tau2"] + v))
    return pd.DataFrame(
        {
            "study": [s.study for s in used],
            "rstudent": rstudent,
            "dffits": dffits,
            "cook_d": diff**2 / vb_full,
            "cov_r": d["vb"] / vb_full,
            "tau2_del": d["tau2"],
            "QE_del": d["QE"],
            "hat": hat,
            "weight": 100 * hat,
        }
    )


def baujat_data(
    data: pd.DataFrame, measure: str, method: str = "REML", hksj: bool = False, **options: Any
) -> pd.DataFrame:
    """Baujat coordinates (metafor's ``baujat``): ``study, x, y``.

    ``x`` = squared Pearson residual, ``(y_i - mu)^2 / (tau^2 + v_i)`` (the study's contribution to
    heterogeneity); ``y`` = influence on the overall result, ``(mu_(-i) - mu)^2 / var(mu_(-i))``.
    """
    full = _quiet_pool(data, measure, method, hksj, **options)
    labels = data["study"].astype(str).str.strip()
    rows = []
    for s in (s for s in full.studies if s.yi is not None):
        deleted = _quiet_pool(data[labels != s.study], measure, method, hksj, **options)
        x = (s.yi - full.estimate) ** 2 / ((full.tau2 or 0.0) + s.sei**2)
        yy = (deleted.estimate - full.estimate) ** 2 / deleted.se**2
        rows.append({"study": s.study, "x": x, "y": yy})
    return pd.DataFrame(rows, columns=["study", "x", "y"])


def baujat_plot(
    data: pd.DataFrame, measure: str, method: str = "REML", hksj: bool = False, **options: Any
) -> ggplot:
    """Baujat plot: contribution to heterogeneity (x) against influence on the result (y)."""
    from plotnine import aes, element_text, geom_point, geom_text, ggplot, labs, theme, theme_bw

    points = baujat_data(data, measure, method, hksj, **options)
    fixed = normalise_method(method, measure.upper()) not in RANDOM_METHODS
    return (
        ggplot(points, aes("x", "y"))
        + geom_point(size=2, fill="white", colour="black")
        + geom_text(
            aes(label="study"),
            size=7,
            ha="left",
            nudge_x=0.02 * points["x"].max(),
            family="DejaVu Sans",
        )
        + labs(
            x="Contribution to overall heterogeneity" if fixed else "Squared Pearson residual",
            y="Influence on overall result",
        )
        + theme_bw()
        + theme(text=element_text(family="DejaVu Sans", size=8), figure_size=(5.5, 4.5))
    )
