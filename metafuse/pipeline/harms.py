"""The harms profile of a review.

The harms profile of a review: ``<page>.md``, ``.html`` and ``.csv`` and one forest plot per pooling
group (``<page>/forest_<group>.png``), from a records folder's ``harms.csv``; the page's name and
title and the harms, in order, are the review's (``[harms]`` in review.toml).

Every figure is shown with its source, design, population, follow-up and n, weak sources flagged;
single-study counts are pooled only within the groups of :mod:`metafuse.review.harm_groups` (logit
proportions, REML), and published pooled estimates are shown as published, never re-pooled.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from metafuse.files import to_csv, write_text_atomic
from metafuse.report.document import Block, Bullets, Figure, Heading, Paragraph, Table
from metafuse.report.document import to_html as document_html
from metafuse.report.document import to_markdown as document_markdown
from metafuse.results import PooledResult
from metafuse.review.harm_declarations import Harm
from metafuse.review.harm_groups import (
    GROUPING_RULE,
    POOL_MEASURE,
    POOL_METHOD,
    HarmGroup,
    group_counts,
    not_poolable_reason,
    pool_group,
)
from metafuse.review.harms import is_single_study
from metafuse.review.records import StudyRecords

KINDS: Final = {
    "count": "count",
    "percent": "percentage",
    "pooled": "published pooled estimate",
    "difference": "published comparison",
}
WEAK: Final = "**WEAK SOURCE**"
#: Computed columns of a pooling group's CSV row (percent, 4 decimals).
CI_KEYS: Final = ("estimate", "ci_low", "ci_high")
TABLE_HEADER: Final = (
    "Figure",
    "Value",
    "Kind",
    "Design",
    "Population",
    "Follow-up",
    "n",
    "Source",
    "Notes",
)
CSV_HEADER: Final = (
    "harm",
    "row",
    "kind",
    "events",
    "n",
    "percent",
    "estimate",
    "ci_low",
    "ci_high",
    "per",
    "design",
    "population",
    "follow_up",
    "n_studies",
    "n_patients",
    "pooling",
    "source_id",
    "citation",
    "location",
    "quote",
    "weak",
    "caveat",
)


@dataclass(frozen=True)
class HarmsProfile:
    """The harm figures of a records folder, their sources and the pooled groups.

    The harm figures of a records folder, their sources and the pooled groups, with the review's
    page name, title and declared harms.
    """

    harms: pd.DataFrame
    citations: dict[str, str]
    groups: tuple[tuple[HarmGroup, PooledResult], ...]
    windows_text: str
    page: str
    title: str
    declared: tuple[Harm, ...]


def harms_profile(records: StudyRecords) -> HarmsProfile | None:
    """Return the profile (None when the folder has no ``harms.csv``)."""
    if records.harms is None:
        return None
    harms = records.harms
    windows = records.review.bounded_windows()
    citations = dict(zip(records.sources["source_id"], records.sources["citation"], strict=True))
    labels = {str(r["harm_id"]): study_label(r, citations) for _, r in harms.iterrows()}
    review = records.review
    found = group_counts(harms, review.harms, windows)
    groups = tuple((g, pool_group(g, harms, labels)) for g in found)
    windows_text = "; ".join(f"{w.key}: {w.label}" for w in windows) or "none declared"
    declared = tuple(review.harms.values())
    return HarmsProfile(
        harms, citations, groups, windows_text, review.harms_page, review.harms_title, declared
    )


def _num(x: object) -> str:
    """Return a computed count in the CSV ('' when missing; 2896, not 2896.0)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{float(x):g}"  # type: ignore[arg-type]


def _p(row: pd.Series, column: str) -> str:
    """Return a number of the row as printed in harms.csv ('' when missing)."""
    text = row[f"printed_{column}"]
    return text if isinstance(text, str) else ""


