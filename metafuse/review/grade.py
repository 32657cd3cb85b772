"""GRADE certainty of evidence for one outcome, with the rule or judgement behind every domain.

Certainty starts where the design of the body of evidence starts it (high for randomised trials,
low for observational studies; a review declares its designs and their start) and is rated down
per domain: risk of bias, inconsistency, indirectness, imprecision and publication bias (-1
serious, -2 very serious, -3 extremely serious for imprecision). A rating is either computed by a
named rule (and says so) or a judgement recorded with its reason (an analysis spec's
``[grade.overrides]`` or the review's ``[indirectness]``); a judgement never made is shown as not
made: indirectness "not judged" (the certainty is then provisional), publication bias "not
assessable" below ten studies, inconsistency "not applicable" for one study, risk-of-bias domains
"not assessed" named.

References
----------
Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines 4, 5, 7, 8 (risk of bias, publication bias,
    inconsistency, indirectness). J Clin Epidemiol 2011;64:407-415, 1277-1282, 1294-1302,
    1303-1310.
Guyatt G, et al. Core GRADE 3 (inconsistency), 4 (risk of bias), 5 (indirectness). BMJ 2025;389:
    e081905, e083864, e083865.
Zeng L, et al. GRADE guidance 34 (imprecision). J Clin Epidemiol 2022;150:216-224; see
    :mod:`metafuse.review.imprecision`.
Sterne JAC, et al. (2019). RoB 2: a revised tool for assessing risk of bias in randomised trials.
    BMJ 366:l4898 (domains D1-D5; "no information" answers lead to some concerns or high risk).
Cochrane Handbook 6.4, section 13.3.5.4 (tests for funnel asymmetry need at least 10 studies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from metafuse.results import PooledResult
from metafuse.review.imprecision import (
    DEFAULT_RULES,
    RULE_SETS,
    Imprecision,
    optimal_information_size_binary,
    optimal_information_size_continuous,
)

__all__ = [
    "DOMAINS",
    "LEVELS",
    "RATINGS",
    "Certainty",
    "DomainRating",
    "StudyInfo",
    "assess",
    "optimal_information_size_binary",
    "optimal_information_size_continuous",
]

DOMAINS: Final = (
    "risk of bias",
    "inconsistency",
    "indirectness",
    "imprecision",
    "publication bias",
)
#: Levels rated down for each rating word. "not judged" rates nothing down but makes the
#: certainty provisional; "not applicable" and "not assessable" state that no judgement can be
#: made; "undetected"/"suspected"/"strongly suspected" are publication bias's own words.
RATINGS: Final = {
    "not serious": 0,
    "serious": 1,
    "very serious": 2,
    "extremely serious": 3,
    "not applicable": 0,
    "not assessable": 0,
    "not judged": 0,
    "undetected": 0,
    "suspected": 1,
    "strongly suspected": 2,
}
#: What a panel may write for each domain (spec overrides, review.toml judgements).
JUDGEMENTS: Final = {
    "risk of bias": ("not serious", "serious", "very serious"),
    "inconsistency": ("not serious", "serious", "very serious", "not applicable"),
    "indirectness": ("not serious", "serious", "very serious"),
    "imprecision": ("not serious", "serious", "very serious", "extremely serious"),
    "publication bias": ("undetected", "suspected", "strongly suspected", "not assessable"),
}
LEVELS: Final = ("very low", "low", "moderate", "high")
SYMBOLS: Final = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
SMALL_STUDY_MIN_K: Final = 10
RISK_OF_BIAS_DOMAINS: Final = ("D1", "D2", "D3", "D4", "D5")


@dataclass(frozen=True)
class DomainRating:
    """One domain: its rating, and why (the rule, or the judgement and its reason)."""

    domain: str
    rating: str
    explanation: str
    #: True when the rating is a recorded judgement, False when computed by a rule.
    judged: bool = False
    #: The computed suggestion a judgement replaced, if any.
    suggested: str | None = None

    @property
    def downgrade(self) -> int:
        """Levels this domain rates the certainty down."""
        return RATINGS[self.rating]


@dataclass(frozen=True)
class Certainty:
    """The certainty of the evidence for one outcome."""

    start: str
    domains: tuple[DomainRating, ...]
    level: str
    #: The imprecision rule set (see :data:`metafuse.review.imprecision.RULE_SETS`).
    rules: str = DEFAULT_RULES
    #: The target of the rating ("little or no difference", "an important benefit", ...).
    target: str = ""

    @property
    def symbol(self) -> str:
        """The GRADE symbols of the level (⊕⊕⊕◯)."""
        return SYMBOLS[self.level]

    @property
    def provisional(self) -> bool:
        """True when a domain was not judged (the level may still change)."""
        return any(d.rating == "not judged" for d in self.domains)

    def domain(self, name: str) -> DomainRating:
        """Return the rating of one domain."""
        return self.domains[DOMAINS.index(name)]

    def label(self) -> str:
        """'⊕⊕⊕◯ MODERATE' (with '(provisional)' when a domain was not judged)."""
        text = f"{self.symbol} {self.level.upper()}"
        return text + " (provisional)" if self.provisional else text


@dataclass(frozen=True)
class StudyInfo:
    """What GRADE needs about one pooled study."""

    label: str
    weight: float
    #: Overall RoB 2 judgement: low, some concerns, high, not assessed.
    risk_of_bias: str
    participants: float | None  # analysed (arm level) or randomised; None when not reported
    control_risk: float | None = None  # events / n in the control arm (binary)
    control_sd: float | None = None  # control-arm SD (continuous)
    #: RoB 2 domain (D1..D5) -> judgement, for naming what drives the rating.
    rob_domains: Mapping[str, str] = field(default_factory=dict)


def _domain_list(study: StudyInfo, judgement: str) -> list[str]:
    return [
        d for d in RISK_OF_BIAS_DOMAINS if study.rob_domains.get(d, "not assessed") == judgement
    ]


def _rob_detail(studies: Sequence[StudyInfo]) -> str:
    parts = []
    for s in studies:
        bits = [
            f"{word} in {', '.join(found)}"
            for word in ("high", "some concerns", "not assessed")
            if (found := _domain_list(s, word))
        ]
        parts.append(f"{s.label} ({s.risk_of_bias}" + (f": {'; '.join(bits)})" if bits else ")"))
    return "; ".join(parts)


#: Weight share from which studies not at low risk of bias dominate a body of evidence (Core
#: GRADE 4: "possible thresholds of weight ... of >65% or ≥55%"; the lower one is used).
DOMINATING_WEIGHT: Final = 55.0
#: I² below which serious inconsistency is seldom seen (Core GRADE 3).
I2_SELDOM: Final = 30.0


def rate_risk_of_bias(studies: Sequence[StudyInfo], rules: str = DEFAULT_RULES) -> DomainRating:
    """Core GRADE 4 (``grade-2022``).

    Core GRADE 4 (``grade-2022``): rate down once when studies not at low risk of bias (overall RoB
    2 high or some concerns; 'not assessed' counted with them, as RoB 2 turns missing information
    into some concerns) carry at least 55% of the weight; two levels only by judgement.
    ``grade-2011``: very serious from 50% of the weight at high risk, serious from 25% at high risk
    or 50% high and some concerns together. The domains driving it are named.
    """
    high = sum(s.weight for s in studies if s.risk_of_bias == "high")
    concerns = sum(s.weight for s in studies if s.risk_of_bias == "some concerns")
    unassessed = sum(s.weight for s in studies if s.risk_of_bias == "not assessed")
    doubtful = high + concerns + unassessed
    shares = (
        f"{high:.0f}% of the weight from trials at high risk, {concerns:.0f}% with some concerns"
        + (f", {unassessed:.0f}% not assessed (counted as some concerns)" if unassessed else "")
        + f"; {_rob_detail(studies)}"
    )
    if rules == "grade-2011":
        rule = (
            " (rule: very serious if high ≥ 50%; serious if high ≥ 25% or high and some "
            "concerns together ≥ 50%)"
        )
        rating = (
            "very serious"
            if high >= 50
            else "serious"
            if high >= 25 or doubtful >= 50
            else "not serious"
        )
        return DomainRating("risk of bias", rating, shares + rule)
    rule = (
        f" (rule: serious when trials not at low risk carry ≥ {DOMINATING_WEIGHT:g}% of the "
        "weight, Core GRADE 4; rating down twice, or not at all because of the direction of "
        "bias, is a judgement)"
    )
    rating = "serious" if doubtful >= DOMINATING_WEIGHT else "not serious"
    return DomainRating("risk of bias", rating, shares + rule)


def _region(value: float, thresholds: Sequence[float]) -> int:
    return sum(value > t for t in thresholds)


def rate_inconsistency(
    result: PooledResult,
    rules: str = DEFAULT_RULES,
    study_values: Sequence[float] = (),
    thresholds: Sequence[float] = (),
) -> DomainRating:
    """Not applicable to one study.

    Not applicable to one study. ``grade-2022`` (Core GRADE 3): serious when the study estimates
    (``study_values``, on the scale of the ``thresholds``) fall on different sides of the
    threshold(s) of the target and I² is at least 30%; twice only by judgement. ``grade-2011``: I²
    and the Q test (serious if I² ≥ 50% or P < 0.10; very serious if I² ≥ 75% and P < 0.10).
    """
    if result.k < 2 or result.I2 is None:
        return DomainRating(
            "inconsistency", "not applicable", "one study: inconsistency cannot be assessed"
        )
    i2, p = result.I2, result.Q_pval if result.Q_pval is not None else 1.0
    stats = f"I² = {i2:.0f}%, Q test P = {p:.2f}" + (
        f", prediction interval {result.pi_low:.2f} to {result.pi_high:.2f} (analysis scale)"
        if result.pi_low is not None and result.pi_high is not None
        else ""
    )
    if rules == "grade-2011" or not study_values or not thresholds:
        rule = " (rule: serious if I² ≥ 50% or P < 0.10; very serious if I² ≥ 75% and P < 0.10)"
        if i2 >= 75 and p < 0.10:
            return DomainRating("inconsistency", "very serious", stats + rule)
        if i2 >= 50 or p < 0.10:
            return DomainRating("inconsistency", "serious", stats + rule)
        return DomainRating("inconsistency", "not serious", stats + rule)
    regions = {_region(v, thresholds) for v in study_values}
    sides = (
        "study estimates lie on both sides of the threshold"
        if len(regions) > 1
        else "every study estimate lies on the same side of the threshold"
    )
    rule = (
        f"; {sides} (rule: serious when estimates lie on both sides of the threshold and I² ≥ "
        f"{I2_SELDOM:g}%, Core GRADE 3)"
    )
    rating = "serious" if len(regions) > 1 and i2 >= I2_SELDOM else "not serious"
    return DomainRating("inconsistency", rating, stats + rule)


def n_studies(n: int) -> str:
    """'1 study' / '3 studies'."""
    return f"{n} study" if n == 1 else f"{n} studies"


def rate_publication_bias(
    result: PooledResult,
    small_study: Mapping[str, Any] | None,
    unpooled: Sequence[str] = (),
) -> DomainRating:
    """Egger's test from ten studies.

    Egger's test from ten studies ('strongly suspected' if P < 0.10, else 'undetected', Core GRADE
    4's words); below ten, 'not assessable' (a panel that checked trial registries may judge it
    'undetected'). ``unpooled`` names the known missing evidence of the row (trials with a record of
    the outcome that could not be pooled).
    """
    missing = "; known missing evidence: " + "; ".join(unpooled) if unpooled else ""
    if result.k < SMALL_STUDY_MIN_K or small_study is None:
        n = n_studies(result.k)
        return DomainRating(
            "publication bias",
            "not assessable",
            f"not assessable with {n} (tests for funnel-plot asymmetry need at least "
            f"{SMALL_STUDY_MIN_K}){missing}",
        )
    p = small_study["egger"]["pval"]
    rule = f"Egger's test P = {p:.2f} (rule: strongly suspected if P < 0.10){missing}"
    return DomainRating(
        "publication bias", "strongly suspected" if p < 0.10 else "undetected", rule
    )


def rate_indirectness(judgement: tuple[str, str] | None) -> DomainRating:
    """Return the recorded judgement, or 'not judged' (the certainty is then provisional)."""
    if judgement is None:
        return DomainRating(
            "indirectness",
            "not judged",
            "no judgement of indirectness recorded for this comparison and outcome; the "
            "certainty is provisional until one is made",
        )
    return DomainRating("indirectness", judgement[0], judgement[1], judged=True)


def assess(
    result: PooledResult,
    studies: Sequence[StudyInfo],
    imprecision: Imprecision,
    *,
    start: str = "high",
    indirectness: tuple[str, str] | None = None,
    overrides: Mapping[str, tuple[str, str]] | None = None,
    small_study: Mapping[str, Any] | None = None,
    unpooled: Sequence[str] = (),
    rules: str = DEFAULT_RULES,
    study_values: Sequence[float] = (),
    thresholds: Sequence[float] = (),
) -> Certainty:
    """Rate the certainty of one pooled outcome.

    ``imprecision`` comes from :mod:`metafuse.review.imprecision`; ``start`` is the starting
    level of the design ('high' or 'low'); ``indirectness`` and each override are
    ``(rating, reason)`` with the domain's words (:data:`JUDGEMENTS`); ``study_values`` are the
    pooled studies' estimates on the scale of the imprecision ``thresholds`` (for the
    inconsistency rule).
    """
    if start not in LEVELS:
        raise ValueError(f"unknown starting level {start!r}; choose one of {', '.join(LEVELS)}")
    if rules not in RULE_SETS:
        raise ValueError(f"unknown GRADE rules {rules!r}; choose one of {', '.join(RULE_SETS)}")
    computed = {
        "risk of bias": rate_risk_of_bias(studies, rules),
        "inconsistency": rate_inconsistency(result, rules, study_values, thresholds),
        "indirectness": rate_indirectness(indirectness),
        "imprecision": DomainRating("imprecision", imprecision.rating, imprecision.explanation),
        "publication bias": rate_publication_bias(result, small_study, unpooled),
    }
    domains = []
    for name in DOMAINS:
        rating = computed[name]
        if overrides and name in overrides:
            judged, reason = overrides[name]
            rating = DomainRating(name, judged, reason, judged=True, suggested=rating.rating)
        if rating.rating not in JUDGEMENTS[name] and rating.rating != "not judged":
            raise ValueError(f"{name}: rating must be one of {', '.join(JUDGEMENTS[name])}")
        domains.append(rating)
    index = LEVELS.index(start) - sum(d.downgrade for d in domains)
    return Certainty(
        start=start,
        domains=tuple(domains),
        level=LEVELS[max(0, index)],
        rules=rules,
        target=imprecision.target,
    )
