"""Each published meta-analysis of ``published_estimates.csv`` (its ``review`` column) beside our
own analyses, comparison by comparison and outcome by outcome: their figures, ours (the fitted
analyses of this build), the trials on each side, and every difference with its reason.

Like is set beside like: where their measure is not our protocol's (their OR, our RR) and our
analysis pools arm-level 2x2 tables or means, ours is re-pooled in their measure from the same
arm data and shown beside theirs; where it cannot be (contrast records, another outcome type) the
difference of measures is named. The reasons come from the data: the trial x outcome x window
cells we lack (:func:`metafuse.review.gaps.gap_cells`), the designs each side admits, the
follow-up each side uses, events that they pool together and our records keep apart (their row's
caveat says 'unlike events'; our arm records say which event each arm counts), and what their
source leaves unprinted. Their estimates are never pooled with ours: their trials are unknown and
may overlap.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Final

import pandas as pd

from metafuse.exceptions import ExcludedStudyWarning
from metafuse.measures import TABLE_METHODS, normalise_method
from metafuse.pipeline.run import Analysis
from metafuse.pooling import pool
from metafuse.review.gaps import GapCell, gap_cells
from metafuse.review.published import page_name
from metafuse.review.records import StudyRecords
from metafuse.review.vocabulary import MEASURE_NAMES, OUTCOME_MEASURES

UNLIKE: Final = "unlike events"


@dataclass(frozen=True)
class Ours:
    """One of our primary analyses of the outcome, in our protocol's measure and, where their
    measure differs and our data allow, re-pooled in theirs."""

    name: str
    window: str
    k: int
    labels: tuple[str, ...]
    text: str
    #: Our result in their measure (same trials and arm data), or None.
    in_their_measure: str | None = None


@dataclass(frozen=True)
class Difference:
    """What differs between their figure and ours, each side's value, and why."""

    topic: str
    theirs: str
    ours: str
    reason: str


@dataclass(frozen=True)
class OutcomeComparison:
    """Their published row for one outcome, our analyses of it, and the differences."""

    outcome: str
    label: str
    theirs: pd.Series
    ours: tuple[Ours, ...]
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class ComparisonSection:
    """Their rows for one of our comparisons, with our trials of that comparison."""

    comparison: str
    comparison_label: str
    #: 'experimental / control' arm names of the comparison (review.toml).
    arms: str
    our_trials: tuple[tuple[str, ...], ...]
    outcomes: tuple[OutcomeComparison, ...]


@dataclass(frozen=True)
class PublishedReview:
    """Everything the page of one published review shows."""

    review: str
    page: str
    citation: str
    quotes: tuple[str, ...]
    their_studies: str
    their_patients: str
    their_designs: str
    their_trials: str
    sections: tuple[ComparisonSection, ...]

    @property
    def outcomes(self) -> tuple[OutcomeComparison, ...]:
        """Every outcome row of every comparison, in page order."""
        return tuple(o for s in self.sections for o in s.outcomes)


def published_reviews(records: StudyRecords) -> list[str]:
    """The reviews named in published_estimates.csv, in file order (none without the file)."""
    pub = records.published_estimates
    return [] if pub is None else list(dict.fromkeys(str(r) for r in pub["review"]))


def _num(x: object) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x):g}"  # type: ignore[arg-type]


def _distinct(values: pd.Series, missing: str) -> str:
    shown = list(dict.fromkeys(v for v in values if isinstance(v, str) and v))
    return ", ".join(shown) if shown else missing


def _p(row: pd.Series, column: str) -> str:
    """A number of a published row as printed ('' when missing)."""
    text = row[f"printed_{column}"]
    return text if isinstance(text, str) else ""


def their_result(row: pd.Series) -> str:
    """'RR 21.46 [4.34, 106.04], P = 0.0002' or 'no number printed' (numbers as printed)."""
    if not _p(row, "estimate"):
        return "no number printed"
    text = f"{row['measure']} {_p(row, 'estimate')}"
    if _p(row, "ci_low"):
        text += f" [{_p(row, 'ci_low')}, {_p(row, 'ci_high')}]"
    text += f", P = {row['p']}" if isinstance(row["p"], str) else ""
    derivation = row.get("derivation")
    if isinstance(derivation, str) and derivation.strip():
        text += f" (computed here from what they print: {derivation.strip()})"
    return text


