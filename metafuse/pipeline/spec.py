"""Analysis specs (``analyses/*.toml``): what to pool and how, checked key by key.

A spec either names a CSV file of study rows (``data`` + ``measure``) or selects from curated
records (``studies`` + ``comparison`` + ``outcome`` + ``window``); paths are relative to the
repository root (the parent of the spec folder) and must stay inside it (an absolute path, ``..``
or a symlink leading out is an error): a spec reads data only from its review. Analyses of
curated records exist without specs (:mod:`metafuse.pipeline.plan`); a spec adds one (a
sensitivity or subgroup analysis) or overrides one (method, GRADE judgements, exclusions). Every
error names the file and key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from metafuse.conventions import CONVENTIONS
from metafuse.engine.inverse_variance import PREDICTION_KINDS
from metafuse.exceptions import DataError, SpecError
from metafuse.files import read_regular_text
from metafuse.measures import check_level, normalise_measure, normalise_method
from metafuse.review.grade import JUDGEMENTS
from metafuse.review.panel import GRADE_KEYS

COMMON_KEYS: Final = frozenset(
    {"title", "method", "hksj", "convention", "level", "prediction", "q_from"}
)
DATA_KEYS: Final = frozenset({"data", "measure", "subgroup"})
RECORD_KEYS: Final = frozenset(
    {
        "studies",
        "comparison",
        "outcome",
        "window",
        "grade",
        "exclude",
        "exclude_weak_sources",
        "exclude_high_risk_of_bias",
        "exclude_borrowed_sd",
        "subgroup",
        "primary",
        "evidence",
    }
)
GRADE_SPEC_KEYS: Final = frozenset(
    {
        "mid",
        "mid_source",
        "assumed_risk",
        "assumed_risk_source",
        "indirectness",
        "overrides",
        "comment",
    }
)
#: A spec's stem names its output folder: a plain name, never a path.
NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
#: Output names the build writes itself; a spec may not take them (a review's harms page, named in
#: its review.toml, is checked against the specs when the build is planned).
RESERVED: Final = frozenset({"manifest", "index", "site"})
RESERVED_PREFIXES: Final = ("sof_", "evidence_profile_", "gaps", "published_")


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: where its data are and how to pool them."""

    name: str
    path: Path | None
    title: str
    method: str
    hksj: bool
    convention: str = "metafuse"
    level: float | None = None
    prediction: str | None = None
    data: Path | None = None
    measure: str | None = None
    studies: Path | None = None
    comparison: str | None = None
    outcome: str | None = None
    window: str | None = None
    #: GRADE inputs: mid/mid_source, assumed_risk/assumed_risk_source, indirectness, overrides,
    #: comment (see analyses/README.md).
    grade: Mapping[str, Any] = field(default_factory=dict)
    #: Sensitivity analysis: studies left out, each with its reason; and the reasons for leaving
    #: out all weak-source or all high-risk-of-bias trials.
    exclude: tuple[tuple[str, str], ...] = ()
    exclude_weak_sources: str | None = None
    exclude_high_risk_of_bias: str | None = None
    #: Sensitivity analysis without the trials whose SD is borrowed from another trial (its
    #: reason); the build adds ``<name>_without_borrowed_sd`` to every analysis that has one.
    exclude_borrowed_sd: str | None = None
    #: Sensitivity analysis with each pooled record's alternative (``primary = no`` record of the
    #: same report, outcome and time point), in words; the build adds
    #: ``<name>_alternative_records`` to every primary analysis that has one.
    alternative_records: str | None = None
    #: Evidence group: "randomised" trials or "observational" studies, never pooled together.
    evidence: str = "randomised"
    #: trials.csv column whose values split the studies into subgroups.
    subgroup: str | None = None
    #: The primary analysis of the SoF row: "frequentist" (default) or "bayes".
    primary: str = "frequentist"
    #: "mh": a DerSimonian-Laird model of 2x2 tables takes tau^2 from the Mantel-Haenszel Q
    #: (RevMan's "M-H, Random"); "iv" (default) from the inverse-variance Q.
    q_from: str = "iv"

    @property
    def is_secondary(self) -> bool:
        """True for sensitivity (studies left out) and subgroup analyses.

        Reported as footnotes of the main summary-of-findings row, not as rows of their own.
        """
        return bool(
            self.exclude
            or self.exclude_weak_sources
            or self.exclude_high_risk_of_bias
            or self.exclude_borrowed_sd
            or self.alternative_records
            or self.subgroup
        )

    @property
    def selection_key(self) -> tuple[str, str, str] | None:
        """(comparison, outcome, window) of a records spec."""
        if self.studies is None:
            return None
        return str(self.comparison), str(self.outcome), str(self.window)

    def pool_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`metafuse.pool` set by the spec."""
        out: dict[str, Any] = {"convention": self.convention}
        if self.level is not None:
            out["level"] = self.level
        if self.prediction is not None:
            out["prediction"] = self.prediction
        if self.q_from != "iv":
            out["q_from"] = self.q_from
        return out


Fail = Callable[[str, str], SpecError]


def check_name(path: Path) -> str:
    """Return the output name of a spec file: its stem, which must be a plain, unreserved name."""
    stem = path.name[: -len(".toml")] if path.name.endswith(".toml") else path.stem
    if not NAME.match(stem):
        raise SpecError(
            f"{path}: file name: {stem!r} is not a plain name (letters, digits, _ "
            "and -; it names the output folder)"
        )
    if stem.lower() in RESERVED or stem.lower().startswith(RESERVED_PREFIXES):
        raise SpecError(f"{path}: file name: {stem!r} is reserved for an output of the build")
    return stem


def inside(root: Path, raw: str, key: str, fail: Fail) -> Path:
    """``root / raw`` when it lies inside the review folder ``root`` once symlinks are followed.

    ``root / raw`` when it lies inside the review folder ``root`` once symlinks are followed (a spec
    reads no data from elsewhere: not an absolute path, not ``..``, not a symlink out).
    """
    path = root / raw
    base = root.resolve()
    if Path(raw).is_absolute() or not path.resolve().is_relative_to(base):
        raise fail(key, f"{raw!r} is outside the review folder {base} (a spec reads data only "
                   "inside it)")  # fmt: skip
    return path


def _typed(
    raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str, fail: Fail
) -> Any:
    value = raw[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise fail(key, f"must be {what}, got {type(value).__name__} {value!r}")
    return value


def _common(raw: Mapping[str, Any], path: Path, fail: Fail) -> dict[str, Any]:
    out: dict[str, Any] = {"name": check_name(path), "path": path}
    out["title"] = _typed(raw, "title", str, "text", fail) if "title" in raw else out["name"]
    out["hksj"] = _typed(raw, "hksj", bool, "true or false", fail) if "hksj" in raw else False
    if "convention" in raw:
        conv = _typed(raw, "convention", str, "text", fail)
        if conv not in CONVENTIONS:
            raise fail("convention", f"{conv!r} is not one of {', '.join(CONVENTIONS)}")
        out["convention"] = conv
    if "level" in raw:
        try:
            out["level"] = check_level(raw["level"])
        except ValueError as err:
            raise fail("level", str(err)) from None
    if "prediction" in raw:
        kind = _typed(raw, "prediction", str, "text", fail)
        if kind not in PREDICTION_KINDS:
            raise fail("prediction", f"{kind!r} is not one of {', '.join(PREDICTION_KINDS)}")
        out["prediction"] = kind
    if "q_from" in raw:
        q_from = _typed(raw, "q_from", str, "text", fail).lower()
        if q_from not in ("iv", "mh"):
            raise fail("q_from", f"{raw['q_from']!r} is not iv or mh")
        out["q_from"] = q_from
    return out


def read_spec(path: Path, root: Path) -> AnalysisSpec:
    """Parse and check one spec; errors name the file and key."""
    try:
        raw = tomllib.loads(read_regular_text(path))
    except DataError as err:
        raise SpecError(f"{path}: cannot read spec: {err.message}") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: cannot read spec: {err}") from None

    def fail(key: str, message: str) -> SpecError:
        return SpecError(f"{path}: {key}: {message}")

    unknown = sorted(set(raw) - COMMON_KEYS - DATA_KEYS - RECORD_KEYS)
    if unknown:
        raise fail(unknown[0], "unknown key")
    if ("data" in raw) == ("studies" in raw):
        raise fail("data", "give either data (a CSV file) or studies (the curated records)")
    common = _common(raw, path, fail)
    if "data" in raw:
        return _data_spec(raw, root, common, fail)
    return _records_spec(raw, root, common, fail)


def _data_spec(
    raw: Mapping[str, Any], root: Path, common: dict[str, Any], fail: Fail
) -> AnalysisSpec:
    cannot = sorted(set(raw) & (RECORD_KEYS - {"studies", "subgroup"}))
    if cannot:
        raise fail(cannot[0], "applies to curated records (studies = ...), not to a data file")
    if "measure" not in raw:
        raise fail("measure", "missing required key")
    try:
        measure = normalise_measure(_typed(raw, "measure", str, "text", fail))
    except ValueError as err:
        raise fail("measure", str(err)) from None
    try:
        method = (
            normalise_method(_typed(raw, "method", str, "text", fail), measure)
            if ("method" in raw)
            else "REML"
        )
    except ValueError as err:
        raise fail("method", str(err)) from None
    data = inside(root, _typed(raw, "data", str, "a path", fail), "data", fail)
    subgroup = _typed(raw, "subgroup", str, "text", fail) if "subgroup" in raw else None
    if common.get("q_from") == "mh" and (method != "DL" or measure not in ("RR", "OR", "RD")):
        raise fail("q_from", 'mh needs method = "DL" and measure RR, OR or RD')
    return AnalysisSpec(**common, method=method, data=data, measure=measure, subgroup=subgroup)


def _records_spec(
    raw: Mapping[str, Any], root: Path, common: dict[str, Any], fail: Fail
) -> AnalysisSpec:
    if "measure" in raw:
        raise fail("measure", "is the outcome's measure in review.toml; do not set it here")
    for key in ("comparison", "outcome", "window"):
        if key not in raw:
            raise fail(key, "missing required key")
        _typed(raw, key, str, "text", fail)
    method = ""  # the outcome's method (review.toml), filled in when the build is planned
    if "method" in raw:
        method = str(_typed(raw, "method", str, "text", fail)).upper()
        try:
            normalise_method(method, "GEN")
        except ValueError as err:
            raise fail("method", str(err)) from None
    primary = raw.get("primary", "frequentist")
    if primary not in ("frequentist", "bayes"):
        raise fail("primary", "must be frequentist or bayes")
    evidence = raw.get("evidence", "randomised")
    if evidence not in ("randomised", "observational"):
        raise fail("evidence", "must be randomised or observational (never pooled together)")
    subgroup = _typed(raw, "subgroup", str, "text", fail) if "subgroup" in raw else None
    return AnalysisSpec(
        **common,
        method=method,
        studies=inside(root, _typed(raw, "studies", str, "a path", fail), "studies", fail),
        comparison=raw["comparison"],
        outcome=raw["outcome"],
        window=raw["window"],
        grade=read_grade(raw.get("grade", {}), fail),
        exclude=_exclusions(raw.get("exclude", []), fail),
        exclude_weak_sources=_reason(raw, "exclude_weak_sources", fail),
        exclude_high_risk_of_bias=_reason(raw, "exclude_high_risk_of_bias", fail),
        exclude_borrowed_sd=_reason(raw, "exclude_borrowed_sd", fail),
        subgroup=subgroup,
        primary=primary,
        evidence=evidence,
    )


def _reason(raw: Mapping[str, Any], key: str, fail: Fail) -> str | None:
    if key not in raw:
        return None
    if not isinstance(raw[key], str) or not raw[key].strip():
        raise fail(key, "give the reason for the exclusion as text")
    return raw[key]


def _exclusions(raw: Any, fail: Fail) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list):
        raise fail("exclude", 'must be a list of { study = "...", reason = "..." }')
    out = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("study"), str)
            or not item["study"].strip()
        ):
            raise fail(f"exclude[{i}]", "needs study = the study label")
        if not isinstance(item.get("reason"), str) or not item["reason"].strip():
            raise fail(f"exclude[{i}]", "an exclusion must give its reason")
        out.append((item["study"], item["reason"]))
    return tuple(out)


def _number(raw: Mapping[str, Any], key: str, fail: Fail) -> float:
    value = raw[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not value > 0
        or (value != value or value == float("inf"))
    ):
        raise fail(f"grade.{key}", f"must be a positive finite number, got {value!r}")
    return float(value)


def read_grade(raw: Any, fail: Fail) -> dict[str, Any]:
    """Check the [grade] table: judgements need a rating and a reason, numbers need a source."""
    if not isinstance(raw, dict):
        raise fail("grade", "must be a table")
    unknown = sorted(set(raw) - GRADE_SPEC_KEYS)
    if unknown:
        raise fail(f"grade.{unknown[0]}", "unknown key")
    out = dict(raw)
    for number, source in (("mid", "mid_source"), ("assumed_risk", "assumed_risk_source")):
        if number in raw:
            out[number] = _number(raw, number, fail)
            if not isinstance(raw.get(source), str) or not raw[source].strip():
                raise fail(f"grade.{source}", f"{number} needs its source")
    if "assumed_risk" in raw and not out["assumed_risk"] < 1:
        raise fail("grade.assumed_risk", "must be a proportion below 1")
    if "comment" in raw and not isinstance(raw["comment"], str):
        raise fail("grade.comment", "must be text")

    def judgement(key: str, value: Any, domain: str) -> None:
        words = JUDGEMENTS[domain]
        if not isinstance(value, dict) or value.get("rating") not in words:
            raise fail(key, f"needs rating = one of {', '.join(words)}")
        if not isinstance(value.get("reason"), str) or not value["reason"].strip():
            raise fail(key, "a judgement must give its reason")

    if "indirectness" in raw:
        judgement("grade.indirectness", raw["indirectness"], "indirectness")
    overrides = raw.get("overrides", {})
    if not isinstance(overrides, dict):
        raise fail("grade.overrides", "must be a table")
    for domain, value in overrides.items():
        if domain not in GRADE_KEYS:
            raise fail(f"grade.overrides.{domain}", f"unknown domain; use {', '.join(GRADE_KEYS)}")
        judgement(f"grade.overrides.{domain}", value, GRADE_KEYS[domain])
    return out
