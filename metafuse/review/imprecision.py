"""GRADE imprecision: where the confidence interval lies relative to the thresholds that matter.

Two rule sets, named on every table that uses them (``grade_rules`` in review.toml):

``grade-2022`` (default): the thresholds-and-CI approach of GRADE guidance 34 and Core GRADE 2
(figure 4 and supplementary appendix 5). The target of the rating follows from the point
estimate: inside ±MID "little or no difference", beyond it "an important benefit" or "an
important harm" (with no MID declared the threshold is no effect, and the target "a benefit" or
"a harm"). Continuous outcomes are judged on the mean difference with thresholds ±MID; binary
outcomes on the *absolute* effect (difference per 1000 at the assumed comparator risk) with
thresholds ±``mid_per_1000``. A CI crossing one threshold is serious (one level), two
thresholds (important benefit and important harm) very serious (two levels). When the CI crosses
no threshold but the effect is large (binary: a relative risk reduction or increase of more than
30%; continuous: an important effect), the optimal information size (OIS) decides: below it one
level, far below it two (Core GRADE 2: a risk ratio CI whose upper limit is at least 3 times its
lower, 2.5 for odds ratios; a continuous outcome with fewer than 30% of the OIS). When the CI
crosses a threshold and the sample is far below the OIS in that sense, the CI crosses
appreciably and the rating goes one level further (GRADE 34: "consider rating down two or three
levels"), up to three ("extremely serious").

``grade-2011``: GRADE guidelines 6 (2011): serious when the CI includes no effect, very serious
when a risk ratio CI spans both 0.75 and 1.25 (or an MD CI both ±MID), and the OIS checked only
when the CI excludes no effect.

References
----------
Zeng L, Brignardello-Petersen R, Hultcrantz M, et al. GRADE Guidance 34: update on rating
    imprecision using a minimally contextualized approach. J Clin Epidemiol 2022;150:216-224.
Schünemann HJ, Neumann I, Hultcrantz M, et al. GRADE guidance 35: update on rating imprecision
    for assessing contextualized certainty of evidence and making decisions. J Clin Epidemiol
    2022;150:225-242.
Guyatt G, Zeng L, Brignardello-Petersen R, et al. Core GRADE 2: choosing the target of
    certainty rating and assessing imprecision. BMJ 2025;389:e081904 (figure 4, appendix 5).
Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines 6. Rating the quality of evidence -
    imprecision. J Clin Epidemiol 2011;64:1283-1293.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

RULE_SETS: Final = {
    "grade-2022": "GRADE guidance 34/35 (2022) and Core GRADE 2 (2025): thresholds and the CI "
    "of the absolute effect, with the optimal information size",
    "grade-2011": "GRADE guidelines 6 (2011): the CI and no effect, risk ratios 0.75/1.25",
}
DEFAULT_RULES: Final = "grade-2022"
#: Risk ratios beyond these bounds are "appreciable" benefit or harm (GRADE guidelines 6, 2011).
APPRECIABLE_RR: Final = (0.75, 1.25)
#: Relative risk reduction of the optimal information size (Core GRADE 2: "α (typically 0.05)
#: and β (typically 0.20) ... a modest relative risk reduction, typically 20% or 25%").
OIS_RRR: Final = 0.25
#: A continuous outcome's sample below this fraction of the OIS is far below it (Core GRADE 2,
#: figure 4: "N<30% of OIS: consider rating down two levels"; overridable in review.toml).
OIS_FAR_BELOW: Final = 0.30
#: Ratio CIs at least this wide (upper / lower limit) mean a sample far below the OIS (Core GRADE 2
#: figure 4 and appendix 5: risk ratios 3, odds ratios 2.5).
CI_RATIO_FAR: Final = {"RR": 3.0, "OR": 2.5}
#: A relative risk reduction (or increase) beyond this is a large effect, for which the OIS is
#: checked even when the CI crosses no threshold (Core GRADE 2: "certainly relative risk
#: reduction >40%, possibly >30%"; GRADE 34: "when ... the relative effect is large").
LARGE_RRR: Final = 0.30
#: Continuous outcomes: a total sample of 800 (400 per group) meets the OIS rule of thumb.
OIS_RULE_OF_THUMB: Final = 800
WORDS: Final = {0: "not serious", 1: "serious", 2: "very serious", 3: "extremely serious"}


#: Normal quantiles of the OIS as the sample-size calculators print them (OpenEpi, which Core
#: GRADE 2 recommends, uses 1.96 and 0.84): two-sided alpha 0.05, power 0.80.
Z_ALPHA: Final = 1.96
Z_POWER: Final = 0.84


def optimal_information_size_binary(control_risk: float, rrr: float = OIS_RRR) -> int:
    """Total participants a single trial needs to detect a relative risk reduction ``rrr`` at.

    Total participants a single trial needs to detect a relative risk reduction ``rrr`` at the given
    control risk: Fleiss's formula with continuity correction, per group rounded up (as OpenEpi
    computes it; Core GRADE 2 appendix 5: control risk 12%, RRR 25% -> 3406).
    """
    p1, p2 = control_risk, control_risk * (1 - rrr)
    mean = (p1 + p2) / 2
    diff = abs(p1 - p2)
    root = Z_ALPHA * math.sqrt(2 * mean * (1 - mean)) + Z_POWER * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    n = root**2 / diff**2
    corrected = n / 4 * (1 + math.sqrt(1 + 4 / (n * diff))) ** 2
    return 2 * math.ceil(corrected)


def optimal_information_size_continuous(sd: float, delta: float) -> int:
    """Total participants a single trial needs to detect a mean difference ``delta`` (SD ``sd``).

    Total participants a single trial needs to detect a mean difference ``delta`` (SD ``sd``): 2
    (z_alpha + z_power)^2 sd^2 / delta^2 per group, rounded up.
    """
    return 2 * math.ceil(2 * (Z_ALPHA + Z_POWER) ** 2 * sd**2 / delta**2)


@dataclass(frozen=True)
class Effect:
    """A point estimate and CI on the scale the thresholds are on.

    A point estimate and CI on the scale the thresholds are on (MD units, or a difference per 1000),
    with the outcome's better direction and its unit.
    """

    estimate: float
    low: float
    high: float
    unit: str
    #: 'lower' or 'higher': which direction is a benefit.
    better: str = "lower"
    #: "CI", or "CrI" for a posterior median and credible interval.
    interval: str = "CI"

    def describe(self, x: float) -> str:
        """Return a value of this scale as the notes print it."""
        return f"{x:.3g}" if self.unit != "per 1000" else f"{x:.0f}"


@dataclass(frozen=True)
class InformationSize:
    """The sample of a body of evidence against its optimal information size (OIS).

    For binary outcomes ``ratio`` is the relative effect (estimate, CI low, CI high) with its
    ``measure`` (RR or OR): its CI ratio tells a sample far below the OIS (Core GRADE 2).
    """

    participants: float | None
    ois: int | None
    #: How the OIS was computed, or why it could not be ("control SD not reported").
    basis: str
    far_below: float = OIS_FAR_BELOW
    ratio: tuple[float, float, float] | None = None
    measure: str = "RR"

    def ci_ratio(self) -> float | None:
        """Upper over lower limit of the relative effect's CI (None without one)."""
        if self.ratio is None or self.ratio[1] <= 0:
            return None
        return self.ratio[2] / self.ratio[1]

    def is_large(self, effect: Effect, mid: float | None) -> bool:
        """Return a large effect.

        A large effect: a relative change beyond :data:`LARGE_RRR` (binary); an effect beyond the
        MID, or any effect without one (continuous).
        """
        if self.ratio is not None:
            est = self.ratio[0]
            return est < 1 - LARGE_RRR or est > 1 / (1 - LARGE_RRR)
        return mid is None or abs(effect.estimate) >= mid

    @property
    def status(self) -> Literal["met", "below", "far below", "not assessable"]:
        """Whether the participants reach the OIS (far below: the CI ratio or 30% rule)."""
        ratio = self.ci_ratio()
        if ratio is not None and ratio >= CI_RATIO_FAR.get(self.measure, 3.0):
            return "far below"
        if self.participants is None or self.ois is None:
            return "not assessable"
        if self.participants >= self.ois or (
            self.ratio is None and self.participants >= OIS_RULE_OF_THUMB
        ):
            return "met"
        if self.ratio is None and self.participants < self.far_below * self.ois:
            return "far below"
        return "below"

    def text(self) -> str:
        """'65 participants, far below the optimal information size of 854 (...)'."""
        ratio = self.ci_ratio()
        if ratio is not None and ratio >= CI_RATIO_FAR.get(self.measure, 3.0):
            limit = CI_RATIO_FAR.get(self.measure, 3.0)
            return (
                f"the {self.measure} CI's upper limit is {ratio:.1f} times its lower (at least "
                f"{limit:g}: a sample far below the optimal information size)"
            )
        if self.status == "not assessable":
            return f"optimal information size not assessable ({self.basis})"
        assert self.participants is not None
        relation = {
            "met": "reaching",
            "below": "below",
            "far below": f"far below (under {100 * self.far_below:g}% of)",
        }[self.status]
        return (
            f"{self.participants:.0f} participants, {relation} the optimal information size of "
            f"{self.ois} ({self.basis})"
        )