def _their_measure(row: pd.Series) -> str | None:
    return str(row["measure"]) if isinstance(row["measure"], str) and row["measure"] else None


def _result_text(label: str, estimate: float | None, low: float | None, high: float | None) -> str:
    def fmt(x: float | None) -> str:
        return "NA" if x is None else f"{x:.2f}"

    return f"{label} {fmt(estimate)} [{fmt(low)}, {fmt(high)}]"


def repooled(analysis: Analysis, measure: str) -> str | None:
    """Our analysis re-pooled in ``measure`` from the same arm-level data (same trials and,
    where it applies to the measure, the same method; a Mantel-Haenszel or Peto analysis falls
    back to Mantel-Haenszel, else to REML); None when the data are contrasts or of another type."""
    s, r = analysis.selection, analysis.result
    if s is None or r is None or s.measure == "GEN":
        return None
    if measure not in OUTCOME_MEASURES[s.outcome.type] or measure == s.outcome.measure:
        return None
    method = analysis.spec.method
    try:
        method = normalise_method(method, measure)
    except ValueError:
        method = "MH" if method in TABLE_METHODS else "REML"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedStudyWarning)
        other = pool(
            s.frame,
            measure,
            method,
            analysis.spec.hksj,
            **analysis.spec.pool_options(),
            scale_name=MEASURE_NAMES[measure],
            unit=s.outcome.unit if measure == "MD" else None,
        )
    b = other.back_transformed()
    text = _result_text(other.display_scale.label, b["estimate"], b["ci_low"], b["ci_high"])
    return f"{text} ({method}, re-pooled here from the same arm data)"


def _ours(analyses: list[Analysis], comparison: str, row: pd.Series) -> tuple[Ours, ...]:
    outcome, theirs = str(row["outcome"]), _their_measure(row)
    out = []
    for a in analyses:
        s, r = a.selection, a.result
        if s is None or r is None or a.spec.is_secondary:
            continue
        if s.comparison.key != comparison or s.outcome.key != outcome:
            continue
        b = r.back_transformed()
        text = _result_text(r.display_scale.label, b["estimate"], b["ci_low"], b["ci_high"])
        again = repooled(a, theirs) if theirs is not None else None
        out.append(Ours(a.spec.name, s.window.label, r.k, tuple(s.labels), text, again))
    return tuple(out)


def our_text(o: Ours) -> str:
    """'about 2 years (12-30 months), k = 3: Mean difference (points) -0.28 [-5.11, 4.55]', with
    the result in their measure when re-pooled."""
    extra = f"; in their measure: {o.in_their_measure}" if o.in_their_measure else ""
    return f"{o.window}, k = {o.k}: {o.text}{extra}"


def _trial_text(trial: str, mine: list[GapCell], windows: dict[str, str]) -> str | None:
    """'Smith: nothing recorded' or 'Smith: about 5 years: incomplete (…): missing n_exp'."""
    if all(c.status == "missing" for c in mine):
        return f"{trial}: nothing recorded"
    lacking = [f"{windows[c.window]}: {c.describe()}" for c in mine if c.status != "data"]
    return f"{trial}: " + "; ".join(lacking) if lacking else None


def cells_we_lack(
    records: StudyRecords, comparison: str, outcome: str, every: list[GapCell] | None = None
) -> tuple[str, list[str]]:
    """A count of the cells ('4 of 21 cells have data') and one line per trial lacking some;
    ``every`` is :func:`gap_cells` of the records when already computed."""
    every = gap_cells(records) if every is None else every
    cells = [c for c in every if c.comparison == comparison and c.outcome == outcome]
    windows = {k: w.label for k, w in records.review.windows.items()}
    usable = sum(c.status in ("data", "weak") for c in cells)
    lines = []
    for trial in dict.fromkeys(c.trial for c in cells):
        text = _trial_text(trial, [c for c in cells if c.trial == trial], windows)
        if text is not None:
            lines.append(text)
    return f"{usable} of {len(cells)} trial x window cells have usable data", lines


