"""The GRADE decisions a review declares in ``review.toml``.

The GRADE decisions a review declares in ``review.toml``: outcome importance, thresholds with their
sources, assumed comparator risks, indirectness judgements and the rule set.

Outcome keys (``[outcomes.<key>]``): ``importance`` (critical, important, of limited importance;
GRADE guidelines 2), ``harm`` (true for an adverse outcome: every main table shows at least one),
``mid_per_1000`` with ``mid_source`` (binary outcomes: the smallest important absolute difference),
``baseline_risk_per_1000`` with ``baseline_risk_source`` (the assumed comparator risk, one number or
one per comparison), ``alternative_mid`` with ``alternative_mid_source`` (re-rated for robustness).
Review keys: ``grade_rules`` (a rule set name, or a table with ``set`` and ``ois_far_below``),
``[indirectness.<comparison>.<outcome or all>]`` with ``rating`` and ``reason``. Errors name the
file and key.

References
----------
Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines: 2. Framing the question and deciding on
    important outcomes. J Clin Epidemiol 2011;64:395-400.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from metafuse.exceptions import SpecError
from metafuse.review.imprecision import DEFAULT_RULES, OIS_FAR_BELOW, RULE_SETS

IMPORTANCE: Final = ("critical", "important", "of limited importance")
#: Outcome keys read here (besides those of :mod:`metafuse.review.vocabulary`).
OUTCOME_KEYS: Final = frozenset(
    {
        "importance",
        "importance_source",
        "harm",
        "mid_per_1000",
        "baseline_risk_per_1000",
        "baseline_risk_source",
        "alternative_mid",
        "alternative_mid_source",
    }
)
INDIRECTNESS_RATINGS: Final = ("not serious", "serious", "very serious")


def _fail(path: Path, key: str, message: str) -> SpecError:
    return SpecError(f"{path}: {key}: {message}")


def _positive(value: Any, key: str, path: Path, *, upper: float | None = None) -> float | None:
    if value is None:
        return None
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
        and (upper is None or value < upper)
    )
    if not ok:
        bound = f" below {upper:g}" if upper is not None else ""
        raise _fail(path, key, f"must be a positive number{bound}, got {value!r}")
    return float(value)


def _source(raw: Mapping[str, Any], key: str, where: str, path: Path, needed: bool) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise _fail(path, f"{where}.{key}", "must be text")
    if needed and not value.strip():
        raise _fail(path, f"{where}.{key}", "a threshold or risk needs its source")
    return value.strip()


def _baseline(
    raw: Mapping[str, Any], where: str, path: Path, comparisons: Mapping[str, Any]
) -> dict[str, tuple[float, str]]:
    """Comparison -> (risk as a proportion, source); key '' applies to every comparison."""
    value, source = raw.get("baseline_risk_per_1000"), raw.get("baseline_risk_source")
    if value is None:
        if source is not None:
            raise _fail(path, f"{where}.baseline_risk_source", "has no baseline_risk_per_1000")
        return {}
    key = f"{where}.baseline_risk_per_1000"
    if isinstance(value, dict):
        if not isinstance(source, dict) or set(source) != set(value):
            raise _fail(
                path,
                f"{where}.baseline_risk_source",
                "give one source per comparison of baseline_risk_per_1000",
            )
        out = {}
        for comparison, risk in value.items():
            if comparison not in comparisons:
                raise _fail(path, f"{key}.{comparison}", "unknown comparison")
            number = _positive(risk, f"{key}.{comparison}", path, upper=1000)
            text = _source(source, comparison, f"{where}.baseline_risk_source", path, True)
            out[comparison] = (float(number or 0) / 1000, text)
        return out
    number = _positive(value, key, path, upper=1000)
    text = _source(raw, "baseline_risk_source", where, path, True)
    return {"": (float(number or 0) / 1000, text)}


def outcome_keys(
    raw: Mapping[str, Any], where: str, path: Path, binary: bool, comparisons: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the GRADE keys of one ``[outcomes.<key>]`` table, checked, as Outcome fields."""
    importance = raw.get("importance", "")
    if importance and importance not in IMPORTANCE:
        raise _fail(path, f"{where}.importance", f"must be one of {', '.join(IMPORTANCE)}")
    harm = raw.get("harm", False)
    if not isinstance(harm, bool):
        raise _fail(path, f"{where}.harm", "must be true or false")
    if binary and raw.get("mid") is not None:
        raise _fail(path, f"{where}.mid", "a binary outcome's threshold is mid_per_1000 (absolute)")
    if not binary and raw.get("mid_per_1000") is not None:
        raise _fail(path, f"{where}.mid_per_1000", "only binary outcomes have mid_per_1000")
    if not binary and raw.get("baseline_risk_per_1000") is not None:
        raise _fail(path, f"{where}.baseline_risk_per_1000", "only binary outcomes have one")
    mid_1000 = _positive(raw.get("mid_per_1000"), f"{where}.mid_per_1000", path, upper=1000)
    if mid_1000 is not None:
        _source(raw, "mid_source", where, path, True)
    alternative = _positive(raw.get("alternative_mid"), f"{where}.alternative_mid", path)
    return {
        "importance": importance,
        "importance_source": _source(raw, "importance_source", where, path, False),
        "harm": harm,
        "mid_per_1000": mid_1000,
        "baseline_risk": _baseline(raw, where, path, comparisons),
        "alternative_mid": alternative,
        "alternative_mid_source": _source(
            raw, "alternative_mid_source", where, path, alternative is not None
        ),
    }


