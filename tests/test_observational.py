"""Observational designs (a synthetic cohort study, test fixture only) and the automatic
sensitivity analysis without borrowed SDs, through selection, plan, GRADE and the SoF table.

The cohort study is invented for this test ("Synthetic cohort 2031", not a real study); its
expected mean difference and SE are written out by hand below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metafuse import pool
from metafuse.pipeline.outputs import run_plan
from metafuse.pipeline.plan import BORROWED_SD_REASON, make_plan
from metafuse.pipeline.spec import read_spec
from metafuse.pipeline.tables import sof_tables
from metafuse.report.table_document import build_document
from metafuse.review.records import load_studies, validate_studies
from metafuse.review.selection import select
from tests.tolerances import CLOSED_FORM, printed

COHORT = "Synthetic cohort 2031"


def add_cohort(studies: Path) -> None:
    """A cohort study of comparison B (design cohort) with ODI at 24 months, invented here."""
    with (studies / "sources.csv").open("a", encoding="utf-8") as fh:
        fh.write("cohort2031,Synthetic cohort 2031 (test fixture),,table,primary,invented\n")
    with (studies / "trials.csv").open("a", encoding="utf-8") as fh:
        fh.write(
            "cohort2031,Synthetic cohort 2031,Synthetic cohort,2031,Test J,,,,B,chronic low back "
            "pain,Nowhere,fusion,rehabilitation,,,2 years,,cohort,,,,no,\n"
        )
    with (studies / "outcomes.csv").open("a", encoding="utf-8") as fh:
        for arm, n, mean, sd in (("exp", 100, 30.0, 20.0), ("ctrl", 80, 35.0, 16.0)):
            fh.write(
                f"cohort2031-odi-24,cohort2031,odi,24,all followed up,arm,{arm},{n},{mean},{sd},"
                ",,,,,,ODI 0-100 (lower is better),yes,,cohort2031,Table 2,ODI at 24 months,no,\n"
            )


@pytest.fixture
def with_cohort(studies: Path) -> Path:
    add_cohort(studies)
    return studies


def test_cohort_is_accepted_and_never_pooled_with_trials(with_cohort: Path) -> None:
    assert [str(p) for p in validate_studies(with_cohort) if not p.warning] == []
    records = load_studies(with_cohort)
    trials = select(records, "B", "odi", "2y")
    assert COHORT not in trials.labels
    assert trials.labels == ["Brox 2003", "Fairbank 2005", "Brox 2006"]
    cohort = select(records, "B", "odi", "2y", "observational")
    assert cohort.labels == [COHORT]
    assert cohort.evidence == "observational"
    # by hand: MD = 30 - 35 = -5; SE = sqrt(20^2/100 + 16^2/80) = sqrt(4 + 3.2) = 2.683282
    res = pool(cohort.frame, cohort.measure, "REML")
    assert res.estimate == pytest.approx(-5.0, **CLOSED_FORM)
    assert res.se == pytest.approx(2.683282, **printed(6))


def test_observational_analysis_starts_grade_at_low(with_cohort: Path) -> None:
    project = with_cohort.parent
    plan = make_plan(project / "analyses")
    specs = {s.name: s for s in plan.specs}
    assert specs["B_odi_2y_observational"].evidence == "observational"
    assert "B_odi_longest_observational" not in specs  # the same record as the 2-year window
    assert specs["B_odi_2y"].evidence == "randomised"
    analyses = run_plan(plan)
    table = dict(sof_tables(analyses, plan.records))["B"]
    rows = [r for r in table.all_rows() if r.outcome.text.startswith("Oswestry")]
    observational = [r for r in rows if "observational studies" in r.outcome.text]
    assert len(observational) == 1
    row = observational[0]
    assert row.certainty is not None
    assert row.certainty.start == "low"
    assert row.certainty.level in ("low", "very low")
    assert row.participants.text == "180 analysed (1 observational study)"
    assert any("GRADE guidance 24" in note for note in row.outcome.notes)
    trial_rows = [r for r in rows if r not in observational and r.certainty is not None]
    assert all(r.certainty.start == "high" for r in trial_rows)
    profile = build_document(table, "profile")
    cells = [row for section in profile.sections for row in section.rows]
    assert any(c[2].text == "observational studies" for c in cells)


def test_spec_evidence_key(project: Path) -> None:
    path = project / "analyses" / "bad.toml"
    path.write_text(
        'studies = "studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'
        'evidence = "mixed"\n',
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="evidence: must be randomised or observational"):
        read_spec(path, project)


def test_borrowed_sd_gets_an_automatic_sensitivity_analysis(studies: Path) -> None:
    path = studies / "outcomes.csv"
    old = ",138,34.0,21.1,,,,,,,ODI 0-100 (lower is better),yes,,"
    new = ",138,34.0,,,,,,,,ODI 0-100 (lower is better),yes,sd_borrowed(record='brox2010-odi-48'),"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    plan = make_plan(studies.parent / "analyses")
    assert plan.selections["B_odi_2y"].borrowed == ("Fairbank 2005",)
    sens = next(s for s in plan.specs if s.name == "B_odi_2y_without_borrowed_sd")
    assert sens.is_secondary
    assert sens.exclude_borrowed_sd == BORROWED_SD_REASON
    analyses = run_plan(plan)
    done = next(a for a in analyses if a.spec.name == "B_odi_2y_without_borrowed_sd")
    assert done.excluded == (("Fairbank 2005", BORROWED_SD_REASON),)
    assert done.result is not None
    assert done.result.k == 2
    main = next(a for a in analyses if a.spec.name == "B_odi_2y")
    assert main.result is not None
    assert main.result.k == 3
    fair = main.selection.frame.set_index("study").loc["Fairbank 2005"]
    # MD 34.0 - 36.1 with the borrowed SD 20.5 (Brox 2010 Table 2) for the fusion arm
    assert fair["sei"] == pytest.approx((20.5**2 / 138 + 20.6**2 / 146) ** 0.5, **CLOSED_FORM)
    table = dict(sof_tables(analyses, plan.records))["B"]
    row = next(r for r in table.all_rows() if r.key == "odi" and r.headline)
    notes = " ".join(row.all_notes())
    assert f"leaving out Fairbank 2005 ({BORROWED_SD_REASON})" in notes
    assert "SD borrowed from another trial on the same scale (approximate): Fairbank 2005" in notes