def _clause(text: object, marker: str | None = None) -> str:
    """The first '; '-separated clause of a caveat (or the first containing ``marker``)."""
    if not isinstance(text, str):
        return ""
    parts = [p.strip() for p in text.split("; ") if p.strip()]
    if marker is not None:
        parts = [p for p in parts if marker in p.lower()]
    return parts[0] if parts else ""


def _arm_caveats(records: StudyRecords, comparison: str, outcome: str) -> list[str]:
    o = records.outcomes
    reports = records.trials.loc[records.trials["comparison"] == comparison, "report_id"]
    rows = o[(o["outcome"] == outcome) & o["report_id"].isin(reports) & o["arm"].notna()]
    return [
        f"{records.label(str(r.report_id))} {r.arm}: {_clause(r.caveat)}"
        for r in rows.itertuples(index=False)
        if isinstance(r.caveat, str)
    ]


def _our_designs(records: StudyRecords, comparison: str) -> str:
    t = records.trials
    return ", ".join(sorted(set(t.loc[t["comparison"] == comparison, "design"])))


def _measure_difference(
    records: StudyRecords, row: pd.Series, ours: tuple[Ours, ...]
) -> Difference | None:
    """Their measure against our protocol's, and whether ours could be set in theirs."""
    theirs, outcome = _their_measure(row), records.review.outcomes.get(str(row["outcome"]))
    if theirs is None or outcome is None or theirs == outcome.measure:
        return None
    mine = f"{outcome.measure_label} (the review's measure for {outcome.key})"
    again = [o.name for o in ours if o.in_their_measure]
    kept = [o.name for o in ours if not o.in_their_measure]
    if theirs not in OUTCOME_MEASURES[outcome.type]:
        reason = f"{theirs} is not a measure of a {outcome.type} outcome: not comparable as such"
    elif not ours:
        reason = "no pooled result of ours to set in their measure"
    else:
        parts = []
        if again:
            parts.append(
                f"ours re-pooled as {theirs} from the same arm data and shown beside theirs "
                f"({', '.join(again)})"
            )
        if kept:
            parts.append(
                f"not re-pooled as {theirs} where our trials include contrasts only (generic "
                f"inverse variance), whose measure cannot be changed ({', '.join(kept)})"
            )
        reason = "; ".join(parts)
    return Difference("measure", theirs, mine, reason)


def differences(
    records: StudyRecords,
    row: pd.Series,
    ours: tuple[Ours, ...],
    cells: list[GapCell] | None = None,
) -> tuple[Difference, ...]:
    """Every difference between their row and our analyses of the outcome, with its reason
    (``cells``: :func:`gap_cells` of the records when already computed)."""
    comparison, outcome = str(row["comparison"]), str(row["outcome"])
    count, lacking = cells_we_lack(records, comparison, outcome, cells)
    lack = count + (": " + "; ".join(lacking) if lacking else "")
    ours_text = "; ".join(our_text(o) for o in ours) or "no pooled result"
    out: list[Difference] = []
    if not _num(row["estimate"]):
        reason = f"their source prints no number: “{_clause(row['caveat'])}”"
        out.append(Difference("their result", "no number printed", ours_text, reason))
    if not ours:
        reason = f"we lack the trial data: {lack}"
        out.append(Difference("our result", their_result(row), "no pooled result", reason))
    else:
        studies = f"{_p(row, 'n_studies') or 'number not printed'} studies; which: not found"
        labels = "; ".join(f"{o.window}: {', '.join(o.labels)}" for o in ours)
        reason = f"their included trials were not found, so no trial-by-trial check; {lack}"
        out.append(Difference("trials", studies, labels, reason))
        windows = "; ".join(o.window for o in ours)
        reason = "their follow-up split as printed; ours are the review's windows (review.toml)"
        out.append(Difference("follow-up", str(row["timepoint"]), windows, reason))
        if _num(row["estimate"]):
            reason = "different trials and follow-up (see the rows above)"
            out.append(Difference("estimate", their_result(row), ours_text, reason))
    measure = _measure_difference(records, row, ours)
    if measure is not None:
        out.append(measure)
    designs, our_designs = str(row["designs"]), _our_designs(records, comparison)
    if designs != our_designs:
        reason = (
            f"different inclusion: their designs as printed ('{designs}') against the designs "
            f"of our comparison {comparison} trials (trials.csv)"
        )
        out.append(Difference("designs", designs, our_designs, reason))
    if UNLIKE in str(row["caveat"]).lower():
        label = records.review.outcomes[outcome].label if outcome in records.review.outcomes else ""
        arms = _arm_caveats(records, comparison, outcome)
        reason = "the arms count different events; our arm records say which: " + "; ".join(arms)
        theirs = _clause(row["caveat"], UNLIKE)
        out.append(Difference("events pooled", theirs, f"{label}: kept per arm", reason))
    return tuple(out)


