"""Checking and completing the options of a model, and listing them for the CLI and specs.

How the options of a :class:`~metafuse.model.Model` are checked and completed, and how the command
line and analysis specs see them.

:func:`resolve` is the one check of a model's options (called when a model is built): each value
given is checked against the vocabularies of :mod:`metafuse.model`, the others are filled in from
the convention. :func:`option_infos` lists the options with their help text and choices, from
which the command-line options (:mod:`metafuse.cli.common`) and the spec keys
(:mod:`metafuse.pipeline.spec`) are generated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

from metafuse.exceptions import ModelError
from metafuse.model import (
    BINARY_MEASURES,
    PREDICTION_KINDS,
    Q_FROM,
    TABLE_METHODS,
    TAU2_OPTION_FIELDS,
    ZERO_CELL_RULES,
    Model,
)


def _choice(name: str, value: object, choices: tuple[str, ...], fold: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else value
    if fold and isinstance(text, str):
        text = text.lower()
    if text not in choices:
        raise ModelError(name, f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return str(text)


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy's booleans too
        return bool(value)
    raise ModelError(name, f"{name} must be true or false, got {type(value).__name__} {value!r}")


def _number(name: str, value: object) -> float:
    real = isinstance(value, int | float) and not isinstance(value, bool)
    numpy_real = type(value).__module__ == "numpy" and type(value).__name__.startswith(
        ("float", "int")
    )
    number = float(value) if real or numpy_real else math.nan  # type: ignore[arg-type]
    if not (math.isfinite(number) and number >= 0):
        raise ModelError(name, f"{name} must be a finite number >= 0, got {value!r}")
    return number


def _weights(value: object) -> tuple[float, ...]:
    try:
        out = tuple(float(w) for w in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ModelError("tau2_weights", f"tau2_weights must be numbers, got {value!r}") from None
    if not all(math.isfinite(w) for w in out):
        raise ModelError("tau2_weights", "tau2_weights must be finite numbers")
    return out


def _checked(name: str, check: Callable[[Any], Any], value: Any) -> Any:
    """``check(value)`` with its ValueError as a :class:`ModelError` of ``name`` (None passes)."""
    if value is None:
        return None
    try:
        return check(value)
    except ValueError as err:
        raise ModelError(name, str(err)) from None


def tau2_fields(options: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Return the fields set by a ``tau2_options`` mapping (``tau2``, ``start``, ``weights``).

    Parameters
    ----------
    options : mapping
        The tau^2 options by the engine's names.
    given : mapping
        The other options given (a field may not be given twice).

    Returns
    -------
    dict
        Field name to value.
    """
    if not isinstance(options, Mapping):
        raise ModelError("tau2_options", f"tau2_options must be a mapping, got {options!r}")
    out = {}
    for key, value in options.items():
        name = TAU2_OPTION_FIELDS.get(key)
        if name is None:
            known = ", ".join(TAU2_OPTION_FIELDS)
            raise ModelError("tau2_options", f"unknown tau^2 option {key!r}; use {known}")
        if name in given:
            raise ModelError(name, f"{name} is given twice (also as tau2_options[{key!r}])")
        if value is not None:
            out[name] = value
    return out


def resolve(given: Mapping[str, Any]) -> dict[str, Any]:
    """Check the options given and fill in the others from the convention.

    Parameters
    ----------
    given : mapping
        Field name to value, for the options given.

    Returns
    -------
    dict
        Every field of the model.
    """
    from metafuse.conventions import get_convention
    from metafuse.measures import check_level, normalise_measure, normalise_method

    conv = _checked("convention", get_convention, given.get("convention", "metafuse"))
    out: dict[str, Any] = {"convention": conv.name}
    out["measure"] = measure = _checked("measure", normalise_measure, given.get("measure"))
    out["method"] = method = _checked(
        "method", lambda m: normalise_method(m, measure), given.get("method", conv.method)
    )
    table = method in TABLE_METHODS
    out["hksj"] = _flag("hksj", given["hksj"]) if "hksj" in given else conv.hksj and not table
    if out["hksj"] and table:
        raise ModelError(
            "hksj", f"the HKSJ adjustment applies to inverse-variance models, not {method}"
        )
    out["level"] = _checked("level", check_level, given.get("level", conv.level))
    out["prediction"] = _choice(
        "prediction", given.get("prediction", conv.prediction), PREDICTION_KINDS
    )
    out["add"] = _number("add", given.get("add", conv.add))
    out["to"] = given.get("to", conv.to)
    if out["to"] not in ZERO_CELL_RULES:
        raise ModelError(
            "to",
            f"unknown continuity-correction rule to={out['to']!r}; use "
            f"{', '.join(ZERO_CELL_RULES[:-1])} or {ZERO_CELL_RULES[-1]}",
        )
    if "drop00" in given:
        out["drop00"] = _flag("drop00", given["drop00"])
    else:
        out["drop00"] = None if measure is None else conv.drop00(measure, method)
    out["q_from"] = _choice("q_from", given.get("q_from", Q_FROM[0]), Q_FROM, fold=True)
    if out["q_from"] == "mh" and (
        method != "DL" or (measure is not None and measure not in BINARY_MEASURES)
    ):
        raise ModelError(
            "q_from", "q_from='mh' (RevMan's M-H, Random) needs method DL and RR, OR or RD"
        )
    out["weighted"] = _flag("weighted", given.get("weighted", True))
    out["correct"] = _flag("correct", given.get("correct", True))
    for name in ("tau2", "tau2_start"):
        out[name] = _number(name, given[name]) if name in given else None
    out["tau2_weights"] = _weights(given["tau2_weights"]) if "tau2_weights" in given else None
    return out


@dataclass(frozen=True)
class OptionInfo:
    """One option of a model as the command line or a spec sees it."""

    name: str
    help: str
    #: "choice" (one of ``choices``), "flag" (``off``: the name that turns it off), "number"
    #: or "numbers".
    kind: str
    choices: tuple[str, ...] = ()
    off: str | None = None


def option_infos(where: Literal["cli", "spec"]) -> Iterator[OptionInfo]:
    """Yield the options of the model that are command-line options, or spec keys.

    Parameters
    ----------
    where : {"cli", "spec"}
        Which.

    Yields
    ------
    OptionInfo
        Name, help text, kind and choices of each option, in field order.
    """
    hints = get_type_hints(Model)
    for f in fields(Model):
        if not f.init or not f.metadata.get(where):
            continue
        hint, args = hints[f.name], get_args(hints[f.name])
        if get_origin(hint) is not Literal and type(None) in args:  # an optional option
            hint = next(a for a in args if a is not type(None))
        if get_origin(hint) is Literal:
            kind, choices = "choice", tuple(get_args(hint))
        else:
            kind, choices = {bool: "flag", float: "number"}.get(hint, "numbers"), ()
        yield OptionInfo(f.name, f.metadata["help"], kind, choices, f.metadata["off"])
