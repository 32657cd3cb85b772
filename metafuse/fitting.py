"""Fitting a :class:`~metafuse.model.Model` to effect sizes: the fields of a pooled result.

:func:`fit_effects` dispatches to the engine (inverse-variance models, :mod:`metafuse.engine`) or
to the 2x2-table methods (Mantel-Haenszel, Peto and RevMan's "M-H, Random",
:mod:`metafuse.fit_tables`), and assembles the immutable :class:`~metafuse.results.PooledResult`,
which carries its effect sizes and its model. :mod:`metafuse.pooling` builds the model and the
effect sizes; this module only fits and assembles.

References
----------
Viechtbauer W (2010). J Stat Softw 36(3) (metafor, whose results these reproduce).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from metafuse._arrays import BoolArray, FloatArray
from metafuse._version import __version__
from metafuse.engine.inverse_variance import InverseVarianceFit, fit_inverse_variance
from metafuse.exceptions import DataError
from metafuse.fit_tables import fit_mh_random, fit_tables
from metafuse.model import FIXED_METHODS, GENERALISED_Q_METHODS, TABLE_METHODS, Model
from metafuse.results import EffectSizes, PooledResult, StudyEstimate, clean


def with_weights(effects: EffectSizes, weights: Sequence[float] | FloatArray) -> EffectSizes:
    """Return the effect sizes with user weights (finite and positive, one per study)."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size != effects.k:
        raise ValueError(f"give one weight per study ({effects.k}), got {w.size}")
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise ValueError("weights must be finite and positive")
    return dataclasses.replace(effects, weights=w.copy())


def fit_effects(effects: EffectSizes, model: Model) -> PooledResult:
    """Fit ``model`` to the effect sizes and return the pooled result.

    Parameters
    ----------
    effects : EffectSizes
        The studies' effect sizes (and raw counts, for the 2x2-table methods).
    model : Model
        The model; its measure is the effect sizes'.

    Returns
    -------
    PooledResult
        The fit, carrying ``effects`` and ``model``.
    """
    method = model.method
    estimable = effects.estimable
    # metafor's rma.mh pools every table: with no table estimable as an effect size (an event in
    # every participant, or none), the Mantel-Haenszel RR/RD is still defined (0, se 0)
    every_table = method == "MH" and model.preset.mh_all_tables
    if not estimable.any() and not every_table:
        raise DataError(
            f"no study is estimable for {effects.measure}: "
            + "; ".join(
                f"{s}: {n}" for s, n in zip(effects.labels, effects.notes, strict=True) if n
            )
        )
    y, v = effects.yi[estimable], effects.vi[estimable]
    user = None if effects.weights is None else effects.weights[estimable]
    tau2_options = model.tau2_options
    if method in GENERALISED_Q_METHODS:
        if user is None and "weights" not in tau2_options:
            raise ValueError(f"the {method} estimator needs weights (weights=...)")
        tau2_options.setdefault("weights", user)
    options = model.result_options()
    if method in TABLE_METHODS:
        fit, df = fit_tables(effects, estimable, method, options), None
        weights = fit.pop("weights")
    elif model.q_from == "mh":
        (fit, weights), df = fit_mh_random(effects, estimable, options), None
    else:
        iv = fit_inverse_variance(
            y,
            v,
            method,
            model.hksj,
            level=model.level,
            prediction=model.prediction,
            weighted=model.weighted,
            tau2_options=tau2_options or None,
            weights=user,
        )
        fit, weights, df = _iv_fields(iv), iv.weights, None if np.isnan(iv.df) else int(iv.df)
        fit["tau2_se"] = _tau2_se(y, v, method, iv, tau2_options)
    _check_finite(effects, estimable, fit)
    return _assemble(effects, model, estimable, np.asarray(weights), fit, df)


def _tau2_se(
    y: FloatArray, v: FloatArray, method: str, iv: InverseVarianceFit, tau2_options: dict[str, Any]
) -> float | None:
    """Metafor's se.tau2 for random-effects fits of at least 2 studies."""
    from metafuse.engine.problem import Problem
    from metafuse.engine.tau2_se import tau2_standard_error

    if method in FIXED_METHODS or len(y) < 2:
        return None
    weights = tau2_options.get("weights")
    se = tau2_standard_error(
        Problem.of(y, v),
        method,
        np.atleast_1d(iv.tau2),
        None if weights is None else np.asarray(weights, dtype=np.float64),
    )
    return clean(se[0])


IV_FIELDS = (
    "estimate",
    "se",
    "statistic",
    "pval",
    "ci_low",
    "ci_high",
    "tau2",
    "Q",
    "Q_pval",
    "I2",
    "I2_Q",
    "H2",
    "tau2_ci_low",
    "tau2_ci_high",
    "I2_ci_low",
    "I2_ci_high",
    "pi_low",
    "pi_high",
)


def _iv_fields(iv: InverseVarianceFit) -> dict[str, Any]:
    return {name: getattr(iv, name) for name in IV_FIELDS}


def _check_finite(effects: EffectSizes, estimable: BoolArray, fit: dict[str, Any]) -> None:
    """Raise for a pooled estimate or Q that overflowed, naming the most extreme study."""
    values = [fit["estimate"], fit["se"], fit["Q"]]
    finite = all(np.isfinite(np.asarray(x, dtype=float)).all() for x in values)
    if finite and (not effects.scale.is_ratio or abs(float(fit["estimate"])) < 700):
        return
    idx = np.flatnonzero(estimable)
    worst = idx[np.argmax(np.abs(effects.yi[idx]))]
    raise DataError(
        f"the pooled result is not a finite number on the {effects.scale.name.lower()} scale: "
        f"the effect sizes are too large to compute with (largest: {effects.yi[worst]:.3g} on "
        f"the analysis scale)",
        study=effects.labels[worst],
        row=None,
    )


def _assemble(
    effects: EffectSizes,
    model: Model,
    estimable: BoolArray,
    weights: FloatArray,
    fit: dict[str, Any],
    df: int | None,
) -> PooledResult:
    full_w = np.zeros(effects.k)
    full_w[estimable] = 100.0 * weights
    studies = tuple(
        StudyEstimate(
            study=name,
            yi=clean(effects.yi[i]) if estimable[i] else None,
            sei=clean(np.sqrt(effects.vi[i])) if estimable[i] else None,
            weight_percent=float(full_w[i]),
            data=effects.data[i],
            note=effects.notes[i],
        )
        for i, name in enumerate(effects.labels)
    )
    excluded = effects.excluded + tuple(
        (name, note) for name, note in zip(effects.labels, effects.notes, strict=True) if note
    )
    k = int(estimable.sum())
    all_options = {**effects.options, **model.result_options()}
    return PooledResult(
        measure=effects.measure,
        method=model.method,
        hksj=model.hksj,
        k=k,
        Q_df=max(k - 1, 0),
        studies=studies,
        df=df,
        excluded=excluded,
        options=MappingProxyType(all_options),
        model=model,
        version=__version__,
        effects=effects,
        scale=effects.scale,
        extras=MappingProxyType(dict(fit.pop("extras", None) or {})),
        **{name: clean(value) for name, value in fit.items()},
    )
