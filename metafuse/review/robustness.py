"""Does a certainty rating hold?.

Does a certainty rating hold? Each row is re-rated under the alternatives its data imply: the
Hartung-Knapp-Sidik-Jonkman CI, without weak sources, without derived or approximated numbers, and
with an alternative minimal important difference declared in review.toml; the footnote says whether
the level holds under each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from metafuse.pooling import refit
from metafuse.results import PooledResult
from metafuse.review.derivations import APPROXIMATE, derivation_name
from metafuse.review.grade import Certainty
from metafuse.review.panel import GradeInputs
from metafuse.review.rating import RowContext, rate
from metafuse.review.records import StudyRecords
from metafuse.review.selection import Selection


def _without(
    selection: Selection, result: PooledResult, drop: Sequence[str]
) -> tuple[Selection, PooledResult] | None:
    """Return the selection and result without the studies ``drop`` (None when none remain)."""
    if result.effects is None:
        return None
    keep = [label not in drop for label in result.effects.labels]
    if not any(keep):
        return None
    narrowed = dataclasses.replace(
        selection,
        frame=selection.frame[~selection.frame["study"].isin(list(drop))].reset_index(drop=True),
        weak=tuple(w for w in selection.weak if w not in drop),
        derived=tuple(d for d in selection.derived if d not in drop),
        borrowed=tuple(b for b in selection.borrowed if b not in drop),
        records={k: v for k, v in selection.records.items() if k not in drop},
    )
    return narrowed, refit(result, keep)


def approximated(selection: Selection, records: StudyRecords) -> tuple[str, ...]:
    """Study labels whose pooled numbers rest on an approximate derivation.

    Study labels whose pooled numbers rest on an approximate derivation (a count from a percentage,
    a mean or SD from medians, a borrowed SD); a reversed contrast is exact.
    """
    out = []
    o = records.outcomes
    for label, record in selection.records.items():
        names = {
            derivation_name(d)
            for d in o.loc[o["record_id"] == record, "derivation"]
            if isinstance(d, str) and d.strip()
        }
        if names & APPROXIMATE:
            out.append(label)
    return tuple(out)


def robustness_note(
    selection: Selection,
    result: PooledResult,
    records: StudyRecords,
    grade: GradeInputs,
    base: Certainty,
    ctx: RowContext,
    small_study: dict[str, dict[str, float]] | None = None,
) -> str | None:
    """One sentence on whether the rating holds under each alternative.

    One sentence on whether the rating holds under each alternative (None when the data imply none).
    """
    level = base.level

    def again(sel: Selection, res: PooledResult, mid: float | None = None) -> str:
        return rate(sel, res, records, grade, small_study, ctx, mid=mid)[0].level

    checks: list[tuple[str, Callable[[], str | None]]] = []
    if result.k >= 2 and not result.hksj and result.is_random:
        checks.append(
            (
                "with the Hartung-Knapp-Sidik-Jonkman CI",
                lambda: again(selection, refit(result, hksj=True)),
            )
        )
    for words, labels in (
        ("without weak sources", selection.weak),
        ("without approximated numbers", approximated(selection, records)),
    ):
        if labels:
            subset = _without(selection, result, labels)

            def narrowed(
                s: tuple[Selection, PooledResult] | None = subset,
            ) -> str | None:
                return None if s is None else again(*s)

            checks.append((f"{words} ({', '.join(dict.fromkeys(labels))})", narrowed))
    if grade.alternative_mid is not None:
        alt = grade.alternative_mid
        checks.append(
            (
                f"with the alternative minimal important difference {alt:g} "
                f"({grade.alternative_mid_source})",
                lambda: again(selection, result, alt),
            )
        )
    if not checks:
        return None
    parts = []
    for words, compute in checks:
        new = compute()
        if new is None:
            parts.append(f"no study remains {words}")
        elif new == level:
            parts.append(f"holds {words}")
        else:
            parts.append(f"becomes {new.upper()} {words}")
    return f"Robustness of the rating ({level.upper()}): " + "; ".join(parts) + "."
