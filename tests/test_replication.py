"""A published review beside our analyses (fixture review: Xu et al. 2021): their figures and ours
for the same outcomes, the trials on each side ('not found' stays visible), and every difference
with its reason, all generated from the data; one page per review named in
published_estimates.csv."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from metafuse.pipeline.outputs import run_plan
from metafuse.pipeline.plan import make_plan
from metafuse.pipeline.replication import PublishedReview, published_review
from metafuse.pipeline.replication_page import write_published_reviews
from tests.conftest import FIXTURE_REVIEW

XU = "Xu 2021 (World Neurosurg)"
XU_PAGE = "published_xu_2021_world_neurosurg"


def _replication(project: Path, outcomes: tuple[str, ...] = ()) -> tuple[PublishedReview, str]:
    """Xu 2021's page, fitting only comparison B's analyses (of ``outcomes`` when given)."""
    plan = make_plan(project / "analyses")
    specs = tuple(
        s for s in plan.specs if s.comparison == "B" and (not outcomes or s.outcome in outcomes)
    )
    analyses = run_plan(dataclasses.replace(plan, specs=specs))
    records = plan.records[project.resolve() / "studies"]
    rep = published_review(XU, records, analyses)
    assert rep is not None
    written = write_published_reviews(records, analyses, project / "out")
    assert [p.name for p in written[:2]] == [XU_PAGE + ".md", XU_PAGE + ".html"]
    return rep, written[0].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def fixture_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[PublishedReview, str]:
    """The page of the unmodified fixture review, built once."""
    project = tmp_path_factory.mktemp("replication")
    for folder in ("analyses", "studies", "examples"):
        shutil.copytree(FIXTURE_REVIEW / folder, project / folder)
    return _replication(project)


def _topics(rep: PublishedReview, outcome: str) -> dict[str, str]:
    found = next(o for o in rep.outcomes if o.outcome == outcome)
    return {d.topic: d.reason for d in found.differences}


def test_every_outcome_and_difference_has_a_reason(
    fixture_page: tuple[PublishedReview, str],
) -> None:
    rep, md = fixture_page
    assert [o.outcome for o in rep.outcomes] == [
        "additional_surgery",
        "complications",
        "odi",
        "back_pain",
        "leg_pain",
    ]
    for o in rep.outcomes:
        assert o.differences, o.outcome
        assert all(d.reason.strip() for d in o.differences)
        assert f"### {o.label}" in md
    assert "RR 21.46 [4.34, 106.04], P = 0.0002" in md
    assert "RR 0.40 [0.17, 0.98], P = 0.04" in md


def test_reasons_name_missing_cells_designs_and_unlike_events(
    fixture_page: tuple[PublishedReview, str],
) -> None:
    rep, _md = fixture_page
    complications = _topics(rep, "complications")
    assert "0 of 21 trial x window cells have usable data" in complications["our result"]
    assert "prospective studies" in complications["designs"]
    surgery = _topics(rep, "additional_surgery")
    assert "re-surgery" in surgery["events pooled"]
    assert "crossover surgery" in surgery["events pooled"]
    assert "missing n (exp), n (ctrl)" in surgery["our result"]
    odi = _topics(rep, "odi")
    assert "no pooled numbers printed" in odi["their result"]
    assert "their included trials were not found" in odi["trials"]


def test_our_side_comes_from_the_fitted_analyses(
    fixture_page: tuple[PublishedReview, str],
) -> None:
    rep, md = fixture_page
    odi = next(o for o in rep.outcomes if o.outcome == "odi")
    assert [o.name for o in odi.ours] == ["B_odi_2y", "B_odi_5y", "B_odi_longest"]
    assert "Brox 2003, Fairbank 2005, Brox 2006" in md
    assert "| Theirs | 6 | 675 (as recorded;" in md
    assert "**not found**" in md
    trials = {row[0]: row[4] for row in rep.sections[0].our_trials}
    assert trials["Fritzell 2001"] == "none"


def test_their_numbers_come_from_the_csv(project: Path) -> None:
    path = project / "studies" / "published_estimates.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("RR,0.40,0.17,0.98,", "RR,0.45,0.17,0.98,", 1), encoding="utf-8")
    _rep, md = _replication(project, ("complications",))
    assert "RR 0.45 [0.17, 0.98]" in md
    assert "RR 0.40 [0.17, 0.98]" not in md


def test_with_our_own_result_the_estimates_are_set_side_by_side(project: Path) -> None:
    """A complications record for one trial (synthetic test rows) gives us a result: then the
    trials, follow-up and estimate differences appear, each with its reason."""
    rows = [
        f"fx-compl,fairbank2005,complications,24,intention to treat,arm,{arm},{n},,,{events},,,,,,"
        "patients with a complication,yes,,fairbank2005-abstract,synthetic,synthetic,no,"
        for arm, n, events in (("exp", 176, 20), ("ctrl", 173, 5))
    ]
    with (project / "studies" / "outcomes.csv").open("a", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    rep, md = _replication(project, ("complications",))
    topics = _topics(rep, "complications")
    assert set(topics) >= {"trials", "follow-up", "estimate", "designs"}
    estimate = next(
        d
        for o in rep.outcomes
        for d in o.differences
        if o.outcome == "complications"
        if d.topic == "estimate"
    )
    assert estimate.theirs == "RR 21.46 [4.34, 106.04], P = 0.0002"
    assert estimate.ours.startswith("about 2 years (12-30 months), k = 1: Risk ratio")
    assert "B_complications_2y" in md
