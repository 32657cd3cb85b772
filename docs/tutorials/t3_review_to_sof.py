"""
A review from start to summary of findings
==========================================

A review is data: ``review.toml`` declares its comparisons, outcomes and follow-up windows,
and CSV files hold every number with its source. This tutorial works on a frozen copy of a
review (``tests/fixtures/review``): it validates the records, selects the data of one
analysis, pools it, and builds the GRADE summary-of-findings tables of every comparison.
"""

# %%
import shutil
import tempfile
from pathlib import Path

project = Path(tempfile.mkdtemp()) / "review"
shutil.copytree("../../tests/fixtures/review", project)  # relative to docs/tutorials
sorted(p.name for p in (project / "studies").iterdir())

# %%
# Validation lists every problem as ``file:line: column: message`` (an empty list here).
from metafuse.review.records import load_studies, validate_studies

[str(p) for p in validate_studies(project / "studies") if not p.warning]

# %%
records = load_studies(project / "studies")
{key: c.label for key, c in records.review.comparisons.items()}

# %%
# One comparison x outcome x window: the selection holds the rows to pool, the measure, and
# which numbers were derived or rest on weak sources.
from metafuse.review.selection import select

sel = select(records, "B", "odi", "2y")
sel.labels, sel.measure

# %%
import metafuse

res = metafuse.pool(sel.frame, sel.measure, "REML", **sel.pool_options())
print(res)

# %%
# The whole build: every automatic analysis and every spec of ``analyses/``, fitted once.
from metafuse.pipeline.outputs import run_plan
from metafuse.pipeline.plan import make_plan

plan = make_plan(project / "analyses")
analyses = run_plan(plan)
[(a.spec.name, None if a.result is None else a.result.k) for a in analyses]

# %%
# Summary-of-findings tables, one per comparison, with the GRADE certainty of every outcome
# (written as Markdown, CSV, HTML and Word by the build); here the first one as a table.
import pandas as pd

from metafuse.pipeline.tables import sof_tables
from metafuse.report.table_document import build_document

key, table = sof_tables(analyses, plan.records)[0]
document = build_document(table, "sof")
print(document.title)
main = document.sections[0]
pd.DataFrame([[cell.text for cell in row] for row in main.rows], columns=list(main.header))

# %%
# Each judgement is explained in a footnote.
import textwrap

for letter, note in document.footnotes:
    print(textwrap.fill(f"{letter}. {note}", 88, subsequent_indent="   "))

# %%
# ``metafuse analysis analyses --out results`` writes all of it (JSON, summaries, figures, the
# tables as Markdown, CSV, HTML and Word, and an HTML report) atomically, with a manifest that
# ``metafuse verify`` checks.
shutil.rmtree(project.parent)
