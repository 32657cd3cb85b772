"""GRADE certainty of evidence for one outcome, with the rule behind every suggested rating.

Certainty starts high for randomised trials (low for observational studies) and is rated down per
domain: risk of bias, inconsistency, indirectness, imprecision and publication bias (-1 serious,
-2 very serious). Computed ratings are suggestions that carry the rule that produced them; a
judgement in the analysis spec (``[grade.overrides]``) replaces a suggestion and must give its
reason. Every rating down gets a footnote.

References
----------
Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines 4-8 (risk of bias, publication bias,
    imprecision, inconsistency, indirectness). J Clin Epidemiol 2011;64:407-415, 1277-1282,
    1283-1293, 1294-1302, 1303-1310.
Schünemann H, Brożek J, Guyatt G, Oxman A (eds). GRADE Handbook (2013), section 5.2.4.1 (optimal
    information size) and Table 5.1 (certainty symbols).
Cochrane Handbook 6.4, section 13.3.5.4 (tests for funnel asymmetry need at least 10 studies).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from metafuse.results import PooledResult

DOMAINS = ("risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias")
RATINGS = {"not serious": 0, "serious": 1, "very serious": 2}
LEVELS = ("very low", "low", "moderate", "high")
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
#: Risk ratios beyond these bounds are "appreciable" benefit or harm (GRADE guidelines 6).
APPRECIABLE_RR = (0.75, 1.25)
#: Relative risk reduction and error rates of the optimal information size (GRADE Handbook 5.2.4.1).
OIS_RRR, OIS_ALPHA, OIS_POWER = 0.25, 0.05, 0.80
SMALL_STUDY_MIN_K = 10


@dataclass(frozen=True)
class DomainRating:
    """One domain: its rating, and why (the rule, or the judgement and its reason)."""

    domain: str
    rating: str
    explanation: str
    #: True when the rating is the spec's judgement, False when computed by a rule.
    judged: bool = False
    #: The computed suggestion a judgement replaced, if any.
    suggested: str | None = None

    @property
    def downgrade(self) -> int:
        """The number of levels this rating takes off."""
        return RATINGS[self.rating]


@dataclass(frozen=True)
class Certainty:
    """The certainty of the evidence for one outcome."""

    start: str
    domains: tuple[DomainRating, ...]
    level: str
    notes: tuple[str, ...] = field(default=())

    @property
    def symbol(self) -> str:
        """The certainty as GRADE's symbols."""
        return SYMBOLS[self.level]

    def label(self) -> str:
        """'⊕⊕⊕◯ MODERATE'."""
        return f"{self.symbol} {self.level.upper()}"


@dataclass(frozen=True)
class StudyInfo:
    """What GRADE needs about one pooled study."""

    label: str
    weight: float
    risk_of_bias: str  # low, some concerns, high, not assessed
    participants: float | None  # analysed (arm level), None when not reported
    control_risk: float | None = None  # events / n in the control arm (binary)
    control_sd: float | None = None  # control-arm SD (continuous)


def optimal_information_size_binary(control_risk: float, rrr: float = OIS_RRR) -> float:
    """Return the optimal information size of a binary outcome (GRADE Handbook 5.2.4.1).

    Total participants for one trial to detect a relative risk reduction ``rrr`` (two-sided alpha
    0.05, power 0.80) at the given control risk (GRADE Handbook 5.2.4.1).
    """
    z = stats.norm.ppf(1 - OIS_ALPHA / 2) + stats.norm.ppf(OIS_POWER)
    p1, p2 = control_risk, control_risk * (1 - rrr)
    per_group = z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2
    return 2 * math.ceil(per_group)


def optimal_information_size_continuous(sd: float, delta: float) -> float:
    """Total participants for one trial to detect a mean difference ``delta`` with SD ``sd``."""
    z = stats.norm.ppf(1 - OIS_ALPHA / 2) + stats.norm.ppf(OIS_POWER)
    return 2 * math.ceil(2 * z**2 * sd**2 / delta**2)


