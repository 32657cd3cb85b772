"""The page that sets a published meta-analysis beside ours.

The page that sets a published meta-analysis beside ours (``published_<review>.md`` and ``.html``),
from a :class:`~metafuse.pipeline.replication.PublishedReview`: one section per comparison of ours
that their rows address.
"""

from __future__ import annotations

from pathlib import Path

from metafuse.files import write_text_atomic
from metafuse.pipeline.replication import (
    ComparisonSection,
    PublishedReview,
    published_review,
    published_reviews,
)
from metafuse.pipeline.replication_reasons import our_text, their_result
from metafuse.pipeline.run import Analysis
from metafuse.report.document import Block, Heading, Paragraph, Table
from metafuse.report.document import to_html as document_html
from metafuse.report.document import to_markdown as document_markdown
from metafuse.review.published import page_name
from metafuse.review.records import StudyRecords

OUTCOME_HEADER = ("Outcome", "Their follow-up", "Their result", "Their caveat", "Our analyses")
DIFFERENCE_HEADER = ("What differs", "Theirs", "Ours", "Reason")


def title(rep: PublishedReview) -> str:
    """'Smith 2021 (J Test) beside our analyses'."""
    return review_title(rep.review)


def review_title(review: str) -> str:
    """Return the title of the page of the review named ``review``."""
    return f"{review} beside our analyses"


def page_titles(records: StudyRecords) -> dict[str, str]:
    """Return the HTML page of each review named in published_estimates.csv, with its title."""
    return {f"{page_name(r)}.html": review_title(r) for r in published_reviews(records)}


def _sides(rep: PublishedReview) -> list[Block]:
    ours = [row for s in rep.sections for row in s.our_trials]
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
    ]


def _section(section: ComparisonSection, several: bool) -> list[Block]:
    c = section.comparison
    level = 3 if several else 2
    blocks: list[Block] = []
    if several:
        blocks.append(Heading(f"Comparison {c}: {section.comparison_label}", 2))
    header = ("Report", "Trial", "Design", f"Randomised ({section.arms})", "Our analyses")
    rows = []
    for o in section.outcomes:
        caveat = o.theirs["caveat"] if isinstance(o.theirs["caveat"], str) else ""
        ours = "; ".join(f"{our_text(a)} ({a.name})" for a in o.ours) or "no pooled result"
        when = str(o.theirs["timepoint"]) if isinstance(o.theirs["timepoint"], str) else ""
        rows.append((o.label, when or "not stated", their_result(o.theirs), caveat, ours))
    blocks += [
        Paragraph(f"Our comparison {c} trial reports and the analyses they enter:"),
        Table(header, section.our_trials),
        Heading("Outcome by outcome", level),
        Table(OUTCOME_HEADER, tuple(rows)),
        Heading("Differences and their reasons", level),
        Paragraph(
            "Each row names one difference between their figure and ours and its reason, "
            "generated from the review's records (published_estimates.csv, trials.csv, "
            "outcomes.csv, review.toml) and from this build's analyses; 'cells' are trial x "
            "follow-up window cells as `metafuse gaps` counts them."
        ),
    ]
    repeated = {
        o.outcome
        for o in section.outcomes
        if sum(p.outcome == o.outcome for p in section.outcomes) > 1
    }
    for o in section.outcomes:
        diffs = tuple((d.topic, d.theirs, d.ours, d.reason) for d in o.differences)
        when = o.theirs["timepoint"] if isinstance(o.theirs["timepoint"], str) else "not stated"
        heading = f"{o.label} ({when})" if o.outcome in repeated else o.label
        blocks += [Heading(heading, level + 1), Table(DIFFERENCE_HEADER, diffs)]
    return blocks


def page_blocks(rep: PublishedReview) -> list[Block]:
    """Return the whole page."""
    quotes = " … ".join(f"“{q}”" for q in rep.quotes)
    ours = "; ".join(f"{s.comparison}: {s.comparison_label}" for s in rep.sections)
    blocks: list[Block] = [
        Heading(title(rep), 1),
        Paragraph(
            f"Their review: {rep.citation}. Our comparisons: {ours}. Their figures are copied "
            "from published_estimates.csv; ours are this build's primary analyses (one folder "
            "per analysis in results/). Their estimates are never pooled with ours: their "
            "included trials are unknown and may overlap ours."
        ),
        Paragraph(f"Their abstract, as quoted: {quotes}"),
        *_sides(rep),
    ]
    several = len(rep.sections) > 1
    for section in rep.sections:
        blocks += _section(section, several)
    return blocks


def write_published_reviews(
    records: StudyRecords, analyses: list[Analysis], out_dir: Path
) -> list[Path]:
    """Write one page per review named in the folder's published_estimates.csv."""
    written = []
    for review in published_reviews(records):
        rep = published_review(review, records, analyses)
        if rep is None:
            continue
        blocks = page_blocks(rep)
        written += [
            write_text_atomic(out_dir / f"{rep.page}.md", document_markdown(blocks)),
            write_text_atomic(out_dir / f"{rep.page}.html", document_html(title(rep), blocks)),
        ]
    return written
