"""Subgroup analysis and the test for subgroup differences.

References
----------
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5, section 5 (test for
    subgroup differences on the subgroup estimates).
Viechtbauer W (2010). J Stat Softw 36(3) (``rma(yi, vi, mods = ~ factor(group))``, one tau^2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from metafuse.engine.mixed import fit_mixed
from metafuse.exceptions import DataError
from metafuse.measures import TABLE_METHODS
from metafuse.pooling import refit
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, used_effects
from metafuse.toolbox.metareg import design_matrix, moderator_rows


def difference_test(estimates: Sequence[float], ses: Sequence[float]) -> tuple[float, int, float]:
    """Test for subgroup differences as RevMan computes it: ``(Chi², df, P)``.

    ``Q = sum w_g (y_g - y_w)^2`` over the subgroup estimates with ``w_g = 1/se_g^2`` and ``y_w``
    their inverse-variance mean; df = number of subgroups - 1.
    """
    y, se = np.asarray(estimates, float), np.asarray(ses, float)
    w = 1 / se**2
    q = float((w * (y - (w * y).sum() / w.sum()) ** 2).sum())
    df = len(y) - 1
    return q, df, float(special.chdtrc(df, q))


def subgroup(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    by: str = "subgroup",
    *,
    groups: Mapping[str, str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Subgroup analysis and the test for subgroup differences.

    ``data`` is a DataFrame with the subgroup in column ``by``, or a pooled result with
    ``groups`` (study label -> subgroup). Returns ``groups`` (sorted), ``group_estimate``,
    ``group_se``, ``group_tau2``, ``group_k`` (each subgroup pooled separately with the model's
    method), ``Q_between``, ``Q_between_df``, ``Q_between_pval`` (inverse-variance test on the
    subgroup estimates, as RevMan computes it), and ``QM_common_tau2``, ``QM_common_tau2_pval``
    (mixed-effects model with the subgroup as a categorical moderator and one common tau^2, as
    metafor's ``rma(yi, vi, mods = ~ factor(by))``).
    """
    result = as_result(data, measure, method, False, **options)
    labels, y, v = used_effects(result)
    if groups is None:
        if not isinstance(data, pd.DataFrame):
            raise ValueError("give groups= (study label -> subgroup) with a pooled result")
        rows = moderator_rows(result, data, [by])
        assigned = [str(g) for g in rows[by]]
    else:
        missing = [s for s in labels if s not in groups]
        if missing:
            raise DataError(f"no subgroup given for study {missing[0]!r}")
        assigned = [str(groups[s]) for s in labels]
    names = sorted(set(assigned))
    if len(names) < 2:
        raise ValueError(f"{by!r} has fewer than two subgroups")
    est: list[float] = []
    se: list[float] = []
    tau2: list[float | None] = []
    ks: list[int] = []
    used = np.flatnonzero(result.effects.estimable) if result.effects is not None else None
    for g in names:
        members = np.array([a == g for a in assigned])
        fit = refit(result, used[members] if used is not None else members)
        e, s = fit.estimate_se()
        est.append(e)
        se.append(s)
        tau2.append(fit.tau2)
        ks.append(fit.k)
    q, df, p = difference_test(est, se)
    X, _ = design_matrix(pd.DataFrame({by: assigned}), [by])
    iv_method = "FE" if result.method in TABLE_METHODS else result.method
    common = fit_mixed(y, v, X, iv_method)
    return {
        "groups": names,
        "group_estimate": est,
        "group_se": se,
        "group_tau2": tau2,
        "group_k": ks,
        "Q_between": q,
        "Q_between_df": df,
        "Q_between_pval": p,
        "QM_common_tau2": common.QM,
        "QM_common_tau2_pval": common.QM_pval,
    }
