"""Mixed-effects meta-regression (metafor's ``rma(yi, vi, mods = ~ ...)``) on a pooled result.

References
----------
Thompson SG, Higgins JPT (2002). Stat Med 21:1559-1573.
Knapp G, Hartung J (2003). Stat Med 22:2693-2710.
Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In: The Handbook of Research
    Synthesis and Meta-Analysis, 2nd ed., chapter 16 (pseudo-R^2 as the proportional reduction
    in tau^2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import FloatArray
from metafuse._deprecation import renamed
from metafuse.engine.mixed import fit_mixed, tau2_mixed
from metafuse.exceptions import DataError
from metafuse.measures import RANDOM_METHODS, TABLE_METHODS
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result, used_effects
from metafuse.toolbox.metareg_result import MetaRegression


def moderator_rows(
    result: PooledResult, data: pd.DataFrame, columns: Sequence[str]
) -> pd.DataFrame:
    """Return the rows of ``data`` behind the studies that enter ``result``.

    The rows of ``data`` behind the studies that enter ``result``, with the named columns.

    ``data`` is the DataFrame the result was pooled from (rows matched by position), or a frame
    with a ``study`` column matching the result's study labels.
    """
    frame = data.reset_index(drop=True)
    for col in columns:
        if col not in frame.columns:
            raise DataError(f"no column {col!r} in the data", column=col)
    e = result.effects
    if e is not None and e.rows and len(frame) > max(e.rows):
        rows = frame.iloc[[r for r, ok in zip(e.rows, e.estimable, strict=True) if ok]]
    else:
        labels, _, _ = used_effects(result)
        index = {str(s).strip(): i for i, s in enumerate(frame["study"])}
        missing = [s for s in labels if s not in index]
        if missing:
            raise DataError(
                f"no row for study {missing[0]!r} in the moderator data", column="study"
            )
        rows = frame.iloc[[index[s] for s in labels]]
    for col in columns:
        if rows[col].isna().any():
            bad = int(rows.index[rows[col].isna().to_numpy()][0])
            raise DataError("missing moderator value", row=bad, column=col)
    return rows.reset_index(drop=True)


def design_matrix(rows: pd.DataFrame, moderators: Sequence[str]) -> tuple[FloatArray, list[str]]:
    """Intercept plus moderators.

    Text moderators dummy-coded against their first level in sorted order (R's default).
    """
    columns, names = [np.ones(len(rows))], ["intercept"]
    for mod in moderators:
        values = pd.to_numeric(rows[mod], errors="coerce")
        if values.notna().all():
            columns.append(values.to_numpy(float))
            names.append(mod)
            continue
        levels = sorted(rows[mod].astype(str).unique())
        for level in levels[1:]:
            columns.append((rows[mod].astype(str) == level).to_numpy(float))
            names.append(f"{mod}{level}")
    return np.column_stack(columns), names


def meta_regression(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    moderators: Sequence[str] = (),
    hksj: bool = False,
    *,
    covariates: pd.DataFrame | None = None,
    knha: bool | None = None,
    **options: Any,
) -> MetaRegression:
    """Mixed-effects meta-regression (metafor's ``rma(yi, vi, mods = ~ ...)``).

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result (:func:`metafuse.pool`), whose model is refitted; or study rows, pooled
        on the spot with the arguments below.
    measure, method, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool` (ignored for
        a result).
    moderators : sequence of str
        Moderator columns; text columns are dummy-coded against their first level in sorted
        order (R's default).
    hksj : bool, optional
        The Knapp-Hartung adjustment (t and F tests with k - p df).
    covariates : pandas.DataFrame, optional
        A frame with a ``study`` column and the moderators, needed when ``data`` is a result.
    knha : bool, optional
        Deprecated name of ``hksj``.

    Returns
    -------
    MetaRegression
        Coefficients (intercept first), residual tau^2, the omnibus test ``QM`` (F with
        Knapp-Hartung), ``QE``, and ``R2`` (percent: the proportional reduction of tau^2 against
        the intercept-only model, metafor's default; for fixed-effect models the adjusted R^2 of
        the weighted regression); it predicts at new moderator values and gives the Q-profile
        CI of tau^2, influence diagnostics and cluster-robust inference.

    References
    ----------
    Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and
    interpreted? Stat Med 21:1559-1573.
    Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. Stat Med 22:2693-2710.
    """
    hksj = renamed("knha", knha, "hksj", hksj)
    if not moderators:
        raise ValueError("give at least one moderator column")
    result = as_result(data, measure, method, False, **options)
    if result.method in TABLE_METHODS:
        raise ValueError("meta-regression uses inverse-variance models, not MH or PETO")
    source = covariates if covariates is not None else data
    if not isinstance(source, pd.DataFrame):
        raise ValueError("give the moderators as covariates= (a frame with a study column)")
    rows = moderator_rows(result, source, moderators)
    labels, y, v = used_effects(result)
    X, names = design_matrix(rows, moderators)
    user = None
    if result.effects is not None and result.effects.weights is not None:
        user = result.effects.weights[result.effects.estimable]
    tau2_options = result.model.tau2_options
    if result.method == "GENQ":
        tau2_options.setdefault("weights", user)
    fit = fit_mixed(
        y,
        v,
        X,
        result.method,
        hksj,
        names,
        level=result.level,
        weights=user,
        tau2_options=tau2_options,
    )
    if result.method in RANDOM_METHODS:
        tau2_0 = tau2_mixed(y, v, np.ones((len(y), 1)), result.method, **tau2_options)
        r2 = 0.0 if tau2_0 == 0 else max(0.0, 100 * (tau2_0 - fit.tau2) / tau2_0)
    else:
        r2 = weighted_adjusted_r2(y, v, X)
    return MetaRegression(
        result=result, fit=fit, labels=tuple(labels), y=y, v=v, X=X, R2=r2, hksj=hksj
    )


def weighted_adjusted_r2(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    """Return the adjusted R^2 (percent, at least 0) of the weighted regression of y on X."""
    if np.var(y) == 0:
        return 0.0
    w = 1.0 / v
    k, p = X.shape
    beta = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y))
    ybar = np.sum(w * y) / w.sum()
    ss_res = float(np.sum(w * (y - X @ beta) ** 2))
    ss_tot = float(np.sum(w * (y - ybar) ** 2))
    adj = 1 - (ss_res / (k - p)) / (ss_tot / (k - 1))
    return max(0.0, 100 * adj)


def intercept_regression(result: PooledResult) -> MetaRegression:
    """Return the pooled result as a meta-regression with an intercept only.

    The pooled result as a meta-regression with an intercept only (for cluster-robust inference and
    influence diagnostics on a model without moderators).
    """
    labels, y, v = used_effects(result)
    X = np.ones((len(y), 1))
    fit = fit_mixed(y, v, X, result.method, result.hksj, ["intercept"], level=result.level)
    return MetaRegression(
        result=result, fit=fit, labels=tuple(labels), y=y, v=v, X=X, R2=0.0, hksj=result.hksj
    )
