"""Checks across the files of a studies folder.

Every reference resolves, every number has its source, no label or risk-of-bias judgement is given
twice, analysed never exceeds randomised.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from metafuse.review.checks import missing
from metafuse.review.schema import Problem
from metafuse.review.vocabulary import Review


def report_label(row: object) -> str:
    """Return a report's study label.

    A report's study label: its ``label`` if given, else 'First author year' ('First author' when
    the year is unknown).
    """
    label = getattr(row, "label", None)
    if isinstance(label, str) and label.strip():
        return label.strip()
    year = row.year  # type: ignore[attr-defined]
    author = str(row.first_author)  # type: ignore[attr-defined]
    return author if missing(year) else f"{author} {int(year)}"


def _sources(
    tables: Mapping[str, pd.DataFrame],
    paths: Mapping[str, str],
    lines: Mapping[str, tuple[int, ...]],
) -> list[Problem]:
    problems = []
    known = set(tables["sources"]["source_id"])
    for name in ("trials", "outcomes", "risk_of_bias"):
        for i, sid in enumerate(tables[name]["source_id"]):
            if not missing(sid) and sid not in known:
                problems.append(
                    Problem(
                        paths[name],
                        lines[name][i],
                        "source_id",
                        f"unknown source {sid!r} (not in sources.csv)",
                    )
                )
    src = tables["sources"]
    for i, r in enumerate(src.itertuples(index=False)):
        for col in ("citation", "url", "note"):
            value = getattr(r, col)
            if isinstance(value, str) and "shared/" in value:
                problems.append(
                    Problem(
                        paths["sources"],
                        lines["sources"][i],
                        col,
                        "cites a shared project note; a record cites the publication itself",
                    )
                )
    return problems


def _reports(
    tables: Mapping[str, pd.DataFrame],
    paths: Mapping[str, str],
    lines: Mapping[str, tuple[int, ...]],
    review: Review,
) -> list[Problem]:
    problems = []
    t = tables["trials"]
    comparison_of = dict(zip(t["report_id"], t["comparison"], strict=True))
    for name in ("outcomes", "risk_of_bias"):
        for i, rid in enumerate(tables[name]["report_id"]):
            if rid not in comparison_of:
                problems.append(
                    Problem(
                        paths[name],
                        lines[name][i],
                        "report_id",
                        f"unknown report {rid!r} (not in trials.csv)",
                    )
                )
    o = tables["outcomes"]
    for i, r in enumerate(o.itertuples(index=False)):
        outcome = review.outcomes.get(r.outcome)
        comp = comparison_of.get(r.report_id)
        if outcome is not None and comp is not None and not outcome.applies_to(comp):
            problems.append(
                Problem(
                    paths["outcomes"],
                    lines["outcomes"][i],
                    "outcome",
                    f"{r.outcome} is not an outcome of comparison {comp} "
                    f"(review.toml: comparisons = {list(outcome.comparisons)})",
                )
            )
    seen: dict[str, int] = {}
    for i, r in enumerate(t.itertuples(index=False)):
        label = report_label(r)
        if label in seen:
            problems.append(
                Problem(
                    paths["trials"],
                    lines["trials"][i],
                    "first_author",
                    f"study label {label!r} is also the label of the report on "
                    f"line {seen[label]}; give one of them a distinct `label`",
                )
            )
        else:
            seen[label] = lines["trials"][i]
    return problems


def _trials(
    tables: Mapping[str, pd.DataFrame],
    paths: Mapping[str, str],
    lines: Mapping[str, tuple[int, ...]],
) -> list[Problem]:
    problems = []
    t = tables["trials"]
    names = set(t["trial"])
    for i, r in enumerate(t.itertuples(index=False)):
        for part in [] if missing(r.includes) else str(r.includes).split(";"):
            if part.strip() not in names:
                problems.append(
                    Problem(
                        paths["trials"],
                        lines["trials"][i],
                        "includes",
                        f"unknown trial {part.strip()!r} (not a trial in trials.csv)",
                    )
                )
        total = getattr(r, "n_randomised", None)
        arms = (r.n_randomised_exp, r.n_randomised_ctrl)
        has_numbers = not (all(missing(n) for n in arms) and missing(total))
        if has_numbers and (missing(r.source_id) or missing(r.quote)):
            problems.append(
                Problem(
                    paths["trials"],
                    lines["trials"][i],
                    "source_id",
                    "numbers randomised need a source_id and a quote",
                )
            )
        if not missing(total) and not any(missing(n) for n in arms) and sum(arms) != total:
            problems.append(
                Problem(
                    paths["trials"],
                    lines["trials"][i],
                    "n_randomised",
                    f"total randomised ({total:g}) is not n_randomised_exp + n_randomised_ctrl "
                    f"({sum(arms):g})",
                )
            )
    randomised = t.set_index("report_id")
    o = tables["outcomes"]
    for i, r in enumerate(o.itertuples(index=False)):
        if r.data_type != "arm" or missing(r.n) or r.report_id not in randomised.index:
            continue
        limit = randomised.at[r.report_id, f"n_randomised_{r.arm}"]
        if not missing(limit) and r.n > limit:
            problems.append(
                Problem(
                    paths["outcomes"],
                    lines["outcomes"][i],
                    "n",
                    f"analysed ({r.n:g}) exceeds randomised ({limit:g}) in {r.report_id} ({r.arm})",
                )
            )
    return problems


def _risk_of_bias(
    tables: Mapping[str, pd.DataFrame],
    paths: Mapping[str, str],
    lines: Mapping[str, tuple[int, ...]],
    review: Review,
) -> list[Problem]:
    problems = []
    rob = tables["risk_of_bias"]
    first: dict[tuple[str, str, str], int] = {}
    for i, r in enumerate(rob.itertuples(index=False)):
        line = lines["risk_of_bias"][i]
        if r.outcome != "all" and r.outcome not in review.outcomes:
            problems.append(
                Problem(
                    paths["risk_of_bias"],
                    line,
                    "outcome",
                    f"{r.outcome!r} is neither 'all' nor an outcome of review.toml",
                )
            )
        key = (r.report_id, r.outcome, r.domain)
        if key in first:
            problems.append(
                Problem(
                    paths["risk_of_bias"],
                    line,
                    "domain",
                    f"a second judgement of {r.domain!r} for {r.report_id} "
                    f"({r.outcome}); the first is on line {first[key]}",
                )
            )
        else:
            first[key] = line
        judged = r.judgement in ("low", "some concerns", "high") and r.domain != "overall"
        if judged and (missing(r.rationale) or missing(r.source_id) or missing(r.quote)):
            problems.append(
                Problem(
                    paths["risk_of_bias"],
                    line,
                    "rationale",
                    "a domain judgement needs a rationale, source_id and quote",
                )
            )
    return problems


def cross_problems(
    tables: Mapping[str, pd.DataFrame],
    paths: Mapping[str, str],
    lines: Mapping[str, tuple[int, ...]],
    review: Review,
) -> list[Problem]:
    """Every problem that involves more than one file."""
    return (
        _sources(tables, paths, lines)
        + _reports(tables, paths, lines, review)
        + _trials(tables, paths, lines)
        + _risk_of_bias(tables, paths, lines, review)
    )
