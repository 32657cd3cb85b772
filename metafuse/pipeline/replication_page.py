"""The page that sets a published meta-analysis beside ours.

The page that sets a published meta-analysis beside ours (``replication_<key>.md`` and ``.html``),
from a :class:`~metafuse.pipeline.replication.Replication`.
"""

from __future__ import annotations

from pathlib import Path

from metafuse.files import write_text_atomic
from metafuse.pipeline.replication import (
    REPLICATIONS,
    Replication,
    our_text,
    replication,
    their_result,
)
from metafuse.pipeline.run import Analysis
from metafuse.report.document import Block, Heading, Paragraph, Table
from metafuse.report.document import to_html as document_html
from metafuse.report.document import to_markdown as document_markdown
from metafuse.review.records import StudyRecords

TRIAL_HEADER = ("Report", "Trial", "Design", "Randomised (fusion / conservative)", "Our analyses")
OUTCOME_HEADER = ("Outcome", "Their follow-up", "Their result", "Their caveat", "Our analyses")
DIFFERENCE_HEADER = ("What differs", "Theirs", "Ours", "Reason")


def title(rep: Replication) -> str:
    """'Xu 2021 (World Neurosurg) beside our analyses (comparison B)'."""
    return f"{rep.review} beside our analyses (comparison {rep.comparison})"


def _trials(rep: Replication) -> list[Block]:
    ours = rep.our_trials
    n_trials = len({row[1] for row in ours})
    designs = ", ".join(sorted({row[2] for row in ours}))
    sides = (
        (
            "Theirs",
            rep.their_studies,
            f"{rep.their_patients} (as recorded; see the quote above and their caveats)",
            rep.their_designs,
            rep.their_trials,
        ),
        (
            "Ours",
            f"{len(ours)} reports of {n_trials} trials",
            "randomised per report below",
            designs,
            "listed below (trials.csv)",
        ),
    )
    return [
        Heading("Trials on each side", 2),
        Table(("Side", "Studies", "Patients", "Designs", "Included trials"), sides),
        Paragraph(f"Our comparison {rep.comparison} trial reports and the analyses they enter:"),
        Table(TRIAL_HEADER, ours),
    ]


def _outcomes(rep: Replication) -> list[Block]:
    rows = []
    for o in rep.outcomes:
        caveat = o.theirs["caveat"] if isinstance(o.theirs["caveat"], str) else ""
        ours = "; ".join(f"{our_text(a)} ({a.name})" for a in o.ours) or "no pooled result"
        when = str(o.theirs["timepoint"]) if isinstance(o.theirs["timepoint"], str) else ""
        rows.append((o.label, when or "not stated", their_result(o.theirs), caveat, ours))
    return [Heading("Outcome by outcome", 2), Table(OUTCOME_HEADER, tuple(rows))]


def _differences(rep: Replication) -> list[Block]:
    blocks: list[Block] = [
        Heading("Differences and their reasons", 2),
        Paragraph(
            "Each row names one difference between their figure and ours and its reason, "
            "generated from studies/ (published_estimates.csv, trials.csv, outcomes.csv, "
            "review.toml) and from this build's analyses; 'cells' are trial x follow-up window "
            "cells as `metafuse gaps` counts them."
        ),
    ]
    for o in rep.outcomes:
        rows = tuple((d.topic, d.theirs, d.ours, d.reason) for d in o.differences)
        blocks += [Heading(o.label, 3), Table(DIFFERENCE_HEADER, rows)]
    return blocks


def page_blocks(rep: Replication) -> list[Block]:
    """Return the whole page."""
    quotes = " … ".join(f"“{q}”" for q in rep.quotes)
    return [
        Heading(title(rep), 1),
        Paragraph(
            f"Their review: {rep.citation}. Our comparison {rep.comparison}: "
            f"{rep.comparison_label}. Their figures are copied from "
            "studies/published_estimates.csv; ours are this build's primary analyses (one "
            "folder per analysis in results/). Their estimates are never pooled with ours: "
            "their included trials are unknown and may overlap ours."
        ),
        Paragraph(f"Their abstract, as quoted: {quotes}"),
        *_trials(rep),
        *_outcomes(rep),
        *_differences(rep),
    ]


def write_replications(
    records: StudyRecords, analyses: list[Analysis], out_dir: Path
) -> list[Path]:
    """Write each page of :data:`REPLICATIONS` whose review has rows in the studies folder."""
    written = []
    for key, page in REPLICATIONS.items():
        rep = replication(key, records, analyses)
        if rep is None:
            continue
        blocks = page_blocks(rep)
        written += [
            write_text_atomic(out_dir / f"{page}.md", document_markdown(blocks)),
            write_text_atomic(out_dir / f"{page}.html", document_html(title(rep), blocks)),
        ]
    return written
