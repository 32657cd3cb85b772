"""A review's vocabulary, read from ``review.toml`` in its studies folder.

The vocabulary is data: the comparisons (label, experimental and control arms, PICO), the outcomes
(key, label, type, measure, unit, range and direction, minimal important difference with its
source) and the follow-up windows. The library holds no word of any clinical field; a second review
is a second folder with its own ``review.toml``. Errors name the file and key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal

from metafuse.exceptions import DataError, SpecError
from metafuse.files import read_regular_text

if TYPE_CHECKING:
    from metafuse.bayes.priors import TauPrior

FILE_NAME: Final = "review.toml"
OUTCOME_TYPES: Final = ("continuous", "binary")
BETTER: Final = ("lower", "higher")


@dataclass(frozen=True)
class Comparison:
    """One comparison: experimental (``exp``) against control (``ctrl``) arms, with its PICO."""

    key: str
    label: str
    experimental: str
    control: str
    population: str = ""
    setting: str = ""
    intervention: str = ""
    comparator: str = ""


@dataclass(frozen=True)
class Outcome:
    """One outcome: continuous outcomes pool mean differences (MD), binary ones risk ratios (RR)."""

    key: str
    label: str
    type: Literal["continuous", "binary"]
    short: str = ""
    unit: str = ""
    #: Declared range of the scale (continuous), e.g. (0, 100); values outside are errors.
    range: tuple[float, float] | None = None
    better: Literal["lower", "higher"] = "lower"
    #: Minimal important difference (scale units) and its source, for GRADE imprecision.
    mid: float | None = None
    mid_source: str = ""
    #: Comparisons the outcome applies to (empty: all).
    comparisons: tuple[str, ...] = ()
    #: Heterogeneity prior of Bayesian analyses of this outcome (``[outcomes.X.tau_prior]``:
    #: kind, its parameters, source); None: the default for binary outcomes (log RR), none for
    #: continuous ones (see :meth:`bayes_prior`).
    tau_prior: Mapping[str, Any] | None = None

    def bayes_prior(self) -> tuple[TauPrior, str] | None:
        """The tau prior of Bayesian analyses and its source: the declared one, else for binary
        outcomes (log risk ratios) a half-normal prior with scale 0.5 (Röver 2020, J Stat Softw
        93(6), p.20, used there for log odds ratios); None for a continuous
        outcome without a declared prior (its scale has no default)."""
        from metafuse.bayes.priors import tau_prior

        if self.tau_prior is not None:
            raw = dict(self.tau_prior)
            source = str(raw.pop("source"))
            kind = raw.pop("kind")
            return tau_prior(kind, raw.pop("scale", None), **raw), source
        if self.is_binary:
            return (
                tau_prior("half-normal", 0.5),
                "Röver 2020 (J Stat Softw 93(6), p.20), where it confines the heterogeneity of "
                "log odds ratios to tau <= 0.98 with 95% probability",
            )
        return None

    @property
    def measure(self) -> str:
        """The arm-level measure: MD for continuous, RR for binary outcomes."""
        return "MD" if self.type == "continuous" else "RR"

    @property
    def is_binary(self) -> bool:
        """True for binary outcomes."""
        return self.type == "binary"

    @property
    def scale_name(self) -> str:
        """'Mean difference' or 'Risk ratio'."""
        return "Mean difference" if self.type == "continuous" else "Risk ratio"

    def applies_to(self, comparison: str) -> bool:
        """True if the outcome belongs to ``comparison``."""
        return not self.comparisons or comparison in self.comparisons


@dataclass(frozen=True)
class Window:
    """A follow-up window: months ``[low, high]``, or each trial's longest follow-up."""

    key: str
    label: str
    months: tuple[float, float] | None = None

    @property
    def is_longest(self) -> bool:
        """True for the window that takes each trial's longest time point."""
        return self.months is None

    def contains(self, months: float) -> bool:
        """True if a time point (months) lies in a bounded window."""
        if self.months is None or math.isnan(months):
            return False
        return self.months[0] <= months <= self.months[1]


