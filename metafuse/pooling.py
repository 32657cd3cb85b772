"""Pooling: fixed effect (inverse variance), Mantel-Haenszel, Peto and random-effects models.

:func:`pool` is the public entry point: study data (a DataFrame) or
:class:`~metafuse.results.EffectSizes` in, an immutable :class:`~metafuse.results.PooledResult`
out, which carries its effect sizes and options so that :func:`refit` can refit it on a subset.
The statistics are the engine's (:mod:`metafuse.engine`); this module only assembles.

References
----------
DerSimonian R, Laird N (1986). Control Clin Trials 7:177-188.
Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
Viechtbauer W (2010). J Stat Softw 36(3) (metafor, whose results these reproduce).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import BoolArray, FloatArray
from metafuse._version import __version__
from metafuse.conventions import Convention, get_convention
from metafuse.data.validate import prepare_studies
from metafuse.effects.compute import study_effects
from metafuse.engine.inverse_variance import (
    PREDICTION_KINDS,
    InverseVarianceFit,
    fit_inverse_variance,
)
from metafuse.exceptions import DataError, ExcludedStudyWarning
from metafuse.fit_tables import fit_mh_random, fit_tables
from metafuse.measures import (
    MEASURES,
    TABLE_METHODS,
    check_level,
    normalise_measure,
    normalise_method,
)
from metafuse.results import EffectSizes, PooledResult, StudyEstimate, clean


def _effect_options(
    measure: str,
    conv: Convention,
    add: float | None,
    to: str | None,
    drop00: bool | None,
    method: str | None,
) -> dict[str, Any]:
    if add is not None and not (np.isfinite(add) and add >= 0):
        raise ValueError(f"add must be a finite number >= 0, got {add!r}")
    if to is not None and to not in ("only0", "all", "if0all", "none"):
        raise ValueError(
            f"unknown continuity-correction rule to={to!r}; use only0, all, if0all or none"
        )
    return {
        "add": conv.add if add is None else float(add),
        "to": conv.to if to is None else to,
        "drop00": conv.drop00(measure, method or conv.method) if drop00 is None else bool(drop00),
        "smd": conv.smd,
        "rd_uncorrected": conv.rd_uncorrected,
    }


def compute_effects(
    data: pd.DataFrame,
    measure: str,
    *,
    convention: str = "metafuse",
    add: float | None = None,
    to: str | None = None,
    drop00: bool | None = None,
    ratio: bool = False,
    scale_name: str | None = None,
    unit: str | None = None,
    method: str | None = None,
    warn_excluded: bool = True,
) -> EffectSizes:
    """Compute the validated effect sizes of the studies in ``data`` (metafor's ``escalc``).

    Validated effect sizes of the studies in ``data`` (metafor's ``escalc``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per study (the columns of :func:`pool`).
    measure : str
        The effect measure.
    convention : str, optional
        Whose defaults (``metafuse``, ``metafor``, ``revman5``, ``revman-web``).
    add, to, drop00, ratio
        Zero-cell correction, double-zero rule and generic ratios, as in :func:`pool`.
    scale_name, unit : str, optional
        What the numbers are and their unit, for display.
    method : str, optional
        The pooling method, whose convention may set the double-zero rule.
    warn_excluded : bool, optional
        Warn (ExcludedStudyWarning) for each study without data or not estimable; either way
        they are kept in ``excluded`` and ``notes`` with the reason.

    Returns
    -------
    EffectSizes
        ``yi`` and ``vi`` on the analysis scale, with each study's input values.
    """
    measure = normalise_measure(measure)
    conv = get_convention(convention)
    table = prepare_studies(data, measure, ratio=ratio, warn_excluded=warn_excluded)
    if not table.study:
        raise DataError("no study has data to pool")
    opts = _effect_options(measure, conv, add, to, drop00, method)
    effects = study_effects(table, ratio=ratio, scale_name=scale_name, unit=unit, **opts)
    for label, note in zip(effects.labels, effects.notes, strict=True):
        if note and warn_excluded:
            warnings.warn(
                f"study {label!r}: {note}; excluded from {measure}",
                ExcludedStudyWarning,
                stacklevel=3,
            )
    return effects


def pool(
    data: pd.DataFrame | EffectSizes,
    measure: str | None = None,
    method: str | None = None,
    hksj: bool | None = None,
    *,
    convention: str = "metafuse",
    level: float | None = None,
    prediction: str | None = None,
    weighted: bool = True,
    add: float | None = None,
    to: str | None = None,
    drop00: bool | None = None,
    ratio: bool = False,
    tau2_options: dict[str, Any] | None = None,
    weights: Sequence[float] | FloatArray | None = None,
    q_from: str = "iv",
    scale_name: str | None = None,
    unit: str | None = None,
    warn_excluded: bool = True,
    correct: bool = True,
) -> PooledResult:
    """Pool the studies in ``data`` and return an immutable :class:`PooledResult`.

    Parameters
    ----------
    data
        One row per study, with a ``study`` column and the measure's columns: ``events_exp,
        n_exp, events_ctrl, n_ctrl`` (RR, OR, RD, PETO); ``mean_exp, sd_exp, n_exp, mean_ctrl,
        sd_ctrl, n_ctrl`` (MD, SMD); ``events_exp, time_exp, events_ctrl, time_ctrl`` (IRR,
        IRD); ``mean_post, mean_pre, sd_post, sd_pre, n, r`` (MC, SMCC, SMCR, SMCRH); ``events,
        n`` (PLO, PFT); ``events, time`` (IRLN, a single group's incidence rate); ``yi, sei``
        and/or ``estimate, ci_low, ci_high`` (GEN). Or :class:`EffectSizes` already computed.
    measure
        ``RR``, ``OR``, ``RD``, ``PETO`` (Peto's log odds ratio as an effect size), ``MD``,
        ``SMD``, ``IRR``, ``IRD`` (incidence rates), ``MC``, ``SMCC``, ``SMCR``, ``SMCRH``
        (single-group pre-post change), ``PLO``, ``PFT`` (single-arm proportions), ``IRLN``
        (a single group's log incidence rate) or ``GEN`` (generic estimates); taken from the
        effect sizes when they are given.
    method
        ``FE`` (alias ``EE``), ``MH``, ``PETO`` or a random-effects tau^2 estimator: ``DL``,
        ``REML``, ``ML``, ``PM``, ``HE``, ``SJ``, ``EB``, ``HS``, ``HSK``, ``DL2``, ``CA2``,
        ``PMM``, ``GENQ``, ``GENQM`` (the last two with ``weights``). Default: the convention's
        (REML for metafuse and metafor, DL for RevMan 5).
    hksj
        Hartung-Knapp-Sidik-Jonkman adjustment (inverse-variance models only).
    convention
        ``metafuse`` (default), ``metafor``, ``revman5`` or ``revman-web``: the defaults of that
        tool (:mod:`metafuse.conventions`); explicit arguments win.
    level
        Coverage of the confidence and prediction intervals (default 0.95).
    prediction
        Prediction interval: ``t(k-2)`` (metafuse), ``z`` (metafor), ``t(k-1)`` or ``none``.
    weighted
        False pools the unweighted mean (metafor's ``weighted=FALSE``).
    add, to, drop00, ratio
        Effect-size options: continuity correction of 2x2 tables with a zero cell (``add`` to
        every cell; ``to`` = ``only0``, ``all``, ``if0all``, ``none``), whether double-zero
        studies are dropped, and for ``GEN`` rows given as estimate and CI whether they are ratios.
    weights
        User weights of the pooled estimate, one per study of ``data`` (metafor's ``weights``);
        the GENQ and GENQM estimators use them for tau^2 too.
    q_from
        ``iv`` (default), or ``mh``: a DerSimonian-Laird random-effects model of 2x2 tables takes
        tau^2 from the heterogeneity statistic around the Mantel-Haenszel estimate (RevMan's
        "M-H, Random").
    tau2_options
        Options of the tau^2 estimator (``start`` for SJ; ``weights`` for GENQ).
    scale_name, unit
        What the numbers are and their unit, for display ("Mean difference", "points").
    correct
        Continuity correction (0.5) of the Cochran-Mantel-Haenszel and Cochran tests reported
        with a Mantel-Haenszel fit (metafor's ``rma.mh(correct=)``; default True).
    warn_excluded
        Warn (:class:`~metafuse.exceptions.ExcludedStudyWarning`) for each study left out (no
        data, or not estimable for the measure). Either way the result lists them in
        ``excluded`` and in the studies' ``note``.

    Returns
    -------
    PooledResult
        The pooled estimate, heterogeneity and each study's contribution, on the analysis
        scale; ``print`` it, or see its ``to_dict()``, ``to_frame()`` and ``conf_int()``.

    Raises
    ------
    DataError
        Invalid data (the message names row and column).
    ValueError
        An unknown measure or method, or an option out of range or that does not apply.
    """
    conv = get_convention(convention)
    if isinstance(data, EffectSizes):
        effects = data
        measure = normalise_measure(measure or effects.measure)
        method = normalise_method(conv.method if method is None else method, measure)
    else:
        if measure is None:
            raise ValueError(f"give the measure of the data ({', '.join(MEASURES)})")
        measure = normalise_measure(measure)
        method = normalise_method(conv.method if method is None else method, measure)
        effects = compute_effects(
            data,
            measure,
            convention=conv.name,
            add=add,
            to=to,
            drop00=drop00,
            ratio=ratio,
            scale_name=scale_name,
            unit=unit,
            method=method,
            warn_excluded=warn_excluded,
        )
    hksj = conv.hksj and method not in TABLE_METHODS if hksj is None else bool(hksj)
    if hksj and method in TABLE_METHODS:
        raise ValueError(f"the HKSJ adjustment applies to inverse-variance models, not {method}")
    kind = conv.prediction if prediction is None else prediction
    if kind not in PREDICTION_KINDS:
        raise ValueError(f"prediction must be one of {', '.join(PREDICTION_KINDS)}, got {kind!r}")
    options = {
        "level": conv.level if level is None else check_level(level),
        "prediction": kind,
        "convention": conv.name,
        "weighted": bool(weighted),
        "tau2_options": dict(tau2_options or {}),
        "q_from": _q_from(q_from, method, measure),
        "correct": bool(correct),
    }
    if weights is not None:
        effects = with_weights(effects, weights)
    return fit_effects(effects, method, hksj, options)


def _q_from(q_from: str, method: str, measure: str) -> str:
    q_from = str(q_from).lower()
    if q_from not in ("iv", "mh"):
        raise ValueError(f"q_from must be iv or mh, got {q_from!r}")
    if q_from == "mh" and (method != "DL" or measure not in ("RR", "OR", "RD")):
        raise ValueError("q_from='mh' (RevMan's M-H, Random) needs method DL and RR, OR or RD")
    return q_from


def with_weights(effects: EffectSizes, weights: Sequence[float] | FloatArray) -> EffectSizes:
    """Return the effect sizes with user weights (finite and positive, one per study)."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size != effects.k:
        raise ValueError(f"give one weight per study ({effects.k}), got {w.size}")
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise ValueError("weights must be finite and positive")
    return dataclasses.replace(effects, weights=w.copy())


def fit_effects(
    effects: EffectSizes, method: str, hksj: bool, options: dict[str, Any]
) -> PooledResult:
    """Fit a model to effect sizes (``options``: level, prediction, convention, weighted)."""
    estimable = effects.estimable
    # metafor's rma.mh pools every table: with no table estimable as an effect size (an event in
    # every participant, or none), the Mantel-Haenszel RR/RD is still defined (0, se 0)
    every_table = method == "MH" and get_convention(options["convention"]).mh_all_tables
    if not estimable.any() and not every_table:
        raise DataError(
            f"no study is estimable for {effects.measure}: "
            + "; ".join(
                f"{s}: {n}" for s, n in zip(effects.labels, effects.notes, strict=True) if n
            )
        )
    y, v = effects.yi[estimable], effects.vi[estimable]
    user = None if effects.weights is None else effects.weights[estimable]
    tau2_options = dict(options["tau2_options"] or {})
    if method in ("GENQ", "GENQM"):
        if user is None and "weights" not in tau2_options:
            raise ValueError(f"the {method} estimator needs weights (weights=...)")
        tau2_options.setdefault("weights", user)
    if method in TABLE_METHODS:
        fit, df = fit_tables(effects, estimable, method, options), None
        weights = fit.pop("weights")
    elif options.get("q_from") == "mh":
        (fit, weights), df = fit_mh_random(effects, estimable, options), None
    else:
        iv = fit_inverse_variance(
            y,
            v,
            method,
            hksj,
            level=options["level"],
            prediction=options["prediction"],
            weighted=options["weighted"],
            tau2_options=tau2_options or None,
            weights=user,
        )
        fit, weights, df = _iv_fields(iv), iv.weights, None if np.isnan(iv.df) else int(iv.df)
        fit["tau2_se"] = _tau2_se(y, v, method, iv, tau2_options)
    _check_finite(effects, estimable, fit)
    return _assemble(effects, method, hksj, estimable, np.asarray(weights), fit, df, options)


def _tau2_se(
    y: FloatArray, v: FloatArray, method: str, iv: InverseVarianceFit, tau2_options: dict[str, Any]
) -> float | None:
    """Metafor's se.tau2 for random-effects fits of at least 2 studies."""
    from metafuse.engine.problem import Problem
    from metafuse.engine.tau2_se import tau2_standard_error

    if method in ("FE", "EE") or len(y) < 2:
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
    method: str,
    hksj: bool,
    estimable: BoolArray,
    weights: FloatArray,
    fit: dict[str, Any],
    df: int | None,
    options: dict[str, Any],
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
    all_options = {**effects.options, **options}
    return PooledResult(
        measure=effects.measure,
        method=method,
        hksj=bool(hksj),
        k=k,
        Q_df=max(k - 1, 0),
        studies=studies,
        df=df,
        excluded=excluded,
        options=MappingProxyType(all_options),
        version=__version__,
        effects=effects,
        scale=effects.scale,
        extras=MappingProxyType(dict(fit.pop("extras", None) or {})),
        **{name: clean(value) for name, value in fit.items()},
    )


def refit(
    result: PooledResult,
    keep: Sequence[bool] | Sequence[int] | BoolArray | None = None,
    *,
    effects: EffectSizes | None = None,
    method: str | None = None,
    hksj: bool | None = None,
) -> PooledResult:
    """Refit a result's model on a subset of its studies, or on other effect sizes.

    Parameters
    ----------
    result : PooledResult
        The model (measure, method, options) to refit.
    keep : array_like of bool or int, optional
        The studies to keep (boolean mask or positions); default all.
    effects : EffectSizes, optional
        Other effect sizes to fit instead.
    method : str, optional
        Another method (default: the result's).
    hksj : bool, optional
        The HKSJ adjustment (default: the result's, for inverse-variance methods).

    Returns
    -------
    PooledResult
        The refitted model.
    """
    if effects is None:
        if result.effects is None:
            raise ValueError("this result does not carry its effect sizes")
        effects = result.effects if keep is None else result.effects.subset(keep)
    method = result.method if method is None else method
    hksj = (result.hksj and method not in TABLE_METHODS) if hksj is None else hksj
    options = {
        key: result.options[key]
        for key in (
            "level",
            "prediction",
            "convention",
            "weighted",
            "tau2_options",
            "q_from",
            "correct",
        )
        if key in result.options
    }
    options.setdefault("level", 0.95)
    options.setdefault("prediction", "t(k-2)")
    options.setdefault("convention", "metafuse")
    options.setdefault("weighted", True)
    options.setdefault("tau2_options", {})
    if method != "DL":
        options["q_from"] = "iv"
    return fit_effects(effects, method, hksj, options)