def _risk_of_bias(studies: Sequence[StudyInfo]) -> DomainRating:
    high = sum(s.weight for s in studies if s.risk_of_bias == "high")
    unclear = sum(s.weight for s in studies if s.risk_of_bias in ("some concerns", "not assessed"))
    rule = (
        f"weight from trials at high risk {high:.0f}%, with some concerns or not assessed "
        f"{unclear:.0f}% (rule: very serious if high >= 50%; serious if high >= 25% or "
        "high + concerns/not assessed >= 50%)"
    )
    if high >= 50:
        return DomainRating("risk of bias", "very serious", rule)
    if high >= 25 or high + unclear >= 50:
        return DomainRating("risk of bias", "serious", rule)
    return DomainRating("risk of bias", "not serious", rule)


def _inconsistency(result: PooledResult) -> DomainRating:
    if result.k < 2 or result.I2 is None:
        return DomainRating(
            "inconsistency", "not serious", "single study: inconsistency cannot be assessed"
        )
    i2, p = result.I2, result.Q_pval or 1.0
    rule = (
        f"I² = {i2:.0f}%, Q p = {p:.2f}"
        + (
            f", prediction interval {result.pi_low:.2f} to {result.pi_high:.2f}"
            if result.pi_low is not None
            else ""
        )
        + " (rule: serious if I² >= 50% or Q p < 0.10; very serious if I² >= 75% and"
        " Q p < 0.10)"
    )
    if i2 >= 75 and p < 0.10:
        return DomainRating("inconsistency", "very serious", rule)
    if i2 >= 50 or p < 0.10:
        return DomainRating("inconsistency", "serious", rule)
    return DomainRating("inconsistency", "not serious", rule)


