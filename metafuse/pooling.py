"""Pooling: fixed effect (inverse variance), Mantel-Haenszel, Peto and random-effects models.

:func:`pool` is the public entry point: study data (a DataFrame) or
:class:`~metafuse.results.EffectSizes` in, with a :class:`~metafuse.model.Model` (or its options
as keyword arguments), an immutable :class:`~metafuse.results.PooledResult` out, which carries
its effect sizes and its model so that :func:`refit` can refit it on a subset. The statistics are
the engine's (:mod:`metafuse.engine`, :mod:`metafuse.fitting`); this module only assembles.

References
----------
DerSimonian R, Laird N (1986). Control Clin Trials 7:177-188.
Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
Viechtbauer W (2010). J Stat Softw 36(3) (metafor, whose results these reproduce).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from metafuse._arrays import BoolArray, FloatArray
from metafuse.data.validate import prepare_studies
from metafuse.effects.compute import study_effects
from metafuse.exceptions import DataError, ExcludedStudyWarning, ModelError
from metafuse.fitting import fit_effects, with_weights
from metafuse.model import MEASURES, TABLE_METHODS, Model
from metafuse.results import EffectSizes, PooledResult

#: Effect-size options a model has that the effect sizes record (``EffectSizes.options``).
EFFECT_FACTS = ("add", "to", "drop00")


def model_of(
    measure: str | Model | None = None, model: Model | None = None, **options: Any
) -> Model:
    """Return the model of a call: ``model`` (or a default one) with the options given changed.

    The one place where keyword options become a :class:`~metafuse.model.Model`: options given
    as None are not given (the model's, or its convention's, stand).

    Parameters
    ----------
    measure : str or Model, optional
        The effect measure, or the model itself.
    model : Model, optional
        The model to start from (default: ``Model()``, metafuse's defaults).
    **options
        Options of the model (its fields, or ``tau2_options``).

    Returns
    -------
    Model
        The model.
    """
    if isinstance(measure, Model):
        if model is not None:
            raise TypeError("give the model once (as the second argument or as model=)")
        model, measure = measure, None
    changes = {"measure": measure, **options}
    if model is None:
        return Model(**{key: value for key, value in changes.items() if value is not None})
    if not isinstance(model, Model):
        raise TypeError(f"model must be a metafuse.Model, got {type(model).__name__}")
    return model.replace(**changes)


def fitted_to(effects: EffectSizes, model: Model, *, strict: bool = True) -> Model:
    """Return ``model`` with the measure and the zero-cell options the effect sizes were made with.

    Parameters
    ----------
    effects : EffectSizes
        The effect sizes the model is fitted to.
    model : Model
        The model.
    strict : bool, optional
        Refuse a measure or a zero-cell option given in the model that the effect sizes do not
        have (they would have to be computed again).

    Returns
    -------
    Model
        The model as fitted.
    """
    facts = {key: effects.options[key] for key in EFFECT_FACTS if key in effects.options}
    if strict:
        if model.measure is not None and model.measure != effects.measure:
            raise ModelError(
                "measure", f"the effect sizes are {effects.measure}, not {model.measure}"
            )
        for key, value in facts.items():
            if key in model.given and getattr(model, key) != value:
                raise ModelError(
                    key,
                    f"the effect sizes were computed with {key}={value!r}; compute them again "
                    f"(compute_effects) for {key}={getattr(model, key)!r}",
                )
    changed = {key: value for key, value in facts.items() if getattr(model, key) != value}
    return model.replace(measure=effects.measure, **changed)


def compute_effects(
    data: pd.DataFrame,
    measure: str | Model | None = None,
    *,
    model: Model | None = None,
    ratio: bool = False,
    scale_name: str | None = None,
    unit: str | None = None,
    warn_excluded: bool = True,
    **options: Any,
) -> EffectSizes:
    """Compute the validated effect sizes of the studies in ``data`` (metafor's ``escalc``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per study (the columns of :func:`pool`).
    measure : str or Model
        The effect measure, or the model (whose measure, convention and zero-cell options apply).
    model : Model, optional
        The model, if not given as ``measure``.
    ratio : bool, optional
        ``GEN`` rows given as estimate and CI are ratios.
    scale_name, unit : str, optional
        What the numbers are and their unit, for display.
    warn_excluded : bool, optional
        Warn (ExcludedStudyWarning) for each study without data or not estimable; either way
        they are kept in ``excluded`` and ``notes`` with the reason.
    **options
        Options of the model (:class:`~metafuse.model.Model`): ``convention``, ``add``, ``to``,
        ``drop00``, and ``method`` (whose convention may set the double-zero rule).

    Returns
    -------
    EffectSizes
        ``yi`` and ``vi`` on the analysis scale, with each study's input values.
    """
    spec = model_of(measure, model, **options)
    if spec.measure is None:
        raise ValueError(f"give the measure of the data ({', '.join(MEASURES)})")
    return _effects(data, spec, ratio, scale_name, unit, warn_excluded)


def _effects(
    data: pd.DataFrame,
    model: Model,
    ratio: bool,
    scale_name: str | None,
    unit: str | None,
    warn_excluded: bool,
) -> EffectSizes:
    measure = str(model.measure)
    table = prepare_studies(data, measure, ratio=ratio, warn_excluded=warn_excluded)
    if not table.study:
        raise DataError("no study has data to pool")
    effects = study_effects(
        table, ratio=ratio, scale_name=scale_name, unit=unit, **model.effect_options()
    )
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
    measure: str | Model | None = None,
    method: str | None = None,
    hksj: bool | None = None,
    *,
    model: Model | None = None,
    weights: Sequence[float] | FloatArray | None = None,
    ratio: bool = False,
    scale_name: str | None = None,
    unit: str | None = None,
    warn_excluded: bool = True,
    **options: Any,
) -> PooledResult:
    """Pool the studies in ``data`` and return an immutable :class:`PooledResult`.

    ``pool(data, model)`` fits a :class:`~metafuse.model.Model`; ``pool(data, "RR", "REML",
    hksj=True, level=0.9)`` builds the model from its options (the convention's defaults for the
    others); both at once change the model's options. The result carries its model
    (``result.model``).

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
        effect sizes when they are given. Or the :class:`~metafuse.model.Model`.
    method
        ``FE`` (alias ``EE``), ``MH``, ``PETO`` or a random-effects tau^2 estimator: ``DL``,
        ``REML``, ``ML``, ``PM``, ``HE``, ``SJ``, ``EB``, ``HS``, ``HSK``, ``DL2``, ``CA2``,
        ``PMM``, ``GENQ``, ``GENQM`` (the last two with ``weights``). Default: the convention's
        (REML for metafuse and metafor, DL for RevMan 5).
    hksj
        Hartung-Knapp-Sidik-Jonkman adjustment (inverse-variance models only).
    model
        The model to fit (:class:`~metafuse.model.Model`; default: metafuse's defaults).
    weights
        User weights of the pooled estimate, one per study of ``data`` (metafor's ``weights``);
        the GENQ and GENQM estimators use them for tau^2 too.
    ratio
        For ``GEN`` rows given as estimate and CI: whether they are ratios (a description of the
        data, not of the model).
    scale_name, unit
        What the numbers are and their unit, for display ("Mean difference", "points").
    warn_excluded
        Warn (:class:`~metafuse.exceptions.ExcludedStudyWarning`) for each study left out (no
        data, or not estimable for the measure). Either way the result lists them in
        ``excluded`` and in the studies' ``note``.
    **options
        Any other option of the model (a field of :class:`~metafuse.model.Model`):
        ``convention`` (``metafuse``, ``metafor``, ``revman5``, ``revman-web``: the defaults of
        that tool, :mod:`metafuse.conventions`; explicit options win), ``level`` (default 0.95),
        ``prediction`` (``t(k-2)``, ``z``, ``t(k-1)``, ``none``), ``weighted`` (False: the
        unweighted mean), ``add``, ``to`` (``only0``, ``all``, ``if0all``, ``none``) and
        ``drop00`` (zero cells and double-zero studies of 2x2 tables), ``q_from`` (``mh``:
        RevMan's "M-H, Random"), ``correct`` (continuity correction of the CMH and Cochran
        tests), ``tau2``, ``tau2_start``, ``tau2_weights`` or ``tau2_options`` (tau^2 fixed,
        SJ's start value, GENQ's weights).

    Returns
    -------
    PooledResult
        The pooled estimate, heterogeneity and each study's contribution, on the analysis
        scale; ``print`` it, or see its ``to_dict()``, ``to_frame()``, ``conf_int()`` and
        ``model``.

    Raises
    ------
    DataError
        Invalid data (the message names row and column).
    ModelError
        An unknown measure or method, or an option out of range or that does not apply (a
        ``ValueError`` naming the option).
    """
    spec = model_of(measure, model, method=method, hksj=hksj, **options)
    if isinstance(data, EffectSizes):
        effects = data
        spec = fitted_to(effects, spec)
    else:
        if spec.measure is None:
            raise ValueError(f"give the measure of the data ({', '.join(MEASURES)})")
        effects = _effects(data, spec, ratio, scale_name, unit, warn_excluded)
    if weights is not None:
        effects = with_weights(effects, weights)
    return fit_effects(effects, spec)


def refit(
    result: PooledResult,
    keep: Sequence[bool] | Sequence[int] | BoolArray | None = None,
    *,
    effects: EffectSizes | None = None,
    model: Model | None = None,
    method: str | None = None,
    hksj: bool | None = None,
) -> PooledResult:
    """Refit a result's model on a subset of its studies, or on other effect sizes.

    Parameters
    ----------
    result : PooledResult
        The fit whose model and effect sizes are refitted.
    keep : array_like of bool or int, optional
        The studies to keep (boolean mask or positions); default all.
    effects : EffectSizes, optional
        Other effect sizes to fit instead.
    model : Model, optional
        Another model (default: the result's).
    method : str, optional
        Another method (the HKSJ adjustment and RevMan's "M-H, Random" are kept where they
        apply to it).
    hksj : bool, optional
        The HKSJ adjustment (default: the model's, for inverse-variance methods).

    Returns
    -------
    PooledResult
        The refitted model.
    """
    if effects is None:
        if result.effects is None:
            raise ValueError("this result does not carry its effect sizes")
        effects = result.effects if keep is None else result.effects.subset(keep)
    base = result.model if model is None else model
    changes: dict[str, Any] = {"method": method, "hksj": hksj}
    if method is not None:
        code = model_of(method=method).method
        if hksj is None and base.hksj and code in TABLE_METHODS:
            changes["hksj"] = False
        if code != "DL" and base.q_from != "iv":
            changes["q_from"] = "iv"
    return fit_effects(effects, fitted_to(effects, base.replace(**changes), strict=False))