@dataclass(frozen=True)
class Imprecision:
    """The imprecision judgement: levels rated down, the target, and the reasons in words."""

    levels: int
    target: str
    explanation: str
    thresholds_crossed: int = 0

    @property
    def rating(self) -> str:
        """'not serious', 'serious', 'very serious' or 'extremely serious'."""
        return WORDS[self.levels]


def target_of(effect: Effect, mid: float | None) -> str:
    """Return what the certainty is about, from the point estimate (Core GRADE 2)."""
    if mid is not None and abs(effect.estimate) < mid:
        return "little or no difference"
    benefit = (effect.estimate < 0) == (effect.better == "lower")
    if mid is None:
        return "a benefit" if benefit else "a harm"
    return "an important benefit" if benefit else "an important harm"


def rate_2022(effect: Effect, mid: float | None, size: InformationSize) -> Imprecision:
    """Imprecision by the thresholds the CI crosses and, for large effects, the OIS.

    Imprecision by the thresholds the CI crosses and, for large effects, the OIS (GRADE 34, Core
    GRADE 2 figure 4). With ``mid`` None the one threshold is no effect (0).
    """
    thresholds = [0.0] if mid is None else [-mid, mid]
    crossed = [t for t in thresholds if effect.low < t < effect.high]
    target = target_of(effect, mid)
    ci = (
        f"95% {effect.interval} {effect.describe(effect.low)} to "
        f"{effect.describe(effect.high)} {effect.unit}"
    )
    if mid is None:
        where = "the threshold of no effect (no minimal important difference declared)"
    else:
        where = f"±{effect.describe(mid)} {effect.unit} (the minimal important difference)"
    status = size.status
    if crossed:
        levels = len(crossed)
        which = (
            "crosses both thresholds (important benefit and important harm)"
            if len(crossed) == 2
            else f"crosses {effect.describe(crossed[0])} {effect.unit}"
        )
        text = f"{ci} {which}; target: {target}, judged against {where}"
        if status == "far below":
            levels += 1
            text += f"; {size.text()}, so the CI crosses appreciably"
        return Imprecision(min(levels, 3), target, text, len(crossed))
    text = f"{ci} crosses none of {where}; target: {target}"
    if not size.is_large(effect, mid):
        return Imprecision(
            0,
            target,
            text + "; the effect is not large, so the optimal information size is not needed",
        )
    levels = {"met": 0, "below": 1, "far below": 2, "not assessable": 0}[status]
    return Imprecision(levels, target, f"{text}; a large effect: {size.text()}", 0)


