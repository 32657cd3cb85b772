"""A review's vocabulary, read from ``review.toml`` in its studies folder.

The vocabulary is data: the review's title, the comparisons (label, experimental and control arms,
PICO), the outcomes (key, label, type, the protocol's effect measure and pooling method, unit,
range and direction, minimal important difference with its source), the follow-up windows and the
harms (:mod:`metafuse.review.harm_declarations`). The library holds no word of any clinical field;
a second review is a second folder with its own ``review.toml``. Errors name the file and key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from metafuse.exceptions import DataError, SpecError
from metafuse.files import read_regular_text
from metafuse.review import panel
from metafuse.review.harm_declarations import Harm, read_harms_declaration
from metafuse.review.outcome_options import (
    DEFAULT_METHOD,
    MEASURE_NAMES,
    OUTCOME_MEASURES,
    RATIO_MEASURES,
    measure_and_method,
    tau_prior_table,
)

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
    """One outcome: its type and the effect measure and method its analyses pool with.

    One outcome: its type and the effect measure and method its analyses pool with (by default mean
    differences (MD) for continuous and risk ratios (RR) for binary outcomes, with REML random
    effects; the protocol's choice when ``review.toml`` declares ``measure`` and ``method``).
    """

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
    #: Effect measure of the outcome's analyses: RR, OR or RD (binary), MD or SMD (continuous);
    #: empty: the type's default (RR or MD).
    measure: str = ""
    #: Pooling method of the outcome's automatic analyses (REML, DL, FE, MH, PETO, ...).
    method: str = DEFAULT_METHOD
    #: GRADE decisions (see :mod:`metafuse.review.panel`): importance (critical, important, of
    #: limited importance), harm (an adverse outcome), the binary threshold per 1000, assumed
    #: comparator risks by comparison ('' for all) with their sources, an alternative MID.
    importance: str = ""
    importance_source: str = ""
    harm: bool = False
    mid_per_1000: float | None = None
    baseline_risk: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    alternative_mid: float | None = None
    alternative_mid_source: str = ""

    def __post_init__(self) -> None:
        """Fill the default measure of the outcome's type."""
        if not self.measure:
            object.__setattr__(self, "measure", OUTCOME_MEASURES[self.type][0])

    def threshold(self) -> float | None:
        """Return the minimal important difference GRADE judges imprecision against.

        The minimal important difference GRADE judges imprecision against: ``mid`` on the scale
        (continuous) or ``mid_per_1000`` (binary, absolute).
        """
        return self.mid_per_1000 if self.is_binary else self.mid

    def assumed_risk(self, comparison: str) -> tuple[float, str] | None:
        """Return the declared assumed comparator risk (proportion, source) of a comparison."""
        return self.baseline_risk.get(comparison) or self.baseline_risk.get("")

    def bayes_prior(self, measure: str | None = None) -> tuple[TauPrior, str] | None:
        """Return the tau prior of Bayesian analyses on the ``measure`` scale (default.

        The tau prior of Bayesian analyses on the ``measure`` scale (default: the outcome's measure)
        and its source: the declared one when it is for that measure (``[tau_prior] measure``,
        default the outcome's measure); else for log odds ratios a half-normal prior with scale 0.5
        (Röver 2020, J Stat Softw 93(6), p.20, where it is proposed for log odds ratios); None
        otherwise (a prior stated for one scale is not applied to another, and log risk ratios have
        no sourced default).
        """
        from metafuse.bayes.priors import tau_prior

        measure = measure or self.measure
        if self.tau_prior is not None:
            raw = dict(self.tau_prior)
            source = str(raw.pop("source"))
            kind = raw.pop("kind")
            declared = str(raw.pop("measure", self.measure))
            if declared != measure:
                return None
            return tau_prior(kind, raw.pop("scale", None), **raw), source
        if measure in ("OR", "PETO"):
            return (
                tau_prior("half-normal", 0.5),
                "Röver 2020 (J Stat Softw 93(6), p.20), where it confines the heterogeneity of "
                "log odds ratios to tau <= 0.98 with 95% probability",
            )
        return None

    @property
    def is_binary(self) -> bool:
        """True for binary outcomes."""
        return self.type == "binary"

    @property
    def is_ratio(self) -> bool:
        """True when the outcome pools a ratio (RR or OR: log scale, shown as ratios)."""
        return self.measure in RATIO_MEASURES

    @property
    def is_peto(self) -> bool:
        """True for Peto's one-step odds ratio (method PETO)."""
        return self.method == "PETO"

    @property
    def scale_name(self) -> str:
        """'Mean difference', 'Risk ratio', 'Peto odds ratio', ..."""
        return "Peto odds ratio" if self.is_peto else MEASURE_NAMES[self.measure]

    @property
    def measure_label(self) -> str:
        """The measure as tables print it: 'RR', 'OR', 'Peto OR', 'RD', 'MD' or 'SMD'."""
        return "Peto OR" if self.is_peto else self.measure

    def applies_to(self, comparison: str) -> bool:
        """Return True if the outcome belongs to ``comparison``."""
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
        """Return True if a time point (months) lies in a bounded window."""
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
    #: (comparison, outcome or 'all') -> (indirectness rating, reason).
    indirectness: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: GRADE imprecision rule set and the fraction of the OIS below which it is "far below".
    grade_rules: str = "grade-2022"
    ois_far_below: float = 0.30
    #: Harms of harms.csv in declared order (``[harms.<key>]``), and their profile page.
    harms: Mapping[str, Harm] = field(default_factory=dict)
    harms_page: str = "harms"
    harms_title: str = "Harms profile"

    def indirectness_of(self, comparison: str, outcome: str) -> tuple[str, str] | None:
        """Return the recorded indirectness judgement (the outcome's own over the comparison's)."""
        return self.indirectness.get((comparison, outcome)) or self.indirectness.get(
            (comparison, "all")
        )

    def outcome(self, key: str) -> Outcome:
        """Return the outcome called ``key``."""
        return self.outcomes[key]

    def bounded_windows(self) -> list[Window]:
        """Return the windows with month limits (all but 'longest')."""
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
        "measure",
        "method",
        *panel.OUTCOME_KEYS,
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
    source = _text(
        raw,
        "mid_source",
        where,
        path,
        required=mid is not None or raw.get("mid_per_1000") is not None,
    )
    comps = raw.get("comparisons", [])
    if not isinstance(comps, list) or any(c not in comparisons for c in comps):
        raise _fail(
            path, f"{where}.comparisons", f"must list comparisons among {', '.join(comparisons)}"
        )
    measure, method = measure_and_method(raw, kind, where, path)
    return Outcome(
        key=key,
        measure=measure,
        method=method,
        label=_text(raw, "label", where, path, required=True),
        type=kind,
        short=_text(raw, "short", where, path, required=False),
        unit=_text(raw, "unit", where, path, required=False),
        range=_range(raw.get("range"), f"{where}.range", path),
        better=better,
        mid=None if mid is None else float(mid),
        mid_source=source,
        comparisons=tuple(comps),
        tau_prior=tau_prior_table(raw.get("tau_prior"), f"{where}.tau_prior", path),
        **panel.outcome_keys(raw, where, path, kind == "binary", comparisons),
    )


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
    known = {"title", "comparisons", "outcomes", "windows", "designs", "harms"}
    unknown = sorted(set(raw) - known - {"indirectness", "grade_rules"})
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
    harms = read_harms_declaration(raw.get("harms"), path, title.strip())
    rules, far_below = panel.grade_rules(raw.get("grade_rules"), path)
    return Review(
        path=path,
        title=title.strip(),
        comparisons=comparisons,
        outcomes=outcomes,
        windows=windows,
        designs=dict(designs),
        harms=harms.harms,
        harms_page=harms.page,
        harms_title=harms.title,
        indirectness=panel.indirectness(raw.get("indirectness"), path, comparisons, outcomes),
        grade_rules=rules,
        ois_far_below=far_below,
    )