def figure_value(row: pd.Series) -> str:
    """Return the figure as printed.

    '4/31 (12.9%)', '26.6% (95% CI 21.3 to 31.9)', '5.9% per year'.
    """
    per = " per year" if row["per"] == "patient-year" else ""
    events, n, percent = _p(row, "events"), _p(row, "n"), _p(row, "percent")
    if row["figure"] == "count":
        if not n:
            printed = f" (printed as {percent}%)" if percent else ""
            return f"{events} events, denominator not printed{printed}"
        share = f"{percent}%" if percent else f"{100 * row['events'] / row['n']:.1f}%, computed"
        return f"{events}/{n} ({share}){per}"
    value = _p(row, "estimate") or percent
    if not value:
        return "no number entered (see notes)"
    text = f"{value}%{per}" + (f" of {n}" if row["figure"] == "percent" and n else "")
    notes = []
    if _p(row, "ci_low"):
        notes.append(f"95% CI {_p(row, 'ci_low')} to {_p(row, 'ci_high')}")
    elif row["figure"] == "percent":
        notes.append("no CI printed")
    if row["figure"] == "percent" and n:
        notes.append("events not printed")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _kind(row: pd.Series) -> str:
    if row["figure"] == "count" and not is_single_study(str(row["design"])):
        return "crude total over studies (count)"
    return KINDS[str(row["figure"])]


def _size(row: pd.Series) -> str:
    parts = [f"n = {_p(row, 'n')}"] if _p(row, "n") else []
    if _p(row, "n_studies"):
        parts.append(f"{_p(row, 'n_studies')} studies")
    if _p(row, "n_patients") and row["n_patients"] != row["n"]:
        parts.append(f"{_p(row, 'n_patients')} patients")
    return ", ".join(parts) or "not printed"


def _notes(row: pd.Series) -> str:
    caveat = str(row["caveat"]) if isinstance(row["caveat"], str) else ""
    return "; ".join(p for p in (WEAK if row["weak"] == "yes" else "", caveat) if p)


def _source(profile: HarmsProfile, row: pd.Series) -> str:
    return f"{profile.citations[str(row['source_id'])]} ({row['location']})"


def study_label(row: pd.Series, citations: dict[str, str]) -> str:
    """'Smith 2018' from the row's source citation.

    'Smith 2018' from the row's source citation (first author, first year), else the row's
    ``harm_id``; '(weak)' is added for a weak source.
    """
    citation = citations[str(row["source_id"])]
    year = re.search(r"\b(?:19|20)\d\d\b", citation)
    author = citation.split(" ", 1)[0].rstrip(",")
    label = f"{author} {year.group(0)}" if year and author.isalpha() else str(row["harm_id"])
    return label + (" (weak)" if row["weak"] == "yes" else "")


def forest_name(page: str, group: HarmGroup) -> str:
    """Return the forest plot of a group, relative to the results folder."""
    return f"{page}/forest_{group.key}.png"


def _pct(x: float | None) -> str:
    return "NA" if x is None else f"{100 * x:.1f}%"


def group_result_text(group: HarmGroup, result: PooledResult) -> str:
    """Return the text of a pooling group's result.

    'Pooled here (...): 15.2% (95% CI 12.0% to 19.1%); tau² = 0.01; I² = 12%' or, for one count, its
    proportion with its logit CI.
    """
    b = result.back_transformed()
    ci = f"95% CI {_pct(b['ci_low'])} to {_pct(b['ci_high'])}"
    if result.k == 1:
        return f"One count, nothing pooled: {_pct(b['estimate'])} ({ci}; logit interval)."
    text = (
        f"Pooled here (logit proportions, {POOL_METHOD}, k = {result.k}): "
        f"{_pct(b['estimate'])} ({ci}); tau² = {result.tau2:.3g}; I² = {result.I2:.0f}%"
    )
    if b["pi_low"] is not None:
        text += f"; 95% prediction interval {_pct(b['pi_low'])} to {_pct(b['pi_high'])}"
    return text + "."


#: How the review's grouping of a harm departs from the rule, in words.
GROUPING_WORDS: Final = {
    "all": "its counts of the same unit are pooled whatever their follow-up",
    "none": "its counts are never pooled (each stands alone)",
}


