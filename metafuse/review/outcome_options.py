"""An outcome's analysis options in ``review.toml``.

An outcome's analysis options in ``review.toml``: the protocol's effect measure and pooling method,
and the heterogeneity prior of its Bayesian analyses. Errors name the file and key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from metafuse.exceptions import ModelError, SpecError
from metafuse.measures import BINARY_MEASURES, CONTINUOUS_MEASURES, PETO_MEASURES, TABLE_METHODS
from metafuse.model import RATIO_MEASURES as MODEL_RATIO_MEASURES
from metafuse.model import Model

#: Effect measures an outcome may declare, per type; the first is the default.
OUTCOME_MEASURES: Final = {"binary": BINARY_MEASURES, "continuous": CONTINUOUS_MEASURES}
#: Ratio measures: pooled on the log scale, shown as ratios.
RATIO_MEASURES: Final = frozenset(MODEL_RATIO_MEASURES)
#: What each measure is called in tables and figures.
MEASURE_NAMES: Final = {
    "RR": "Risk ratio",
    "OR": "Odds ratio",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
}
#: The default pooling method of an outcome: metafuse's (random effects, REML tau^2).
DEFAULT_METHOD: Final = Model().method


def _fail(path: Path, key: str, message: str) -> SpecError:
    return SpecError(f"{path}: {key}: {message}")


def measure_and_method(
    raw: Mapping[str, Any], kind: str, where: str, path: Path
) -> tuple[str, str]:
    """Return the protocol's effect measure (one of the type's) and pooling method of an outcome."""
    allowed = OUTCOME_MEASURES[kind]
    measure = raw.get("measure", allowed[0])
    if not isinstance(measure, str) or measure.strip().upper() not in allowed:
        raise _fail(path, f"{where}.measure", f"a {kind} outcome pools {', '.join(allowed)}")
    measure = measure.strip().upper()
    method = raw.get("method", DEFAULT_METHOD)
    if not isinstance(method, str):
        raise _fail(path, f"{where}.method", "must be text (REML, DL, FE, MH, PETO, ...)")
    try:
        method = Model(measure, method).method
    except ModelError as err:
        raise _fail(path, f"{where}.method", err.message) from None
    if method in TABLE_METHODS and kind != "binary":
        raise _fail(path, f"{where}.method", f"{method} pools 2x2 tables of binary outcomes")
    return measure, method


#: Keys of an outcome's [tau_prior] table besides kind and source.
TAU_PRIOR_KEYS = ("scale", "df", "log_tau2_mean", "log_tau2_sd", "outcome", "comparison")
#: Measures a declared prior may name (``[tau_prior] measure``): it is used for that one only.
PRIOR_MEASURES = BINARY_MEASURES + CONTINUOUS_MEASURES + PETO_MEASURES


def tau_prior_table(raw: Any, where: str, path: Path) -> Mapping[str, Any] | None:
    """Return a declared heterogeneity prior, checked by building it (kind, parameters, source)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table (kind = ..., scale = ..., source = ...)")
    unknown = sorted(set(raw) - {"kind", "source", "measure", *TAU_PRIOR_KEYS})
    if unknown:
        raise _fail(path, f"{where}.{unknown[0]}", "unknown key")
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        raise _fail(path, f"{where}.source", "a prior needs its source (who recommends it, where)")
    from metafuse.bayes.priors import tau_prior

    if "measure" in raw and raw["measure"] not in PRIOR_MEASURES:
        raise _fail(path, f"{where}.measure", f"must be one of {', '.join(PRIOR_MEASURES)}")
    params = {k: raw[k] for k in TAU_PRIOR_KEYS if k in raw and k != "scale"}
    try:
        tau_prior(str(raw.get("kind")), raw.get("scale"), **params)
    except (ValueError, TypeError) as err:
        raise _fail(path, where, str(err)) from None
    return MappingProxyType(dict(raw))