def grade_rules(raw: Any, path: Path) -> tuple[str, float]:
    """``grade_rules``: a rule set name, or ``{set = ..., ois_far_below = ...}``."""
    if raw is None:
        return DEFAULT_RULES, OIS_FAR_BELOW
    table = raw if isinstance(raw, dict) else {"set": raw}
    unknown = sorted(set(table) - {"set", "ois_far_below"})
    if unknown:
        raise _fail(path, f"grade_rules.{unknown[0]}", "unknown key")
    name = table.get("set", DEFAULT_RULES)
    if name not in RULE_SETS:
        raise _fail(path, "grade_rules", f"must be one of {', '.join(RULE_SETS)}")
    far = _positive(
        table.get("ois_far_below", OIS_FAR_BELOW), "grade_rules.ois_far_below", path, upper=1
    )
    return str(name), float(far or OIS_FAR_BELOW)


def indirectness(
    raw: Any, path: Path, comparisons: Mapping[str, Any], outcomes: Mapping[str, Any]
) -> dict[tuple[str, str], tuple[str, str]]:
    """``[indirectness.<comparison>.<outcome or all>]`` -> {(comparison, outcome): judgement}."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(path, "indirectness", "must be a table of comparisons")
    out = {}
    for comparison, table in raw.items():
        if comparison not in comparisons or not isinstance(table, dict):
            raise _fail(path, f"indirectness.{comparison}", "unknown comparison")
        for outcome, judgement in table.items():
            key = f"indirectness.{comparison}.{outcome}"
            if outcome != "all" and outcome not in outcomes:
                raise _fail(path, key, "unknown outcome (or 'all')")
            if not isinstance(judgement, dict) or set(judgement) != {"rating", "reason"}:
                raise _fail(path, key, "needs rating and reason, nothing else")
            if judgement["rating"] not in INDIRECTNESS_RATINGS:
                raise _fail(path, f"{key}.rating", f"one of {', '.join(INDIRECTNESS_RATINGS)}")
            if not isinstance(judgement["reason"], str) or not judgement["reason"].strip():
                raise _fail(path, f"{key}.reason", "a judgement needs its reason")
            out[(comparison, outcome)] = (judgement["rating"], judgement["reason"].strip())
    return out


#: GRADE domains as spec keys ([grade.overrides] and indirectness in analyses/*.toml).
GRADE_KEYS: Final = {
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "publication_bias": "publication bias",
}


@dataclass(frozen=True)
class GradeInputs:
    """What a guideline panel decides for one outcome.

    What a guideline panel decides for one outcome: thresholds with their sources, and judgements
    with their reasons (the spec's ``[grade]`` table over review.toml).
    """

    #: Minimal important difference on the outcome's scale (continuous) or per 1000 (binary).
    mid: float | None = None
    mid_source: str = ""
    #: Assumed comparator risk (a proportion) and where it comes from.
    assumed_risk: float | None = None
    assumed_risk_source: str = ""
    #: (rating, reason) for indirectness and for each overridden domain (by domain name).
    indirectness: tuple[str, str] | None = None
    overrides: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    comment: str = ""
    #: An alternative MID, re-rated in the robustness footnote.
    alternative_mid: float | None = None
    alternative_mid_source: str = ""
    rules: str = DEFAULT_RULES
    ois_far_below: float = OIS_FAR_BELOW

    @classmethod
    def from_spec(cls, raw: Mapping[str, Any], defaults: GradeInputs | None = None) -> GradeInputs:
        """From a checked ``[grade]`` table over the review's ``defaults`` for the outcome."""
        base = defaults or cls()
        indirect = raw.get("indirectness")
        overrides = {
            GRADE_KEYS[k]: (v["rating"], v["reason"]) for k, v in raw.get("overrides", {}).items()
        }
        return cls(
            mid=raw.get("mid", base.mid),
            mid_source=str(raw.get("mid_source", base.mid_source)),
            assumed_risk=raw.get("assumed_risk", base.assumed_risk),
            assumed_risk_source=str(raw.get("assumed_risk_source", base.assumed_risk_source)),
            indirectness=(indirect["rating"], indirect["reason"])
            if indirect
            else base.indirectness,
            overrides={**base.overrides, **overrides},
            comment=str(raw.get("comment", base.comment)),
            alternative_mid=base.alternative_mid,
            alternative_mid_source=base.alternative_mid_source,
            rules=base.rules,
            ois_far_below=base.ois_far_below,
        )


def grade_inputs(
    review: Any, comparison: str, outcome: str, spec_grade: Mapping[str, Any] | None = None
) -> GradeInputs:
    """Return the GRADE inputs of one comparison x outcome.

    The GRADE inputs of one comparison x outcome: an analysis spec's ``[grade]`` table over the
    review's declarations (thresholds, indirectness, alternative MID, rule set).
    """
    out = review.outcomes[outcome]
    defaults = GradeInputs(
        mid=out.threshold(),
        mid_source=out.mid_source,
        indirectness=review.indirectness_of(comparison, outcome),
        alternative_mid=out.alternative_mid,
        alternative_mid_source=out.alternative_mid_source,
        rules=review.grade_rules,
        ois_far_below=review.ois_far_below,
    )
    return GradeInputs.from_spec(spec_grade or {}, defaults)