def _their_trials(rows: pd.DataFrame) -> str:
    """What is known of their included trials: no file lists them, so 'not found', with the
    caveat clause of their rows that says so."""
    said = [c for c in (_clause(v, "trials") for v in rows["caveat"]) if c]
    where = f": '{said[0]}' (published_estimates.csv)" if said else ""
    return f"**not found**{where}"


def _our_trials(
    records: StudyRecords, comparison: str, analyses: list[Analysis]
) -> tuple[tuple[str, ...], ...]:
    used: dict[str, list[str]] = {}
    for a in analyses:
        if a.selection is None or a.result is None or a.spec.is_secondary:
            continue
        if a.selection.comparison.key == comparison:
            for label in a.selection.labels:
                used.setdefault(label, []).append(a.spec.name)
    t = records.trials[records.trials["comparison"] == comparison].sort_values(
        ["year", "report_id"]
    )
    rows = []
    for r in t.itertuples(index=False):
        label = records.label(str(r.report_id))
        exp, ctrl = _num(r.n_randomised_exp), _num(r.n_randomised_ctrl)
        randomised = f"{exp or 'not printed'} / {ctrl or 'not printed'}"
        names = ", ".join(used.get(label, [])) or "none"
        rows.append((label, str(r.trial), str(r.design), randomised, names))
    return tuple(rows)


def _section(
    records: StudyRecords,
    comparison: str,
    rows: pd.DataFrame,
    analyses: list[Analysis],
    cells: list[GapCell],
) -> ComparisonSection:
    outcomes = []
    for _, row in rows.iterrows():
        outcome = str(row["outcome"])
        known = records.review.outcomes.get(outcome)
        ours = _ours(analyses, comparison, row)
        label = known.label if known is not None else outcome
        outcomes.append(
            OutcomeComparison(outcome, label, row, ours, differences(records, row, ours, cells))
        )
    c = records.review.comparisons[comparison]
    return ComparisonSection(
        comparison,
        c.label,
        f"{c.experimental} / {c.control}",
        _our_trials(records, comparison, analyses),
        tuple(outcomes),
    )


def published_review(
    review: str, records: StudyRecords, analyses: list[Analysis]
) -> PublishedReview | None:
    """The page of the review named ``review`` in published_estimates.csv (None when the folder
    has no row of it)."""
    pub = records.published_estimates
    if pub is None:
        return None
    rows = pub[pub["review"] == review]
    if rows.empty:
        return None
    citations = records.sources.set_index("source_id")["citation"]
    cells = gap_cells(records)
    sections = tuple(
        _section(records, str(c), rows[rows["comparison"] == c], analyses, cells)
        for c in dict.fromkeys(rows["comparison"])
    )
    return PublishedReview(
        review=review,
        page=page_name(review),
        citation="; ".join(dict.fromkeys(str(citations[s]) for s in rows["source_id"])),
        quotes=tuple(dict.fromkeys(str(q) for q in rows["quote"])),
        their_studies=_distinct(rows["printed_n_studies"], "not printed"),
        their_patients=_distinct(rows["printed_n_patients"], "not printed"),
        their_designs=", ".join(dict.fromkeys(str(d) for d in rows["designs"])),
        their_trials=_their_trials(rows),
        sections=sections,
    )
