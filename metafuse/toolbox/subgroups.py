"""Subgroup analysis and the test for subgroup differences.

References
----------
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5, section 5 (test for
    subgroup differences on the subgroup estimates).
Viechtbauer W (2010). J Stat Softw 36(3) (``rma(yi, vi, mods = ~ factor(group))``, one tau^2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from metafuse.engine.mixed import fit_mixed
from metafuse.exceptions import DataError
from metafuse.measures import TABLE_METHODS
from metafuse.pooling import refit
from metafuse.result_protocol import ResultMixin, p_text, short
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, used_effects
from metafuse.toolbox.metareg import design_matrix, moderator_rows


def difference_test(estimates: Sequence[float], ses: Sequence[float]) -> tuple[float, int, float]:
    """Test for subgroup differences as RevMan computes it.

    ``Q = sum w_g (y_g - y_w)^2`` over the subgroup estimates with ``w_g = 1/se_g^2`` and ``y_w``
    their inverse-variance mean; df = number of subgroups - 1.

    Parameters
    ----------
    estimates, ses : sequence of float
        The subgroups' estimates (analysis scale) and standard errors.

    Returns
    -------
    tuple of (float, int, float)
        ``(Chi², df, P)``.
    """
    y, se = np.asarray(estimates, float), np.asarray(ses, float)
    w = 1 / se**2
    q = float((w * (y - (w * y).sum() / w.sum()) ** 2).sum())
    df = len(y) - 1
    return q, df, float(special.chdtrc(df, q))


@dataclass(frozen=True, repr=False)
class SubgroupAnalysis(ResultMixin):
    """Each subgroup pooled separately, and two tests for subgroup differences.

    Estimates are on the analysis scale. ``Q_between`` is RevMan's test on the subgroup
    estimates; ``QM_common_tau2`` the moderator test of a mixed-effects model with one common
    tau^2 (metafor's ``rma(yi, vi, mods = ~ factor(by))``).
    """

    title = "Subgroup analysis"
    #: The column (or name) that defines the subgroups.
    by: str
    groups: tuple[str, ...]
    group_estimate: tuple[float, ...]
    group_se: tuple[float, ...]
    group_tau2: tuple[float | None, ...]
    group_k: tuple[int, ...]
    Q_between: float
    Q_between_df: int
    Q_between_pval: float
    QM_common_tau2: float
    QM_common_tau2_pval: float

    def to_dict(self) -> dict[str, Any]:
        """Return the values as a dictionary.

        Return ``groups`` (sorted), ``group_estimate, group_se, group_tau2, group_k`` (lists),
        ``Q_between, Q_between_df, Q_between_pval, QM_common_tau2, QM_common_tau2_pval``.
        """
        return {
            "groups": list(self.groups),
            "group_estimate": list(self.group_estimate),
            "group_se": list(self.group_se),
            "group_tau2": list(self.group_tau2),
            "group_k": list(self.group_k),
            "Q_between": self.Q_between,
            "Q_between_df": self.Q_between_df,
            "Q_between_pval": self.Q_between_pval,
            "QM_common_tau2": self.QM_common_tau2,
            "QM_common_tau2_pval": self.QM_common_tau2_pval,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row per subgroup: ``group, k, estimate, se, tau2`` (analysis scale)."""
        return pd.DataFrame(
            {
                "group": list(self.groups),
                "k": list(self.group_k),
                "estimate": list(self.group_estimate),
                "se": list(self.group_se),
                "tau2": [np.nan if t is None else t for t in self.group_tau2],
            }
        )

    def _headline(self) -> str:
        return (
            f"by {self.by}, {len(self.groups)} subgroups: Chi² = {short(self.Q_between)}, "
            f"df = {self.Q_between_df}, {p_text(self.Q_between_pval)}"
        )

    def _summary_rows(self) -> list[tuple[str, str]]:
        return [
            (
                "Test for subgroup differences",
                f"Chi² = {short(self.Q_between)}, df = {self.Q_between_df}, "
                f"{p_text(self.Q_between_pval)}",
            ),
            (
                "Moderator test (common tau^2)",
                f"QM = {short(self.QM_common_tau2)}, {p_text(self.QM_common_tau2_pval)}",
            ),
        ]


def subgroup(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    by: str = "subgroup",
    *,
    groups: Mapping[str, str] | None = None,
    **options: Any,
) -> SubgroupAnalysis:
    """Subgroup analysis and the test for subgroup differences.

    Each subgroup is pooled separately with the model's method; the subgroup estimates are
    compared by RevMan's inverse-variance test, and by the moderator test of a mixed-effects
    model with one common tau^2 (metafor's ``rma(yi, vi, mods = ~ factor(by))``).

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).
    by : str, optional
        The column of ``data`` holding each study's subgroup (or the subgroups' name).
    groups : mapping of str to str, optional
        Study label -> subgroup, needed when ``data`` is a result.

    Returns
    -------
    SubgroupAnalysis
        The subgroups' estimates and both tests.

    Raises
    ------
    DataError
        A study without a subgroup.
    ValueError
        Fewer than two subgroups.

    References
    ----------
    Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5, section 5.
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
    return SubgroupAnalysis(
        by=by,
        groups=tuple(names),
        group_estimate=tuple(est),
        group_se=tuple(se),
        group_tau2=tuple(tau2),
        group_k=tuple(ks),
        Q_between=q,
        Q_between_df=df,
        Q_between_pval=p,
        QM_common_tau2=common.QM,
        QM_common_tau2_pval=common.QM_pval,
    )
