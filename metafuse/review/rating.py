"""The GRADE certainty of one analysis.

The GRADE certainty of one analysis: its facts read from the records (study infos, participants, the
assumed comparator risk), imprecision on the scale the thresholds are on (the mean difference, or
the absolute effect per 1000 for binary outcomes), and the five domains by
:func:`metafuse.review.grade.assess`; plus the notes each domain gets and the thresholds of a
Bayesian analysis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import median

from metafuse.results import PooledResult
from metafuse.review.grade import Certainty, StudyInfo, assess
from metafuse.review.imprecision import (
    Effect,
    Imprecision,
    InformationSize,
    absolute_per_1000,
    optimal_information_size_binary,
    optimal_information_size_continuous,
    rate_2011,
    rate_2022,
)
from metafuse.review.panel import GradeInputs
from metafuse.review.records import StudyRecords
from metafuse.review.selection import Selection
from metafuse.review.sof import per_1000
from metafuse.review.study_facts import Participants, participants, study_infos

LEVEL_WORDS = {1: "one level", 2: "two levels", 3: "three levels"}


@dataclass(frozen=True)
class RowContext:
    """What a row needs besides its analysis.

    What a row needs besides its analysis: the design's GRADE start, the review's rules, the assumed
    risk, the trials that could not be pooled, the analysis page.
    """

    start: str = "high"
    design: str = "RCTs"
    unpooled: tuple[str, ...] = ()
    link: str | None = None
    headline: bool = True


def effect_measure(selection: Selection) -> str:
    """Return the relative measure a binary row shows (the outcome's declared measure, else RR)."""
    measure = selection.outcome.measure
    return measure if measure in ("RR", "OR", "RD") else "RR"


def estimable_infos(result: PooledResult, infos: Sequence[StudyInfo]) -> list[StudyInfo]:
    """Return the infos of the studies in k (estimable for the measure), in order."""
    estimable = {s.study for s in result.studies if s.yi is not None}
    return [i for i in infos if i.label in estimable]


def pooled_participants(
    selection: Selection,
    result: PooledResult,
    records: StudyRecords,
    infos: Sequence[StudyInfo] | None = None,
) -> tuple[list[StudyInfo], Participants]:
    """Return the studies that enter the pooled estimate and their participants.

    A study that is not estimable for the measure (no events in either group, for a ratio) is in
    the forest plot with weight 0 but not in k: it is left out of the participants and of the
    median comparator risk too, and named in the participants' note, so that "N (k studies)"
    counts one set of studies (Cochrane Handbook ch. 14: participants and studies of the
    analysis).
    """
    pooled = estimable_infos(
        result, study_infos(selection, result, records) if infos is None else infos
    )
    count = participants(selection, records, [i.label for i in pooled])
    left_out = [s for s in result.studies if s.yi is None]
    if left_out:
        why = "; ".join(dict.fromkeys(s.note or "not estimable" for s in left_out))
        count = replace(count, left_out=tuple(s.study for s in left_out), left_out_why=why)
    return pooled, count


def assumed_risk(
    selection: Selection, grade: GradeInputs, infos: Sequence[StudyInfo]
) -> tuple[float | None, str]:
    """Return the assumed comparator risk and the note saying where it comes from."""
    if grade.assumed_risk is not None:
        return grade.assumed_risk, (
            f"Assumed comparator risk {per_1000(grade.assumed_risk)}: {grade.assumed_risk_source}."
        )
    declared = selection.outcome.assumed_risk(selection.comparison.key)
    if declared is not None:
        risk, source = declared
        return risk, f"Assumed comparator risk {per_1000(risk)}: {source}."
    risks = [i.control_risk for i in infos if i.control_risk is not None]
    if not risks:
        return None, "No assumed comparator risk: no source declared and no control-group risk."
    acr = round(median(risks) * 1000) / 1000  # the risk shown (per 1000) is the one computed with
    return acr, (
        f"Assumed comparator risk {per_1000(acr)}: the median control-group risk of the pooled "
        "trials (no representative source declared for this outcome)."
    )


def information_size(
    selection: Selection,
    result: PooledResult,
    infos: Sequence[StudyInfo],
    count: Participants,
    acr: float | None,
    mid: float | None,
    far_below: float,
) -> InformationSize:
    """Return the participants of the row against the optimal information size.

    The participants of the row against the optimal information size (binary outcomes also carry the
    relative effect, whose CI ratio can show a sample far below it).
    """
    total = None if count.unknown else count.total
    if selection.outcome.is_binary:
        measure = effect_measure(selection)
        ratio: tuple[float, float, float] | None = None
        if measure != "RD":
            est, lo, hi = result.effect_ci()
            ratio = (math.exp(est), math.exp(lo), math.exp(hi))
        if acr is None or not 0 < acr < 1:
            return InformationSize(
                total, None, "no assumed comparator risk", far_below, ratio, measure
            )
        basis = f"comparator risk {per_1000(acr)}, relative risk reduction 25%, α 0.05, power 0.80"
        ois = optimal_information_size_binary(acr)
        return InformationSize(total, ois, basis, far_below, ratio, measure)
    if selection.outcome.measure == "SMD":
        sds = [1.0]  # an SMD and its MID are in SD units
    else:
        sds = sorted(i.control_sd for i in infos if i.control_sd is not None)
    if mid is None:
        return InformationSize(total, None, "no minimal important difference", far_below)
    if not sds:
        return InformationSize(total, None, "control-group SD not reported", far_below)
    sd = sds[len(sds) // 2]
    basis = f"SD {sd:g}, difference {mid:g}, α 0.05, power 0.80"
    return InformationSize(total, optimal_information_size_continuous(sd, mid), basis, far_below)


def rate_imprecision(
    selection: Selection,
    result: PooledResult,
    grade: GradeInputs,
    acr: float | None,
    size: InformationSize,
    *,
    interval: str = "CI",
    mid: float | None = None,
) -> Imprecision:
    """Imprecision by the review's rule set (absolute scale for binary outcomes)."""
    est, lo, hi = result.effect_ci()
    outcome = selection.outcome
    mid = grade.mid if mid is None else mid
    if outcome.is_binary:
        measure = effect_measure(selection)
        to_display = (lambda x: x) if measure == "RD" else math.exp
        if acr is None:
            return Imprecision(
                1 if to_display(lo) < (0 if measure == "RD" else 1) < to_display(hi) else 0,
                "an effect",
                "no assumed comparator risk, so no absolute effect to judge",
            )
        a_est, a_lo, a_hi = (absolute_per_1000(measure, acr, to_display(x)) for x in (est, lo, hi))
        effect = Effect(a_est, a_lo, a_hi, "per 1000", outcome.better, interval)
        ratio_ci = None if measure == "RD" else (math.exp(lo), math.exp(hi))
    else:
        effect = Effect(
            est, lo, hi, unit=outcome.unit or "points", better=outcome.better, interval=interval
        )
        ratio_ci = None
    if grade.rules == "grade-2011":
        return rate_2011(effect, ratio_ci, mid, size)
    return rate_2022(effect, mid, size)


#: Domains whose note the evidence profile always shows: imprecision (it names the target and
#: the thresholds) and publication bias ('undetected' with its reason: the test and its P value).
NAMED_ALWAYS = ("imprecision", "publication bias")


def domain_notes(certainty: Certainty) -> dict[str, tuple[str, ...]]:
    """Domain -> its note.

    Domain -> its note: every domain rated down, judged, not judged or not assessable, and
    those of :data:`NAMED_ALWAYS`. The evidence profile shows them
    all, each on its domain's cell; the SoF certainty cell those of :func:`sof_domain_notes`.
    """
    out: dict[str, tuple[str, ...]] = {}
    for d in certainty.domains:
        how = "judgement" if d.judged else "rule"
        if d.downgrade:
            extra = f"; the rule suggested {d.suggested}" if d.suggested else ""
            text = (
                f"{d.domain.capitalize()}: rated down {LEVEL_WORDS[d.downgrade]} "
                f"({d.rating}; {how}): {d.explanation}{extra}."
            )
        elif d.judged or d.rating in ("not judged", "not assessable") or d.domain in NAMED_ALWAYS:
            text = f"{d.domain.capitalize()}: {d.rating} ({how}): {d.explanation}."
        else:
            continue
        out[d.domain] = (text,)
    return out


def sof_domain_notes(certainty: Certainty) -> dict[str, tuple[str, ...]]:
    """Return the domain notes of a SoF certainty cell: domains rated down, judged or not judged.

    The domain notes a SoF certainty cell carries: domains rated down, judged or not judged.
    """
    notes = domain_notes(certainty)
    return {
        d.domain: notes[d.domain]
        for d in certainty.domains
        if d.domain in notes and (d.downgrade or d.rating == "not judged" or d.judged)
    }


def threshold_scale(
    selection: Selection, result: PooledResult, acr: float | None, mid: float | None
) -> tuple[list[float], list[float]]:
    """Return the pooled studies' estimates on the scale imprecision is judged on.

    The pooled studies' estimates on the scale imprecision is judged on (MD, or the difference per
    1000 at the assumed comparator risk) and the thresholds on it (±MID, or no effect); binary rows
    without an assumed risk fall back to the log scale and no effect.
    """
    effects = result.effects
    if effects is None:
        return [], []
    yi = [float(y) for y, ok in zip(effects.yi, effects.estimable, strict=True) if ok]
    binary = selection.outcome.is_binary
    if not binary:
        return yi, [0.0] if mid is None else [-mid, mid]
    measure = effect_measure(selection)
    if acr is None:
        return yi, [0.0]
    to_display = (lambda y: y) if measure == "RD" else math.exp
    values = [absolute_per_1000(measure, acr, to_display(y)) for y in yi]
    return values, [0.0] if mid is None else [-mid, mid]


def rate(
    selection: Selection,
    result: PooledResult,
    records: StudyRecords,
    grade: GradeInputs,
    small_study: dict[str, dict[str, float]] | None,
    ctx: RowContext,
    *,
    interval: str = "CI",
    mid: float | None = None,
) -> tuple[Certainty, tuple[list[StudyInfo], Participants, float | None, str]]:
    """Return the certainty of one analysis, and the facts it rests on.

    The certainty of one analysis, and the facts it rests on (study infos, participants, assumed
    comparator risk and its note).
    """
    infos = study_infos(selection, result, records)
    pooled, count = pooled_participants(selection, result, records, infos)
    acr, acr_note = (
        assumed_risk(selection, grade, pooled)
        if selection.outcome.is_binary
        else (
            None,
            "",
        )
    )
    mid = grade.mid if mid is None else mid
    size = information_size(selection, result, infos, count, acr, mid, grade.ois_far_below)
    imprecision = rate_imprecision(selection, result, grade, acr, size, interval=interval, mid=mid)
    values, thresholds = threshold_scale(selection, result, acr, mid)
    certainty = assess(
        result,
        infos,
        imprecision,
        start=ctx.start,
        indirectness=grade.indirectness,
        overrides=grade.overrides,
        small_study=small_study,
        unpooled=ctx.unpooled,
        rules=grade.rules,
        study_values=values,
        thresholds=thresholds,
    )
    return certainty, (infos, count, acr, acr_note)


def measure_of(selection: Selection) -> str:
    """Return the measure of a selection's pooled effect: the binary row's measure, or MD."""
    return effect_measure(selection) if selection.outcome.is_binary else "MD"


def bayes_thresholds(
    selection: Selection, result: PooledResult, records: StudyRecords, grade: GradeInputs
) -> tuple[float, float] | None:
    """Return the decision thresholds of a Bayesian analysis on its analysis scale.

    The decision thresholds of a Bayesian analysis on its analysis scale: ±MID (continuous); for
    binary outcomes the relative effects that correspond to ∓ the absolute MID per 1000 at the
    assumed comparator risk (-inf/+inf where that risk would leave 0-1).
    """
    mid = grade.mid
    if mid is None:
        return None
    if not selection.outcome.is_binary:
        return -mid, mid
    acr, _ = assumed_risk(
        selection, grade, estimable_infos(result, study_infos(selection, result, records))
    )
    if acr is None or not 0 < acr < 1:
        return None
    measure = effect_measure(selection)
    step = mid / 1000
    if measure == "RD":
        return -step, step

    def relative(risk: float) -> float:
        if risk <= 0:
            return -math.inf
        if risk >= 1:
            return math.inf
        if measure == "OR":
            return math.log(risk / (1 - risk) / (acr / (1 - acr)))
        return math.log(risk / acr)

    return relative(acr - step), relative(acr + step)
