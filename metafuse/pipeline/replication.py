"""A published meta-analysis set beside our own analyses, every difference with its reason.

A published meta-analysis set beside our own analyses of the same comparison, outcome by outcome:
their figures (``published_estimates.csv``), ours (the fitted analyses of this build), the trials on
each side, and every difference with its reason.

The reasons come from the data: the trial x outcome x window cells we lack
(:func:`metafuse.review.gaps.gap_cells`), the designs each side admits, the follow-up each side
uses, events that they pool together and our records keep apart (their row's caveat says
'unlike events'; our arm records say which event each arm counts), and what their source leaves
unprinted. Their estimates are never pooled with ours: their trials are unknown and may overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pandas as pd

from metafuse.pipeline.run import Analysis
from metafuse.review.gaps import GapCell, gap_cells
from metafuse.review.records import StudyRecords

#: Published reviews set beside ours: ``estimate_id`` prefix -> output page name.
REPLICATIONS: Final = {"xu2021": "replication_xu2021"}
UNLIKE: Final = "unlike events"


@dataclass(frozen=True)
class Ours:
    """One of our primary analyses of the outcome."""

    name: str
    window: str
    k: int
    labels: tuple[str, ...]
    text: str


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
class Replication:
    """Everything the page shows."""

    key: str
    review: str
    citation: str
    comparison: str
    comparison_label: str
    quotes: tuple[str, ...]
    their_studies: str
    their_patients: str
    their_designs: str
    their_trials: str
    our_trials: tuple[tuple[str, ...], ...]
    outcomes: tuple[OutcomeComparison, ...]


def _num(x: object) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x):g}"  # type: ignore[arg-type]


def _distinct(values: pd.Series, missing: str) -> str:
    shown = list(dict.fromkeys(v for v in values if isinstance(v, str) and v))
    return ", ".join(shown) if shown else missing


def _p(row: pd.Series, column: str) -> str:
    """Return a number of a published row as printed ('' when missing)."""
    text = row[f"printed_{column}"]
    return text if isinstance(text, str) else ""


def their_result(row: pd.Series) -> str:
    """'RR 21.46 [4.34, 106.04], P = 0.0002' or 'no number printed' (numbers as printed)."""
    if not _p(row, "estimate"):
        return "no number printed"
    text = f"{row['measure']} {_p(row, 'estimate')}"
    if _p(row, "ci_low"):
        text += f" [{_p(row, 'ci_low')}, {_p(row, 'ci_high')}]"
    return text + (f", P = {row['p']}" if isinstance(row["p"], str) else "")


def _ours(analyses: list[Analysis], comparison: str, outcome: str) -> tuple[Ours, ...]:
    out = []
    for a in analyses:
        s, r = a.selection, a.result
        if s is None or r is None or a.spec.is_secondary:
            continue
        if s.comparison.key != comparison or s.outcome.key != outcome:
            continue
        b = r.back_transformed()
        text = (
            f"{r.display_scale.label} {b['estimate']:.2f} [{b['ci_low']:.2f}, {b['ci_high']:.2f}]"
        )
        out.append(Ours(a.spec.name, s.window.label, r.k, tuple(s.labels), text))
    return tuple(out)


def our_text(o: Ours) -> str:
    """'about 2 years (12-30 months), k = 3: Mean difference (ODI points) -0.28 [-5.11, 4.55]'."""
    return f"{o.window}, k = {o.k}: {o.text}"


def _trial_text(trial: str, mine: list[GapCell], windows: dict[str, str]) -> str | None:
    """'Fritzell: nothing recorded' or 'Brox: about 5 years: incomplete (…): missing n_exp'."""
    if all(c.status == "missing" for c in mine):
        return f"{trial}: nothing recorded"
    lacking = [f"{windows[c.window]}: {c.describe()}" for c in mine if c.status != "data"]
    return f"{trial}: " + "; ".join(lacking) if lacking else None


def cells_we_lack(
    records: StudyRecords, comparison: str, outcome: str, every: list[GapCell] | None = None
) -> tuple[str, list[str]]:
    """Return a count of the cells with data and one line per trial lacking some.

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


def _clause(text: object, marker: str | None = None) -> str:
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
        f"{records.label(str(r.report_id))} {r.arm}: {_clause(r.caveat)}"
        for r in rows.itertuples(index=False)
        if isinstance(r.caveat, str)
    ]


def _our_designs(records: StudyRecords, comparison: str) -> str:
    t = records.trials
    return ", ".join(sorted(set(t.loc[t["comparison"] == comparison, "design"])))


def differences(
    records: StudyRecords,
    row: pd.Series,
    ours: tuple[Ours, ...],
    cells: list[GapCell] | None = None,
) -> tuple[Difference, ...]:
    """Return every difference between their row and our analyses, with its reason.

    Every difference between their row and our analyses of the outcome, with its reason (``cells``:
    :func:`gap_cells` of the records when already computed).
    """
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
    """Return what is known of their included trials.

    No file lists them, so 'not found', with the caveat clause of their rows that says so.
    """
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


def replication(key: str, records: StudyRecords, analyses: list[Analysis]) -> Replication | None:
    """Return the published review whose ``estimate_id`` starts with ``key``.

    The comparison of the review whose ``estimate_id`` starts with ``key``- (None when the folder
    has no such rows).
    """
    pub = records.published_estimates
    if pub is None:
        return None
    rows = pub[pub["estimate_id"].str.startswith(f"{key}-")]
    if rows.empty:
        return None
    first = rows.iloc[0]
    comparison = str(first["comparison"])
    citations = records.sources.set_index("source_id")["citation"]
    cells = gap_cells(records)
    outcomes = []
    for _, row in rows.iterrows():
        outcome = str(row["outcome"])
        known = records.review.outcomes.get(outcome)
        ours = _ours(analyses, str(row["comparison"]), outcome)
        label = known.label if known is not None else outcome
        outcomes.append(
            OutcomeComparison(outcome, label, row, ours, differences(records, row, ours, cells))
        )
    return Replication(
        key=key,
        review=str(first["review"]),
        citation=str(citations[str(first["source_id"])]),
        comparison=comparison,
        comparison_label=records.review.comparisons[comparison].label,
        quotes=tuple(dict.fromkeys(str(q) for q in rows["quote"])),
        their_studies=_distinct(rows["printed_n_studies"], "not printed"),
        their_patients=_distinct(rows["printed_n_patients"], "not printed"),
        their_designs=", ".join(dict.fromkeys(str(d) for d in rows["designs"])),
        their_trials=_their_trials(rows),
        our_trials=_our_trials(records, comparison, analyses),
        outcomes=tuple(outcomes),
    )