@dataclass(frozen=True)
class Review:
    """A review's vocabulary (see the module docstring)."""

    path: Path
    title: str
    comparisons: Mapping[str, Comparison]
    outcomes: Mapping[str, Outcome]
    windows: Mapping[str, Window]
    #: Designs accepted in trials.csv, with the GRADE starting level of each.
    designs: Mapping[str, str] = field(default_factory=dict)

    def outcome(self, key: str) -> Outcome:
        """The outcome called ``key``."""
        return self.outcomes[key]

    def bounded_windows(self) -> list[Window]:
        """The windows with month limits (all but 'longest')."""
        return [w for w in self.windows.values() if not w.is_longest]


#: Designs and where GRADE starts them, when the review does not declare its own.
DEFAULT_DESIGNS: Final = {
    "RCT": "high",
    "quasi-randomised": "high",
    "randomisation not verified": "high",
    "not verified (no source found)": "high",
    "cohort": "low",
    "case-control": "low",
}


def _fail(path: Path, key: str, message: str) -> SpecError:
    return SpecError(f"{path}: {key}: {message}")


def _text(raw: Mapping[str, Any], key: str, where: str, path: Path, *, required: bool) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(path, f"{where}.{key}", "needs a text value" if required else "must be text")
    return value.strip()


def _range(raw: Any, where: str, path: Path) -> tuple[float, float] | None:
    if raw is None:
        return None
    ok = (
        isinstance(raw, list)
        and len(raw) == 2
        and all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in raw
        )
        and raw[0] < raw[1]
    )
    if not ok:
        raise _fail(path, f"{where}", "must be [low, high] with low < high")
    return float(raw[0]), float(raw[1])


def _comparison(key: str, raw: Any, path: Path) -> Comparison:
    where = f"comparisons.{key}"
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table")
    texts = {
        k: _text(raw, k, where, path, required=k in ("label", "experimental", "control"))
        for k in (
            "label",
            "experimental",
            "control",
            "population",
            "setting",
            "intervention",
            "comparator",
        )
    }
    unknown = sorted(set(raw) - set(texts))
    if unknown:
        raise _fail(path, f"{where}.{unknown[0]}", "unknown key")
    return Comparison(key=key, **texts)


def _outcome(key: str, raw: Any, path: Path, comparisons: Mapping[str, Comparison]) -> Outcome:
    where = f"outcomes.{key}"
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table")
    allowed = {
        "label",
        "type",
        "short",
        "unit",
        "range",
        "better",
        "mid",
        "mid_source",
        "comparisons",
        "tau_prior",
    }
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(path, f"{where}.{unknown[0]}", "unknown key")
    kind = raw.get("type")
    if kind not in OUTCOME_TYPES:
        raise _fail(path, f"{where}.type", f"must be one of {', '.join(OUTCOME_TYPES)}")
    better = raw.get("better", "lower")
    if better not in BETTER:
        raise _fail(path, f"{where}.better", "must be lower or higher")
    mid = raw.get("mid")
    if mid is not None and (
        isinstance(mid, bool)
        or not isinstance(mid, int | float)
        or not math.isfinite(mid)
        or mid <= 0
    ):
        raise _fail(path, f"{where}.mid", "must be a positive number")
    source = _text(raw, "mid_source", where, path, required=mid is not None)
    comps = raw.get("comparisons", [])
    if not isinstance(comps, list) or any(c not in comparisons for c in comps):
        raise _fail(
            path, f"{where}.comparisons", f"must list comparisons among {', '.join(comparisons)}"
        )
    return Outcome(
        key=key,
        label=_text(raw, "label", where, path, required=True),
        type=kind,
        short=_text(raw, "short", where, path, required=False),
        unit=_text(raw, "unit", where, path, required=False),
        range=_range(raw.get("range"), f"{where}.range", path),
        better=better,
        mid=None if mid is None else float(mid),
        mid_source=source,
        comparisons=tuple(comps),
        tau_prior=_tau_prior(raw.get("tau_prior"), f"{where}.tau_prior", path),
    )