def _grouping_rule(profile: HarmsProfile) -> str:
    """Return the grouping rule, with the harms the review groups otherwise (review.toml)."""
    rule = "Grouping rule: " + GROUPING_RULE.format(windows=profile.windows_text)
    other = [
        f"{h.label}: {GROUPING_WORDS[h.grouping]}"
        for h in profile.declared
        if h.grouping in GROUPING_WORDS
    ]
    if other:
        rule += " The review groups these harms otherwise: " + "; ".join(other) + "."
    return rule


def _intro(profile: HarmsProfile) -> list[Block]:
    return [
        Heading(profile.title, 1),
        Paragraph(
            "Every figure below is copied from the review's harms.csv, which names its source, "
            "location and quote; numbers computed here are marked 'pooled here' or 'computed'. "
            "Percentages are as printed by the source (per patient unless 'per year')."
        ),
        Bullets(
            (
                _grouping_rule(profile),
                f"Pooling method: logit-transformed proportions ({POOL_MEASURE}), inverse-variance "
                f"random effects with {POOL_METHOD} tau² (metafor's rma(measure = 'PLO') "
                "default), back-transformed with the inverse logit; the logit is used rather "
                "than the Freeman-Tukey transform (Schwarzer et al. 2019, Res Synth Methods "
                "10:476-483). A group of one count shows that count's proportion with its logit "
                "95% CI: nothing is pooled.",
                "Published pooled estimates are shown as published and are never pooled again, "
                "with their own inputs or with the single-study counts.",
                f"{WEAK}: the figure rests on a meeting abstract, news report, preprint, clinic "
                "website copy or a statement citing other studies.",
            )
        ),
        _summary(profile),
    ]


def _summary(profile: HarmsProfile) -> Table:
    rows = []
    for declared in profile.declared:
        harm, title = declared.key, declared.label
        mine = profile.harms[profile.harms["harm"] == harm]
        pooled = [g for g, r in profile.groups if g.harm == harm and r.k >= 2]
        alone = [g for g, r in profile.groups if g.harm == harm and r.k == 1]
        rows.append(
            (
                title,
                str(len(mine)),
                str(int((mine["figure"] == "pooled").sum())),
                str(sum(len(g.harm_ids) for g, _ in profile.groups if g.harm == harm)),
                f"{len(pooled)} pooled, {len(alone)} single",
                str(int((mine["weak"] == "yes").sum())),
            )
        )
    header = (
        "Harm",
        "Figures",
        "Published pooled estimates",
        "Single-study counts with n",
        "Groups",
        "Weak figures",
    )
    return Table(header, tuple(rows))


def _figure_row(profile: HarmsProfile, row: pd.Series) -> tuple[str, ...]:
    return (
        str(row["harm_id"]),
        figure_value(row),
        _kind(row),
        str(row["design"]),
        str(row["population"]),
        str(row["follow_up"]) if isinstance(row["follow_up"], str) else "not stated",
        _size(row),
        _source(profile, row),
        _notes(row),
    )


def _harm_blocks(profile: HarmsProfile, declared: Harm) -> list[Block]:
    harm = declared.key
    rows = profile.harms[profile.harms["harm"] == harm]
    blocks: list[Block] = [Heading(declared.label, 2)]
    if declared.unit:
        blocks.append(Paragraph(f"What a figure counts: {declared.unit}."))
    if rows.empty:
        return [*blocks, Paragraph("No figure recorded in harms.csv.")]
    table = tuple(_figure_row(profile, r) for _, r in rows.iterrows())
    blocks += [Table(TABLE_HEADER, table), Heading(f"{declared.label}: pooling", 3)]
    groups = [(g, r) for g, r in profile.groups if g.harm == harm]
    if not groups:
        blocks.append(Paragraph("No single-study count with events and n: nothing pooled."))
    indexed = rows.set_index("harm_id", drop=False)
    for group, result in groups:
        members = "; ".join(
            f"{study_label(indexed.loc[h], profile.citations)} ({h}): "
            f"{figure_value(indexed.loc[h])}"
            for h in group.harm_ids
        )
        blocks += [
            Heading(group.title, 4),
            Paragraph(f"Counts (k = {len(group.harm_ids)}): {members}."),
            Paragraph(group_result_text(group, result)),
            Figure(forest_name(profile.page, group), f"Forest plot: {group.title}"),
        ]
    shown = [
        f"{r['harm_id']}: {reason}"
        for _, r in rows.iterrows()
        if (reason := not_poolable_reason(r)) is not None
    ]
    if shown:
        blocks += [Paragraph("Shown, not pooled:"), Bullets(tuple(shown))]
    return blocks


