"""What differs between a published review's row and our analyses of the same comparison and.

What differs between a published review's row and our analyses of the same comparison and outcome,
each with its reason (see :mod:`metafuse.pipeline.replication`): our result, the trials and cells we
lack (:func:`metafuse.review.gaps.gap_cells`), the follow-up, the measure (ours re-pooled in theirs
where our arm data allow), the designs, and events pooled unlike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pandas as pd

from metafuse.review.gaps import GapCell, gap_cells
from metafuse.review.records import StudyRecords
from metafuse.review.vocabulary import OUTCOME_MEASURES

UNLIKE: Final = "unlike events"


@dataclass(frozen=True)
class Ours:
    """One of our primary analyses of the outcome, in our protocol's measure and.

    One of our primary analyses of the outcome, in our protocol's measure and, where their measure
    differs and our data allow, re-pooled in theirs.
    """

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


def number_text(x: object) -> str:
    """Return a number as text ('' when missing)."""
    return "" if x is None or pd.isna(x) else f"{float(x):g}"  # type: ignore[arg-type]


def printed(row: pd.Series, column: str) -> str:
    """Return a number of a published row as printed ('' when missing)."""
    text = row[f"printed_{column}"]
    return text if isinstance(text, str) else ""


def their_result(row: pd.Series) -> str:
    """'RR 21.46 [4.34, 106.04], P = 0.0002' or 'no number printed' (numbers as printed)."""
    if not printed(row, "estimate"):
        return "no number printed"
    text = f"{row['measure']} {printed(row, 'estimate')}"
    if printed(row, "ci_low"):
        text += f" [{printed(row, 'ci_low')}, {printed(row, 'ci_high')}]"
    text += f", P = {row['p']}" if isinstance(row["p"], str) else ""
    derivation = row.get("derivation")
    if isinstance(derivation, str) and derivation.strip():
        text += f" (computed here from what they print: {derivation.strip()})"
    return text


def their_measure(row: pd.Series) -> str | None:
    """Return the measure of a published row (None when not printed)."""
    return str(row["measure"]) if isinstance(row["measure"], str) and row["measure"] else None


def result_text(label: str, estimate: float | None, low: float | None, high: float | None) -> str:
    """Return 'label 0.49 [0.34, 0.70]' ('NA' for a missing number)."""

    def fmt(x: float | None) -> str:
        return "NA" if x is None else f"{x:.2f}"

    return f"{label} {fmt(estimate)} [{fmt(low)}, {fmt(high)}]"


def our_text(o: Ours) -> str:
    """'about 2 years (12-30 months), k = 3.

    'about 2 years (12-30 months), k = 3: Mean difference (points) -0.28 [-5.11, 4.55]', with the
    result in their measure when re-pooled.
    """
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
    """Return a count of the cells ('4 of 21 cells have data') and one line per trial lacking some.

    A count of the cells ('4 of 21 cells have data') and one line per trial lacking some; ``every``
    is :func:`gap_cells` of the records when already computed.
    """
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


def clause(text: object, marker: str | None = None) -> str:
    """Return the first '; '-separated clause of a caveat (or the first containing ``marker``)."""
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
        f"{records.label(str(r.report_id))} {r.arm}: {clause(r.caveat)}"
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
    theirs, outcome = their_measure(row), records.review.outcomes.get(str(row["outcome"]))
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
    """Every difference between their row and our analyses of the outcome, with its reason.

    Every difference between their row and our analyses of the outcome, with its reason (``cells``:
    :func:`gap_cells` of the records when already computed).
    """
    comparison, outcome = str(row["comparison"]), str(row["outcome"])
    count, lacking = cells_we_lack(records, comparison, outcome, cells)
    lack = count + (": " + "; ".join(lacking) if lacking else "")
    ours_text = "; ".join(our_text(o) for o in ours) or "no pooled result"
    out: list[Difference] = []
    if not number_text(row["estimate"]):
        reason = f"their source prints no number: “{clause(row['caveat'])}”"
        out.append(Difference("their result", "no number printed", ours_text, reason))
    if not ours:
        reason = f"we lack the trial data: {lack}"
        out.append(Difference("our result", their_result(row), "no pooled result", reason))
    else:
        studies = f"{printed(row, 'n_studies') or 'number not printed'} studies; which: not found"
        labels = "; ".join(f"{o.window}: {', '.join(o.labels)}" for o in ours)
        reason = f"their included trials were not found, so no trial-by-trial check; {lack}"
        out.append(Difference("trials", studies, labels, reason))
        windows = "; ".join(o.window for o in ours)
        reason = "their follow-up split as printed; ours are the review's windows (review.toml)"
        out.append(Difference("follow-up", str(row["timepoint"]), windows, reason))
        if number_text(row["estimate"]):
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
        theirs = clause(row["caveat"], UNLIKE)
        out.append(Difference("events pooled", theirs, f"{label}: kept per arm", reason))
    return tuple(out)