#: Keys of an outcome's [tau_prior] table besides kind and source.
TAU_PRIOR_KEYS = ("scale", "df", "log_tau2_mean", "log_tau2_sd", "outcome", "comparison")


def _tau_prior(raw: Any, where: str, path: Path) -> Mapping[str, Any] | None:
    """A declared heterogeneity prior, checked by building it (kind, parameters, source)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table (kind = ..., scale = ..., source = ...)")
    unknown = sorted(set(raw) - {"kind", "source", *TAU_PRIOR_KEYS})
    if unknown:
        raise _fail(path, f"{where}.{unknown[0]}", "unknown key")
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        raise _fail(path, f"{where}.source", "a prior needs its source (who recommends it, where)")
    from metafuse.bayes.priors import tau_prior

    params = {k: raw[k] for k in TAU_PRIOR_KEYS if k in raw and k != "scale"}
    try:
        tau_prior(str(raw.get("kind")), raw.get("scale"), **params)
    except (ValueError, TypeError) as err:
        raise _fail(path, where, str(err)) from None
    return MappingProxyType(dict(raw))


def _window(key: str, raw: Any, path: Path) -> Window:
    where = f"windows.{key}"
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table")
    unknown = sorted(set(raw) - {"label", "months", "longest"})
    if unknown:
        raise _fail(path, f"{where}.{unknown[0]}", "unknown key")
    label = _text(raw, "label", where, path, required=True)
    if raw.get("longest") is True:
        if "months" in raw:
            raise _fail(path, f"{where}.months", "a longest-follow-up window has no months")
        return Window(key, label, None)
    months = _range(raw.get("months"), f"{where}.months", path)
    if months is None:
        raise _fail(path, f"{where}.months", "give months = [low, high] (or longest = true)")
    return Window(key, label, months)


def _section(raw: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    table = raw.get(name)
    if not isinstance(table, dict) or not table:
        raise _fail(path, name, f"declare at least one [{name}.<key>] table")
    return table


def load_review(folder: str | Path) -> Review:
    """Read ``review.toml`` from a studies folder; errors name the file and key."""
    path = Path(folder) / FILE_NAME
    if not path.exists():
        raise SpecError(
            f"{path}: missing: a studies folder needs its {FILE_NAME} (the review's "
            "comparisons, outcomes and follow-up windows)"
        )
    try:
        raw = tomllib.loads(read_regular_text(path))  # never blocks on a FIFO
    except DataError as err:
        raise SpecError(f"{path}: cannot read: {err.message}") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: cannot read: {err}") from None
    unknown = sorted(set(raw) - {"title", "comparisons", "outcomes", "windows", "designs"})
    if unknown:
        raise _fail(path, unknown[0], "unknown key")
    comparisons = {
        k: _comparison(k, v, path) for k, v in _section(raw, "comparisons", path).items()
    }
    outcomes = {
        k: _outcome(k, v, path, comparisons) for k, v in _section(raw, "outcomes", path).items()
    }
    windows = {k: _window(k, v, path) for k, v in _section(raw, "windows", path).items()}
    designs = raw.get("designs", DEFAULT_DESIGNS)
    if not isinstance(designs, dict) or any(v not in ("high", "low") for v in designs.values()):
        raise _fail(path, "designs", "must map each design to its GRADE start, high or low")
    title = raw.get("title", "")
    if not isinstance(title, str):
        raise _fail(path, "title", "must be text")
    return Review(
        path=path,
        title=title,
        comparisons=comparisons,
        outcomes=outcomes,
        windows=windows,
        designs=dict(designs),
    )