def _imprecision(
    result: PooledResult,
    studies: Sequence[StudyInfo],
    ratio: bool,
    mid: float | None,
    control_risk: float | None,
    interval: str = "CI",
) -> DomainRating:
    lo, hi = result.ci_low, result.ci_high
    if lo is None or hi is None:
        return DomainRating("imprecision", "very serious", "no confidence interval")
    counts = [s.participants for s in studies]
    total = sum(c for c in counts if c is not None)
    known = all(c is not None for c in counts)
    if ratio:
        rlo, rhi = math.exp(lo), math.exp(hi)
        text = f"95% {interval} of the RR {rlo:.2f} to {rhi:.2f}"
        if rlo < APPRECIABLE_RR[0] and rhi > APPRECIABLE_RR[1]:
            return DomainRating(
                "imprecision",
                "very serious",
                text + " includes appreciable benefit and harm (RR < 0.75 and > 1.25)",
            )
        if rlo < 1 < rhi:
            return DomainRating("imprecision", "serious", text + " includes no effect")
        if control_risk and known:
            ois = optimal_information_size_binary(control_risk)
            if total < ois:
                return DomainRating(
                    "imprecision",
                    "serious",
                    text + f"; {total:.0f} participants"
                    f" below the optimal information size {ois:.0f}",
                )
        return DomainRating("imprecision", "not serious", text + " excludes no effect")
    text = f"95% {interval} of the MD {lo:.2f} to {hi:.2f}"
    if mid is not None and lo < -mid and hi > mid:
        return DomainRating(
            "imprecision",
            "very serious",
            text + f" includes important benefit "
            f"and harm (beyond ±{mid:g}, the minimal important difference)",
        )
    if lo < 0 < hi:
        return DomainRating("imprecision", "serious", text + " includes no effect")
    sds = [s.control_sd for s in studies if s.control_sd is not None]
    if mid is not None and sds and known:
        sd = sorted(sds)[len(sds) // 2]
        ois = optimal_information_size_continuous(sd, mid)
        if total < ois:
            return DomainRating(
                "imprecision",
                "serious",
                text + f"; {total:.0f} participants below the optimal information size {ois:.0f}",
            )
    return DomainRating("imprecision", "not serious", text + " excludes no effect")


def _publication_bias(result: PooledResult, small_study: Mapping[str, Any] | None) -> DomainRating:
    if result.k < SMALL_STUDY_MIN_K or small_study is None:
        return DomainRating(
            "publication bias",
            "not serious",
            f"not assessable with {result.k} {'study' if result.k == 1 else 'studies'} "
            "(funnel-plot tests need "
            f"at least {SMALL_STUDY_MIN_K})",
        )
    p = small_study["egger"]["pval"]
    rule = f"Egger's test p = {p:.2f} (rule: serious if p < 0.10)"
    return DomainRating("publication bias", "serious" if p < 0.10 else "not serious", rule)


def assess(
    result: PooledResult,
    studies: Sequence[StudyInfo],
    *,
    ratio: bool,
    randomised: bool = True,
    mid: float | None = None,
    control_risk: float | None = None,
    indirectness: tuple[str, str] | None = None,
    overrides: Mapping[str, tuple[str, str]] | None = None,
    small_study: Mapping[str, Any] | None = None,
    interval: str = "CI",
) -> Certainty:
    """Rate the certainty of one pooled outcome.

    Rate the certainty of one pooled outcome (``interval``: "CI", or "CrI" when the estimate and
    interval are a posterior median and credible interval).

    ``indirectness`` and each override are ``(rating, reason)``; ratings are ``not serious``,
    ``serious`` or ``very serious``.
    """
    computed = {
        "risk of bias": _risk_of_bias(studies),
        "inconsistency": _inconsistency(result),
        "indirectness": DomainRating("indirectness", indirectness[0], indirectness[1], judged=True)
        if indirectness
        else DomainRating(
            "indirectness", "not serious", "no indirectness judgement in the analysis spec"
        ),
        "imprecision": _imprecision(result, studies, ratio, mid, control_risk, interval),
        "publication bias": _publication_bias(result, small_study),
    }
    domains = []
    for name in DOMAINS:
        rating = computed[name]
        if overrides and name in overrides:
            judged, reason = overrides[name]
            rating = DomainRating(name, judged, reason, judged=True, suggested=rating.rating)
        if rating.rating not in RATINGS:
            raise ValueError(f"{name}: rating must be one of {', '.join(RATINGS)}")
        domains.append(rating)
    start = "high" if randomised else "low"
    index = LEVELS.index(start) - sum(d.downgrade for d in domains)
    return Certainty(start=start, domains=tuple(domains), level=LEVELS[max(0, index)])


#: GRADE domains as spec keys ([grade.overrides] and indirectness in analyses/*.toml).
GRADE_KEYS = {
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "publication_bias": "publication bias",
}


@dataclass(frozen=True)
class GradeInputs:
    """What a guideline panel decides for one outcome.

    Thresholds with their sources, and judgements with their reasons (from the spec's ``[grade]``
    table and review.toml).
    """

    mid: float | None = None
    mid_source: str = ""
    assumed_risk: float | None = None
    assumed_risk_source: str = ""
    #: (rating, reason) for indirectness and for each overridden domain (by domain name).
    indirectness: tuple[str, str] | None = None
    overrides: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    comment: str = ""

    @classmethod
    def from_spec(
        cls, raw: Mapping[str, Any], mid: float | None = None, mid_source: str = ""
    ) -> GradeInputs:
        """From a checked ``[grade]`` table; ``mid``/``mid_source`` are the outcome's defaults."""
        indirect = raw.get("indirectness")
        return cls(
            mid=raw.get("mid", mid),
            mid_source=str(raw.get("mid_source", mid_source)),
            assumed_risk=raw.get("assumed_risk"),
            assumed_risk_source=str(raw.get("assumed_risk_source", "")),
            indirectness=(indirect["rating"], indirect["reason"]) if indirect else None,
            overrides={
                GRADE_KEYS[k]: (v["rating"], v["reason"])
                for k, v in raw.get("overrides", {}).items()
            },
            comment=str(raw.get("comment", "")),
        )
