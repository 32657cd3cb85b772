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

from typing import Any

import numpy as np
import pandas as pd

from metafuse.measures import TABLE_METHODS
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, used_effects
from metafuse.toolbox.sensitivity import FIT_NAMES, blocked_fits, mask_blocks, subset_fits


def influence(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Case diagnostics of metafor's ``influence.rma.uni`` (inverse-variance models).

    Columns: ``study, rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight``.
    ``rstudent`` is the studentised deleted residual, ``dffits`` the change in the fitted value,
    ``cook_d`` Cook's distance, ``cov_r`` the ratio of the deleted to the full variance of the
    estimate; ``hat`` and ``weight`` (percent) come from the full model.
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
    return pd.DataFrame(
        {
            "study": labels,
            "rstudent": rstudent,
            "dffits": dffits,
            "cook_d": diff**2 / vb_full,
            "cov_r": vb / vb_full,
            "tau2_del": d["tau2"],
            "QE_del": d["Q"],
            "hat": hat,
            "weight": 100 * hat,
        }
    )


def _deleted_fits(full: PooledResult, v: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The leave-one-out refits and, for each, the unscaled variance of its estimate
    (1 / sum of the remaining weights at its own tau^2), block by block (memory O(k))."""
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
) -> pd.DataFrame:
    """Baujat coordinates (metafor's ``baujat``): ``study, x, y``.

    ``x`` = squared Pearson residual, ``(y_i - mu)^2 / (tau^2 + v_i)`` (the study's contribution to
    heterogeneity); ``y`` = influence on the overall result, ``(mu_(-i) - mu)^2 / var(mu_(-i))``.
    """
    full = as_result(data, measure, method, hksj, **options)
    labels, y, v = used_effects(full)
    d = blocked_fits(full, mask_blocks(len(y), "leave-one-out"))
    est, _ = full.estimate_se()
    x = (y - est) ** 2 / ((full.tau2 or 0.0) + v)
    yy = (d["estimate"] - est) ** 2 / d["se"] ** 2
    return pd.DataFrame({"study": labels, "x": x, "y": yy}, columns=["study", "x", "y"])
