"""Influence diagnostics and the Baujat plot's coordinates, from one batch of leave-one-out fits.

Both reproduce metafor's ``influence`` and ``baujat`` (Viechtbauer 2010).

References
----------
Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis. Res Synth
    Methods 1:112-125 (studentised deleted residuals, DFFITS, Cook's distance, COVRATIO).
Baujat B, Mahé C, Pignon J-P, Hill C (2002). A graphical method for exploring heterogeneity in
    meta-analyses. Stat Med 21:2641-2652.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import FloatArray
from metafuse.measures import TABLE_METHODS
from metafuse.result_protocol import StudyTable
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, used_effects
from metafuse.toolbox.sensitivity import FIT_NAMES, blocked_fits, mask_blocks, subset_fits

#: Columns of the influence diagnostics after ``study``.
INFLUENCE_COLUMNS = (
    "rstudent",
    "dffits",
    "cook_d",
    "cov_r",
    "tau2_del",
    "QE_del",
    "hat",
    "weight",
)


@dataclass(frozen=True, repr=False)
class Influence(StudyTable):
    """Case diagnostics of each study (metafor's ``influence``), one row per study.

    ``rstudent`` is the studentised deleted residual, ``dffits`` the change in the fitted value,
    ``cook_d`` Cook's distance, ``cov_r`` the ratio of the deleted to the full variance of the
    estimate, ``tau2_del`` and ``QE_del`` tau^2 and Q without the study; ``hat`` and ``weight``
    (percent) come from the full model. A meta-regression adds ``dfbs_<coefficient>``
    (DFBETAS) per coefficient.
    """

    title = "Influence diagnostics"
    COLUMNS = INFLUENCE_COLUMNS
    study: tuple[str, ...]
    rstudent: FloatArray
    dffits: FloatArray
    cook_d: FloatArray
    cov_r: FloatArray
    tau2_del: FloatArray
    QE_del: FloatArray
    hat: FloatArray
    weight: FloatArray
    #: The pooled result (of a meta-regression: the result it regresses).
    result: PooledResult
    #: DFBETAS of a meta-regression: ``(coefficient name, values)`` pairs.
    dfbetas: tuple[tuple[str, FloatArray], ...] = ()

    def _columns(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name) for name in self.COLUMNS},
            **{f"dfbs_{name}": values for name, values in self.dfbetas},
        }

    def _headline(self) -> str:
        worst = int(np.nanargmax(self.cook_d)) if len(self.study) else None
        most = "" if worst is None else f"; largest Cook's distance: {self.study[worst]}"
        return f"{self.result.measure} {self.result.method} k={len(self.study)}{most}"


@dataclass(frozen=True, repr=False)
class BaujatData(StudyTable):
    """The coordinates of the Baujat plot (metafor's ``baujat``), one row per study.

    ``x`` is the squared Pearson residual ``(y_i - mu)^2 / (tau^2 + v_i)`` (the study's
    contribution to heterogeneity); ``y`` the influence on the overall result,
    ``(mu_(-i) - mu)^2 / var(mu_(-i))``.
    """

    title = "Baujat coordinates"
    COLUMNS = ("x", "y")
    study: tuple[str, ...]
    x: FloatArray
    y: FloatArray
    #: The pooled result.
    result: PooledResult

    def _headline(self) -> str:
        return f"{self.result.measure} {self.result.method} k={len(self.study)}"


def influence(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    **options: Any,
) -> Influence:
    """Case diagnostics of each study (metafor's ``influence.rma.uni``; inverse-variance models).

    Computed from one batch of leave-one-out fits.

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, hksj, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).

    Returns
    -------
    Influence
        ``study, rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight``: the
        studentised deleted residual, the change in the fitted value, Cook's distance, the ratio
        of the deleted to the full variance of the estimate, tau^2 and Q without the study, and
        the hat value and weight (percent) in the full model.

    Raises
    ------
    ValueError
        For Mantel-Haenszel and Peto models, or fewer than 2 studies.

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis. Res
    Synth Methods 1:112-125.
    """
    full = as_result(data, measure, method, hksj, **options)
    if full.method in TABLE_METHODS:
        raise ValueError("influence diagnostics apply to inverse-variance models, not MH or PETO")
    labels, y, v = used_effects(full)
    k = len(y)
    if k < 2:
        raise ValueError("influence diagnostics need at least 2 studies")
    w = 1 / (v + (full.tau2 or 0.0))
    hat = w / w.sum()
    d, vb_raw = _deleted_fits(full, v)
    vb = d["se"] ** 2
    s2w = vb / vb_raw if full.hksj else np.ones(k)
    estimate, se = full.estimate_se()
    diff = estimate - d["estimate"]
    rstudent = (y - d["estimate"]) / np.sqrt(v * s2w + vb + d["tau2"] * s2w)
    dffits = diff / np.sqrt(s2w * hat * (d["tau2"] + v))
    vb_full = se**2
    return Influence(
        study=tuple(labels),
        rstudent=rstudent,
        dffits=dffits,
        cook_d=diff**2 / vb_full,
        cov_r=vb / vb_full,
        tau2_del=d["tau2"],
        QE_del=d["Q"],
        hat=hat,
        weight=100 * hat,
        result=full,
    )


def _deleted_fits(full: PooledResult, v: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Return the leave-one-out refits and, for each, the unscaled variance of its estimate.

    The leave-one-out refits and, for each, the unscaled variance of its estimate (1 / sum of the
    remaining weights at its own tau^2), block by block (memory O(k)).
    """
    k = len(v)
    parts, raw = [], []
    for keep in mask_blocks(k, "leave-one-out"):
        fits = subset_fits(full, keep)
        tau2 = fits["tau2"][:, None]
        raw.append(1.0 / np.where(keep, 1.0 / (v[None, :] + tau2), 0.0).sum(axis=1))
        parts.append(fits)
    joined = {name: np.concatenate([p[name] for p in parts]) for name in FIT_NAMES}
    return joined, np.concatenate(raw)


def baujat_data(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    **options: Any,
) -> BaujatData:
    """Coordinates of the Baujat plot (metafor's ``baujat``).

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, hksj, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).

    Returns
    -------
    BaujatData
        ``study, x, y``: ``x`` the squared Pearson residual ``(y_i - mu)^2 / (tau^2 + v_i)`` (the
        study's contribution to heterogeneity), ``y`` the influence on the overall result
        ``(mu_(-i) - mu)^2 / var(mu_(-i))``.

    References
    ----------
    Baujat B, Mahé C, Pignon J-P, Hill C (2002). A graphical method for exploring heterogeneity
    in meta-analyses. Stat Med 21:2641-2652.
    """
    full = as_result(data, measure, method, hksj, **options)
    labels, y, v = used_effects(full)
    d = blocked_fits(full, mask_blocks(len(y), "leave-one-out"))
    est, _ = full.estimate_se()
    x = (y - est) ** 2 / ((full.tau2 or 0.0) + v)
    yy = (d["estimate"] - est) ** 2 / d["se"] ** 2
    return BaujatData(tuple(labels), x, yy, full)