def profile_blocks(profile: HarmsProfile) -> list[Block]:
    """Return the whole page, section by section in the order the review declares its harms."""
    blocks = _intro(profile)
    for declared in profile.declared:
        blocks += _harm_blocks(profile, declared)
    return blocks


def _figure_csv(profile: HarmsProfile, r: pd.Series, pooling: str) -> dict[str, str]:
    numbers = ("events", "n", "percent", "estimate", "ci_low", "ci_high", "n_studies", "n_patients")
    texts = ("per", "design", "population", "source_id", "location", "quote", "weak")
    return {
        "harm": str(r["harm"]),
        "row": str(r["harm_id"]),
        "kind": _kind(r),
        **{c: _p(r, c) for c in numbers},
        **{c: str(r[c]) for c in texts},
        "follow_up": str(r["follow_up"] or ""),
        "pooling": pooling,
        "citation": profile.citations[str(r["source_id"])],
        "caveat": r["caveat"] if isinstance(r["caveat"], str) else "",
    }


def _group_csv(group: HarmGroup, result: PooledResult, members: pd.DataFrame) -> dict[str, str]:
    b = result.back_transformed()
    kind = f"pooled here ({POOL_MEASURE}, {POOL_METHOD})" if result.k >= 2 else "one count"
    shown = {k: "" if (v := b[k]) is None else f"{100 * v:.4f}" for k in CI_KEYS}
    return {
        "harm": group.harm,
        "row": group.key,
        "kind": kind,
        "events": _num(members["events"].sum()),
        "n": _num(members["n"].sum()),
        **shown,
        "per": group.per,
        "follow_up": group.window.label
        if group.window
        else ("any" if group.any_follow_up else "not comparable"),
        "n_studies": str(result.k),
        "pooling": group.title,
        "source_id": "; ".join(group.harm_ids),
        "citation": "computed by metafuse",
        "weak": "yes" if (members["weak"] == "yes").any() else "no",
    }


def profile_csv(profile: HarmsProfile) -> str:
    """Return the harms profile as CSV text.

    One row per figure of harms.csv, then one row per pooling group (computed here, in percent).
    """
    placed = {h: g.key for g, _ in profile.groups for h in g.harm_ids}
    rows = [
        _figure_csv(profile, r, placed.get(str(r["harm_id"])) or not_poolable_reason(r) or "")
        for _, r in profile.harms.iterrows()
    ]
    harms = profile.harms.set_index("harm_id")
    rows += [_group_csv(g, res, harms.loc[list(g.harm_ids)]) for g, res in profile.groups]
    return to_csv(CSV_HEADER, [[row.get(c, "") for c in CSV_HEADER] for row in rows])


def write_harms(records: StudyRecords, out_dir: Path) -> list[Path]:
    """Write the profile and its forest plots into ``out_dir``; nothing without harms.csv."""
    from metafuse.plots import forest_plot, save_plot

    profile = harms_profile(records)
    if profile is None:
        return []
    blocks = profile_blocks(profile)
    page = profile.page
    written = [
        write_text_atomic(out_dir / f"{page}.md", document_markdown(blocks)),
        write_text_atomic(out_dir / f"{page}.html", document_html(profile.title, blocks)),
        write_text_atomic(out_dir / f"{page}.csv", profile_csv(profile)),
    ]
    for group, result in profile.groups:
        plot = forest_plot(result, title=group.short_title)
        written.append(save_plot(plot, out_dir / forest_name(page, group)))
    return written
