"""A synthetic review (tests/fixtures/grade_review) whose rows span the imprecision cases of
GRADE guidance 34 and Core GRADE 2, built end to end: the certainty each row gets, by hand, and
the SoF and evidence profile in every format as a panel reads them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from metafuse.pipeline.outputs import run_all, run_plan
from metafuse.pipeline.plan import make_plan
from metafuse.pipeline.tables import sof_tables
from metafuse.report.table_document import build_document
from metafuse.report.writers import render_table

ROOT = Path(__file__).resolve().parent / "fixtures" / "grade_review"


@pytest.fixture(scope="module")
def table():
    plan = make_plan(ROOT / "analyses", ROOT / "studies")
    return dict(sof_tables(run_plan(plan), plan.records))["X"]


def _row(table, key: str, window_words: str):
    return next(r for r in table.all_rows() if r.key == key and window_words in r.outcome.text)


@pytest.mark.parametrize(
    ("key", "when", "imprecision", "level", "statement"),
    [
        # MD -0.7 (-4.3 to 2.9) inside +/-10: precise little or no difference
        ("pain", "12 months", "not serious", "high", "has little to no important effect on pain"),
        # MD -7 (-12 to -2) crosses -10 (but not 0): serious
        ("pain", "24 months", "serious", "moderate", "probably has little to no important"),
        # MD -5 (-25 to 15) crosses -10 and +10: very serious
        ("pain", "60 months", "very serious", "low", "may have little to no important effect"),
        # RR 0.9 (0.787 to 1.032) at 200 per 1000: -20 (-43 to +6) per 1000 inside +/-50
        ("relapse", "12 months", "not serious", "high", "has little to no important effect"),
        # RR 1.5 (0.9 to 2.5) at 100 per 1000: +50 (-10 to +150) crosses +20 only; CI ratio 2.8
        (
            "bleeding",
            "12 months",
            "serious",
            "moderate",
            "probably results in an important increase",
        ),
    ],
)
def test_imprecision_follows_grade_34(
    table, key: str, when: str, imprecision: str, level: str, statement: str
) -> None:
    row = _row(table, key, when)
    assert row.certainty is not None
    assert row.certainty.domain("imprecision").rating == imprecision
    assert row.certainty.level == level
    assert not row.certainty.provisional  # indirectness judged in review.toml
    assert statement in row.comments.text


def test_binary_rows_are_judged_on_the_absolute_scale(table) -> None:
    relapse = _row(table, "relapse", "12 months")
    assert relapse.comparator.text == "200 per 1000"
    assert "test cohort" in " ".join(relapse.comparator.notes)
    assert relapse.difference.text == "20 fewer per 1000 (from 43 fewer to 6 more)"
    note = relapse.certainty.domain("imprecision").explanation
    assert "±50 per 1000" in note


def test_main_table_has_each_outcome_once_with_a_harm(table) -> None:
    assert [r.key for r in table.rows] == ["pain", "relapse", "bleeding"]
    assert any(r.harm for r in table.rows)
    assert sorted(r.key for r in table.appendix) == ["pain", "pain"]


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
TOOL_WORDS = ("metafuse", "review.toml", ".csv", "studies/", "analyses/", "gaps")


def test_tables_read_without_the_tool(tmp_path: Path) -> None:
    """Every format: no control characters, every footnote referenced by a cell, no command or
    file names, letters in order."""
    project = tmp_path / "p"
    shutil.copytree(ROOT, project)
    (project / "analyses").mkdir(exist_ok=True)
    run_all(project / "analyses", project / "results")
    for stem in ("sof", "evidence_profile"):
        for fmt in ("md", "csv", "html"):
            text = (project / "results" / f"{stem}_X.{fmt}").read_text(encoding="utf-8")
            assert not CONTROL.search(text), (stem, fmt)
            lowered = text.lower()
            for word in TOOL_WORDS:
                assert word not in lowered, (stem, fmt, word)
        assert (project / "results" / f"{stem}_X.docx").stat().st_size > 0
    plan = make_plan(project / "analyses")
    table = dict(sof_tables(run_plan(plan), plan.records))["X"]
    for kind in ("sof", "profile"):
        doc = build_document(table, kind)
        used = {x for s in doc.sections for r in s.rows for c in r for x in c.letters}
        assert used == {letter for letter, _ in doc.footnotes}
        md = render_table(table, kind, "md").decode()
        assert "Drug X compared with placebo for adults with a test condition" in md
        assert "Patient or population:" in md
        assert "GRADE Working Group grades of evidence" in md
