"""From a pooled analysis to its summary-of-findings row: GRADE certainty, absolute effects, an
informative statement, and every footnote attached to the cell it explains.

Absolute effects (GRADE guidelines 12/13): for binary outcomes the risk with the intervention and
the difference per 1000 follow from the assumed comparator risk (declared with its source in
review.toml or the spec; else the median control-group risk of the pooled trials, said so) and the
relative effect with its CI, bounded to 0-1000 per 1000; for continuous outcomes the intervention
mean is the comparator mean plus the mean difference.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from metafuse.bayes import BayesResult
from metafuse.results import PooledResult
from metafuse.review.grade import DOMAINS, Certainty, GradeInputs, StudyInfo, assess
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
from metafuse.review.narrative import reason_words
from metafuse.review.records import StudyRecords
from metafuse.review.selection import Selection
from metafuse.review.sof import (
    Cell,
    SofRow,
    difference_words,
    fmt_ratio,
    mean_difference_text,
    per_1000,
)
from metafuse.review.statements import in_sentence, informative_statement
from metafuse.review.study_facts import (
    Participants,
    control_means,
    follow_up,
    participants,
    patients,
    scale_of,
    study_infos,
)

LEVEL_WORDS = {1: "one level", 2: "two levels", 3: "three levels"}


@dataclass(frozen=True)
class RowContext:
    """What a row needs besides its analysis: the design's GRADE start, the review's rules, the
    assumed risk, the trials that could not be pooled, the analysis page."""

    start: str = "high"
    design: str = "RCTs"
    unpooled: tuple[str, ...] = ()
    link: str | None = None
    headline: bool = True


def effect_measure(selection: Selection) -> str:
    """The relative measure a binary row shows (the outcome's declared measure, else RR)."""
    measure = getattr(selection.outcome, "measure", "RR")
    return measure if measure in ("RR", "OR", "RD") else "RR"


def assumed_risk(
    selection: Selection, grade: GradeInputs, infos: Sequence[StudyInfo]
) -> tuple[float | None, str]:
    """The assumed comparator risk and the note saying where it comes from."""
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
    acr = median(risks)
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
    """The participants of the row against the optimal information size (binary outcomes also
    carry the relative effect, whose CI ratio can show a sample far below it)."""
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


def domain_notes(certainty: Certainty) -> dict[str, tuple[str, ...]]:
    """Domain -> its note: every domain rated down, judged, not judged or not assessable, and
    imprecision always (it names the target and the thresholds). The evidence profile shows
    them all, each on its domain's cell; the SoF certainty cell those of
    :func:`sof_domain_notes`."""
    out: dict[str, tuple[str, ...]] = {}
    for d in certainty.domains:
        how = "judgement" if d.judged else "rule"
        if d.downgrade:
            extra = f"; the rule suggested {d.suggested}" if d.suggested else ""
            text = (
                f"{d.domain.capitalize()}: rated down {LEVEL_WORDS[d.downgrade]} "
                f"({d.rating}; {how}): {d.explanation}{extra}."
            )
        elif d.judged or d.rating in ("not judged", "not assessable") or d.domain == "imprecision":
            text = f"{d.domain.capitalize()}: {d.rating} ({how}): {d.explanation}."
        else:
            continue
        out[d.domain] = (text,)
    return out


def sof_domain_notes(certainty: Certainty) -> dict[str, tuple[str, ...]]:
    """The domain notes a SoF certainty cell carries: domains rated down, judged or not
    judged."""
    notes = domain_notes(certainty)
    return {
        d.domain: notes[d.domain]
        for d in certainty.domains
        if d.domain in notes and (d.downgrade or d.rating == "not judged" or d.judged)
    }


def _provenance(selection: Selection) -> list[str]:
    notes = []
    if selection.weak:
        notes.append(
            "Rests partly on weak sources (a meeting abstract, news report or unverified quote): "
            + ", ".join(selection.weak)
            + "."
        )
    if selection.derived:
        notes.append(
            "Numbers derived from what the publication prints (a contrast reversed, a count from "
            "a percentage, an SD from a CI or P value): " + ", ".join(selection.derived) + "."
        )
    if selection.borrowed:
        notes.append(
            "SD borrowed from another trial on the same scale (approximate): "
            + ", ".join(selection.borrowed)
            + "; see the sensitivity analysis without them."
        )
    return notes


def _binary_cells(
    selection: Selection, result: PooledResult, acr: float | None, acr_note: str
) -> tuple[Cell, Cell, Cell, Cell]:
    est, lo, hi = result.effect_ci()
    measure = effect_measure(selection)
    if measure == "RD":
        relative = Cell("—")
        ratios = (est, lo, hi)
    else:
        ratios = (math.exp(est), math.exp(lo), math.exp(hi))
        relative = Cell(fmt_ratio(measure, *ratios))
    if acr is None:
        return Cell("—", (acr_note,)), Cell("—"), Cell("—"), relative
    diffs = [absolute_per_1000(measure, acr, r) for r in ratios]
    risks = [acr + d / 1000 for d in diffs]
    intervention = f"{per_1000(risks[0])} ({per_1000(risks[1]).split()[0]} to {per_1000(risks[2])})"
    difference = (
        f"{difference_words(diffs[0])} per 1000 (from {difference_words(diffs[1])} to "
        f"{difference_words(diffs[2])})"
    )
    return Cell(per_1000(acr), (acr_note,)), Cell(intervention), Cell(difference), relative


def _continuous_cells(
    selection: Selection, records: StudyRecords, result: PooledResult
) -> tuple[Cell, Cell, Cell, Cell]:
    est, lo, hi = result.effect_ci()
    means = control_means(selection, records)
    unit = selection.outcome.unit or "points"
    difference = Cell(mean_difference_text(est, lo, hi))
    if not means:
        return (
            Cell("—", ("Comparator mean not reported by the pooled trials.",)),
            Cell("—"),
            difference,
            Cell("—"),
        )
    base = median(means)
    if len(means) == 1:
        comparator = Cell(f"mean {base:g} {unit}")
    else:
        comparator = Cell(
            f"mean {base:g} {unit}",
            (
                f"Comparator mean: the median of the pooled trials' comparator-group means "
                f"({min(means):g} to {max(means):g}).",
            ),
        )
    intervention = Cell(f"mean {base + est:.1f} ({base + lo:.1f} to {base + hi:.1f})")
    return comparator, intervention, difference, Cell("—")


def sof_row(
    selection: Selection,
    result: PooledResult,
    records: StudyRecords,
    grade: GradeInputs,
    small_study: dict[str, dict[str, float]] | None = None,
    bayes: BayesResult | None = None,
    primary_bayes: bool = False,
    context: RowContext | None = None,
) -> SofRow:
    """One SoF row for an analysis, with its GRADE rating and every footnote on its cell. With
    ``primary_bayes`` the effect cells and imprecision use the Bayesian posterior ``bayes``."""
    ctx = context or RowContext()
    effect_notes: list[str] = []
    if bayes is not None:
        frequentist = _effect_text(selection, *result.effect_ci())
        effect_notes.append(bayes_footnote(bayes, selection, primary_bayes, frequentist))
        if primary_bayes:
            result = dataclasses.replace(
                result, estimate=bayes.mu_median, ci_low=bayes.mu_ci_low, ci_high=bayes.mu_ci_high
            )
    certainty, facts = rate(
        selection,
        result,
        records,
        grade,
        small_study,
        ctx,
        interval="CrI" if primary_bayes and bayes is not None else "CI",
    )
    _, count, acr, acr_note = facts
    when, when_note = follow_up(selection, records)
    scale = scale_of(selection, records)
    outcome_notes = [n for n in (when_note,) if n]
    outcome_notes += [
        f"Not pooled: {label} ({reason_words(reason)})." for label, reason in selection.incomplete
    ]
    if selection.evidence != "randomised":
        outcome_notes.append(
            "Observational studies: certainty starts at low; rated apart from the randomised "
            "trials, whose row is separate (GRADE guidance 24)."
        )
    if selection.outcome.is_binary:
        comparator, intervention, difference, relative = _binary_cells(
            selection, result, acr, acr_note
        )
    else:
        comparator, intervention, difference, relative = _continuous_cells(
            selection, records, result
        )
    effect_notes += _provenance(selection)
    if selection.outcome.is_binary and relative.text != "—":
        relative = Cell(relative.text, tuple(effect_notes))
    else:
        difference = Cell(difference.text, tuple(effect_notes))
    statement = informative_statement(
        certainty.level,
        certainty.target,
        result.effect_ci()[0] < 0,
        selection.comparison.intervention or selection.comparison.experimental,
        selection.comparison.control,
        in_sentence(selection.outcome.short or selection.outcome.label),
    )
    comments = " ".join(t for t in (statement, grade.comment) if t)
    count_note = count.note()
    shown = scale and not selection.outcome.is_binary  # a binary row's label says it all
    label = f"{selection.outcome.label}" + (f": {scale}" if shown else "") + f"; {when}"
    if selection.evidence != "randomised":
        label += f"; {selection.evidence} studies"
    return SofRow(
        key=selection.outcome.key,
        outcome=Cell(label, tuple(outcome_notes), ctx.link),
        comparator=comparator,
        intervention=intervention,
        difference=difference,
        relative=relative,
        participants=Cell(count.text(result.k, ctx.design), (count_note,) if count_note else ()),
        certainty=certainty,
        certainty_notes=(),
        comments=Cell(comments),
        studies=result.k,
        design="randomised trials"
        if ctx.start == "high" and selection.evidence == "randomised"
        else f"{selection.evidence} studies",
        patients=patients(selection, records),
        domain_notes=domain_notes(certainty),
        sof_notes=sof_domain_notes(certainty),
        importance=selection.outcome.importance,
        harm=selection.outcome.harm,
        headline=ctx.headline,
    )


def threshold_scale(
    selection: Selection, result: PooledResult, acr: float | None, mid: float | None
) -> tuple[list[float], list[float]]:
    """The pooled studies' estimates on the scale imprecision is judged on (MD, or the
    difference per 1000 at the assumed comparator risk) and the thresholds on it (±MID, or no
    effect); binary rows without an assumed risk fall back to the log scale and no effect."""
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
    """The certainty of one analysis, and the facts it rests on (study infos, participants,
    assumed comparator risk and its note)."""
    infos = study_infos(selection, result, records)
    count = participants(selection, records, [i.label for i in infos])
    acr, acr_note = (
        assumed_risk(selection, grade, infos)
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


def _effect_text(selection: Selection, est: float, lo: float, hi: float) -> str:
    """The effect in words, from analysis-scale numbers ('RR 0.37 (0.13 to 1.02)')."""
    if selection.outcome.is_binary and effect_measure(selection) != "RD":
        return fmt_ratio(effect_measure(selection), math.exp(est), math.exp(lo), math.exp(hi))
    return mean_difference_text(est, lo, hi)


def bayes_footnote(
    bayes: BayesResult, selection: Selection, primary: bool, frequentist: str
) -> str:
    """The footnote of a Bayesian analysis: its estimate with the credible interval and the
    prior in words (with its source); as the primary analysis, what it replaces."""
    pct = f"{100 * bayes.level:g}%"
    effect = _effect_text(selection, bayes.mu_median, bayes.mu_ci_low, bayes.mu_ci_high)
    effect = effect.replace(" (", f" ({pct} CrI ", 1)
    source = bayes.options.get("prior_source", "")
    prior = f"{bayes.prior}" + (f"; prior source: {source}" if source else "")
    extra = ""
    if bayes.p_thresholds is not None:
        below, between, above = bayes.p_thresholds
        extra = (
            f" Posterior probability of an important reduction {100 * below:.0f}%, of little or "
            f"no difference {100 * between:.0f}%, of an important increase {100 * above:.0f}% "
            "(thresholds: the minimal important difference)."
        )
    if primary:
        return (
            f"Primary analysis: Bayesian random-effects model (posterior median and {pct} "
            f"credible interval, {effect}); imprecision is judged on the credible interval."
            f"{extra} Prior: {prior}. Frequentist random-effects model: {frequentist}."
        )
    return (
        f"Few studies (k = {bayes.k}): a Bayesian random-effects analysis gives {effect}.{extra} "
        f"Prior: {prior}."
    )


def empty_row(
    key: str, outcome: Cell, comment: Cell, importance: str = "", harm: bool = False
) -> SofRow:
    """A SoF row for an outcome without usable data (listed, not hidden)."""
    return SofRow(key=key, outcome=outcome, comments=comment, importance=importance, harm=harm)


def with_note(row: SofRow, note: str, cell: str = "relative") -> SofRow:
    """The row with one more footnote on one of its cells (default: the relative effect for
    binary rows; sensitivity analyses and other analyses of the same question go there)."""
    if cell == "certainty":
        return dataclasses.replace(row, certainty_notes=(*row.certainty_notes, note))
    target: Cell = getattr(row, cell)
    changes: dict[str, Any] = {cell: dataclasses.replace(target, notes=(*target.notes, note))}
    return dataclasses.replace(row, **changes)


__all__ = ["DOMAINS", "RowContext", "empty_row", "rate", "sof_row", "with_note"]


def measure_of(selection: Selection) -> str:
    """The measure of a selection's pooled effect: the binary row's measure, or MD."""
    return effect_measure(selection) if selection.outcome.is_binary else "MD"


def bayes_thresholds(
    selection: Selection, result: PooledResult, records: StudyRecords, grade: GradeInputs
) -> tuple[float, float] | None:
    """The decision thresholds of a Bayesian analysis on its analysis scale: ±MID
    (continuous); for binary outcomes the relative effects that correspond to ∓ the absolute
    MID per 1000 at the assumed comparator risk (-inf/+inf where that risk would leave 0-1)."""
    mid = grade.mid
    if mid is None:
        return None
    if not selection.outcome.is_binary:
        return -mid, mid
    acr, _ = assumed_risk(selection, grade, study_infos(selection, result, records))
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