def rate_2011(
    effect: Effect, ratio_ci: tuple[float, float] | None, mid: float | None, size: InformationSize
) -> Imprecision:
    """Return the 2011 rule (GRADE guidelines 6).

    The 2011 rule (GRADE guidelines 6): the CI against no effect, RR 0.75/1.25 or ±MID for
    "appreciable" benefit and harm, the OIS only when the CI excludes no effect.
    """
    if ratio_ci is not None:
        lo, hi = ratio_ci
        ci = f"95% {effect.interval} of the ratio {lo:.2f} to {hi:.2f}"
        if lo < APPRECIABLE_RR[0] and hi > APPRECIABLE_RR[1]:
            return Imprecision(
                2, "an effect", ci + " includes 0.75 and 1.25 (appreciable benefit and harm)"
            )
        includes_null = lo < 1 < hi
    else:
        ci = f"95% {effect.interval} {effect.low:.3g} to {effect.high:.3g} {effect.unit}"
        if mid is not None and effect.low < -mid and effect.high > mid:
            return Imprecision(
                2, "an effect", ci + f" includes important benefit and harm (beyond ±{mid:g})"
            )
        includes_null = effect.low < 0 < effect.high
    if includes_null:
        return Imprecision(1, "an effect", ci + " includes no effect")
    if size.status in ("below", "far below"):
        return Imprecision(1, "an effect", ci + f" excludes no effect; {size.text()}")
    return Imprecision(0, "an effect", ci + " excludes no effect")


def absolute_per_1000(measure: str, acr: float, value: float) -> float:
    """Difference per 1000 at the assumed comparator risk ``acr`` for one relative effect.

    Difference per 1000 at the assumed comparator risk ``acr`` for one relative effect ``value`` on
    the display scale (RR, OR; RD as a risk difference), bounded so that the risk with the
    intervention stays within 0 and 1000 per 1000.
    """
    if measure == "OR":
        risk = acr * value / (1 - acr + acr * value)
    elif measure == "RD":
        risk = acr + value
    else:  # RR and the Peto / MH ratios shown as RR
        risk = acr * value
    risk = min(max(risk, 0.0), 1.0)
    return 1000 * (risk - acr)
