"""The live records in studies/ (and the example reviews' records): invariants only (a reviewer
adding a trial must never break these), never counts or study lists. Library tests use
tests/fixtures/ instead."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest

from metafuse.review.records import load_studies, validate_studies
from metafuse.review.selection import EVIDENCE, primary_records, select
from tests.conftest import ROOT

STUDIES = ROOT / "studies"
#: Every live records folder: the spine review and the example reviews.
LIVE = (STUDIES, ROOT / "examples" / "beta_blockers" / "studies")


@pytest.mark.parametrize("folder", LIVE, ids=lambda p: p.parent.name)
def test_live_records_validate(folder: Path) -> None:
    assert [str(p) for p in validate_studies(folder) if not p.warning] == []


@pytest.mark.parametrize("folder", LIVE, ids=lambda p: p.parent.name)
def test_every_number_has_a_source(folder: Path) -> None:
    records = load_studies(folder)
    o = records.outcomes
    numbers = o[["n", "mean", "sd", "events", "estimate"]].notna().any(axis=1)
    assert o.loc[numbers, ["source_id", "location", "quote"]].notna().all().all()
    t = records.trials
    with_n = t[["n_randomised_exp", "n_randomised_ctrl"]].notna().any(axis=1)
    assert t.loc[with_n, ["source_id", "quote"]].notna().all().all()


def test_every_primary_record_reaches_an_analysis_or_is_named() -> None:
    """Each primary record (after baseline) is pooled in some window (with the other randomised
    trials, or with the other observational studies), named as not poolable, or stands behind a
    merged report (no patient counted twice) — never silently dropped."""
    records = load_studies(STUDIES)
    review = records.review
    o = records.outcomes
    primary = o[(o["primary"] == "yes") & (o["timepoint_months"] != 0)]
    accounted: set[str] = set()
    for comparison in review.comparisons:
        for outcome in review.outcomes.values():
            if not outcome.applies_to(comparison):
                continue
            for window, evidence in product(review.windows.values(), EVIDENCE):
                key = (comparison, outcome.key, window)
                chosen = primary_records(records, *key, merge=False, evidence=evidence)
                merged = primary_records(records, *key, evidence=evidence)
                selection = select(records, comparison, outcome.key, window.key, evidence)
                named = {lab for lab, _ in selection.incomplete}
                kept = {str(r["record_id"].iloc[0]) for r in merged}
                for rows in chosen:
                    rid = str(rows["record_id"].iloc[0])
                    label = records.label(str(rows["report_id"].iloc[0]))
                    if rid in selection.records.values() or label in named or rid not in kept:
                        accounted.add(rid)
    trials = dict(zip(records.trials["report_id"], records.trials["comparison"], strict=True))
    expected = {
        r.record_id
        for r in primary.itertuples()
        if review.outcomes[r.outcome].applies_to(trials[r.report_id])
    }
    assert expected <= accounted, sorted(expected - accounted)
