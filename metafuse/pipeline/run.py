"""Running one analysis: its data selected, pooled once, and the toolbox applied.

Running one analysis: its data selected (with the spec's exclusions), pooled once, and the toolbox
applied to that result (leave-one-out from k = 3, small-study tests from k = 10, subgroups).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from metafuse.bayes import BayesResult, bayes_pool
from metafuse.data.csv import read_table
from metafuse.exceptions import DataError, SpecError
from metafuse.measures import TABLE_METHODS
from metafuse.pipeline.spec import AnalysisSpec
from metafuse.pooling import pool
from metafuse.results import PooledResult
from metafuse.review import panel
from metafuse.review.grade import SMALL_STUDY_MIN_K
from metafuse.review.rating import bayes_thresholds, measure_of
from metafuse.review.records import StudyRecords
from metafuse.review.selection import Selection
from metafuse.toolbox.bias import RankTest, SlopeTest, egger_test, rank_test
from metafuse.toolbox.sensitivity import LeaveOneOut, leave_one_out
from metafuse.toolbox.subgroups import SubgroupAnalysis, subgroup

#: Leave-one-out is reported from this many studies.
LEAVE_ONE_OUT_MIN_K = 3
#: Up to this many studies, a Bayesian analysis accompanies the frequentist one: tau^2 and so the
#: random-effects interval are poorly estimated from so few studies (the threshold of issue 13).
BAYES_MAX_K = 4


@dataclass(frozen=True)
class SmallStudyTests:
    """The small-study tests of an analysis (k >= 10): Egger's test and the rank test."""

    egger: SlopeTest
    rank: RankTest

    def as_mappings(self) -> dict[str, dict[str, Any]]:
        """Return ``{"egger": ..., "rank": ...}``, each test's ``to_dict()``."""
        return {"egger": self.egger.to_dict(), "rank": self.rank.to_dict()}


@dataclass(frozen=True)
class Analysis:
    """A fitted analysis: the pooled result (None when no trial has usable data) and its data."""

    spec: AnalysisSpec
    result: PooledResult | None
    selection: Selection | None = None
    #: Leave-one-out table (k >= 3) and small-study tests (k >= 10), else None.
    leave_one_out: LeaveOneOut | None = None
    small_study: SmallStudyTests | None = None
    #: Studies the spec left out, with the reason.
    excluded: tuple[tuple[str, str], ...] = ()
    #: Study label -> subgroup, and the subgroup analysis, when the spec asks for subgroups.
    subgroups: dict[str, str] | None = None
    subgroup_test: SubgroupAnalysis | None = None
    #: The Bayesian analysis (k <= BAYES_MAX_K, or the spec's primary analysis), or why there
    #: is none.
    bayes: BayesResult | None = None
    bayes_note: str | None = None


def _report_of(selection: Selection, records: StudyRecords, label: str) -> str:
    o = records.outcomes
    return str(o.loc[o["record_id"] == selection.records[label], "report_id"].iloc[0])


def _high_risk(selection: Selection, records: StudyRecords, label: str) -> bool:
    from metafuse.review.study_facts import rob_overall

    report = _report_of(selection, records, label)
    return rob_overall(records, report, selection.outcome.key) == "high"


def apply_exclusions(
    spec: AnalysisSpec, selection: Selection, records: StudyRecords
) -> tuple[Selection, tuple[tuple[str, str], ...]]:
    """Leave out the studies the spec names or the kinds of trial it excludes.

    Leave out the studies the spec names, or all weak-source / high-risk trials (the RoB 2 judgement
    for this outcome) / trials with an SD borrowed from another trial; every exclusion keeps its
    reason. An excluded label that is not in the analysis is an error.
    """
    drop: dict[str, str] = {}
    labels = selection.labels
    for study, reason in spec.exclude:
        if study not in labels:
            raise SpecError(
                f"{spec.path}: exclude: study {study!r} is not in this analysis "
                f"(its studies: {', '.join(labels) or 'none'})"
            )
        drop[study] = reason
    if spec.exclude_weak_sources:
        for label in selection.weak:
            drop.setdefault(label, spec.exclude_weak_sources)
    if spec.exclude_borrowed_sd:
        for label in selection.borrowed:
            drop.setdefault(label, spec.exclude_borrowed_sd)
    if spec.exclude_high_risk_of_bias:
        for label in labels:
            if _high_risk(selection, records, label):
                drop.setdefault(label, spec.exclude_high_risk_of_bias)
    if not drop:
        return selection, ()
    keep = ~selection.frame["study"].isin(list(drop))
    narrowed = dataclasses.replace(
        selection,
        frame=selection.frame[keep].reset_index(drop=True),
        weak=tuple(w for w in selection.weak if w not in drop),
        derived=tuple(d for d in selection.derived if d not in drop),
        borrowed=tuple(b for b in selection.borrowed if b not in drop),
        records={k: v for k, v in selection.records.items() if k not in drop},
    )
    return narrowed, tuple(drop.items())


def _subgroups(
    spec: AnalysisSpec, selection: Selection, records: StudyRecords, result: PooledResult
) -> tuple[dict[str, str], SubgroupAnalysis | None]:
    trials = records.trials_by_report()
    if spec.subgroup not in trials.columns:
        raise SpecError(f"{spec.path}: subgroup: {spec.subgroup!r} is not a column of trials.csv")
    groups = {
        label: str(trials.at[_report_of(selection, records, label), spec.subgroup])
        for label in selection.labels
    }
    if len(set(groups.values())) < 2:
        return groups, None
    return groups, subgroup(result, groups=groups, by=str(spec.subgroup))


def _pool_csv(spec: AnalysisSpec) -> Analysis:
    """Pool a spec with a data file.

    Pooled, with leave-one-out, small-study tests and subgroups (a column of the file) as for
    curated records.
    """
    assert spec.data is not None
    table = read_table(spec.data)
    frame = table.frame
    if spec.subgroup is not None and spec.subgroup not in frame.columns:
        raise SpecError(f"{spec.path}: subgroup: {spec.subgroup!r} is not a column of {spec.data}")
    try:
        result = pool(
            frame,
            spec.measure or "GEN",
            spec.method,
            spec.hksj,
            warn_excluded=False,
            **spec.pool_options(),
        )
    except DataError as err:
        raise table.locate(err) from None
    groups = test = None
    if spec.subgroup is not None and result.effects is not None:
        column = frame[spec.subgroup].astype(str).str.strip()
        groups = {
            label: str(column.iloc[row])
            for label, row in zip(result.effects.labels, result.effects.rows, strict=True)
        }
        if len(set(groups.values())) >= 2:
            test = subgroup(result, groups=groups, by=spec.subgroup)
    return Analysis(spec, result, None, *_toolbox(result), (), groups, test)


def _toolbox(result: PooledResult) -> tuple[LeaveOneOut | None, SmallStudyTests | None]:
    loo = leave_one_out(result) if result.k >= LEAVE_ONE_OUT_MIN_K else None
    small = None
    if result.k >= SMALL_STUDY_MIN_K:
        small = SmallStudyTests(egger_test(result), rank_test(result))
    return loo, small


def run_analysis(
    spec: AnalysisSpec, selection: Selection | None = None, records: StudyRecords | None = None
) -> Analysis:
    """Pool one analysis once and apply the toolbox to its result."""
    if spec.data is not None:
        return _pool_csv(spec)
    assert selection is not None
    assert records is not None
    selection, excluded = apply_exclusions(spec, selection, records)
    if selection.frame.empty:
        return Analysis(spec, None, selection, excluded=excluded)
    if selection.measure == "GEN" and spec.method in TABLE_METHODS:
        raise SpecError(
            f"{spec.path or spec.name}: method: {spec.method} pools 2x2 tables, but this "
            "analysis has contrast records (generic inverse variance); choose an "
            "inverse-variance method"
        )
    result = pool(
        selection.frame,
        selection.measure,
        spec.method,
        spec.hksj,
        warn_excluded=False,
        **selection.pool_options(),
        **spec.pool_options(),
    )
    groups = test = None
    if spec.subgroup is not None:
        groups, test = _subgroups(spec, selection, records, result)
    bayes, note = _bayes(spec, selection, result, records)
    return Analysis(spec, result, selection, *_toolbox(result), excluded, groups, test, bayes, note)


def _bayes(
    spec: AnalysisSpec, selection: Selection, result: PooledResult, records: StudyRecords
) -> tuple[BayesResult | None, str | None]:
    """Return the Bayesian analysis of an analysis with few studies, or why there is none.

    The Bayesian analysis of a records analysis with few studies (or chosen as primary), with
    the heterogeneity prior of the outcome's measure; or the reason there is none. A single
    study gets none: its between-study SD is not estimable.
    """
    if result.k > BAYES_MAX_K and spec.primary != "bayes":
        return None, None
    if result.k < 2:
        if spec.primary == "bayes":
            raise SpecError(
                f"{spec.path}: primary: bayes needs at least two studies (a between-study SD is "
                "not estimable from one)"
            )
        return None, None
    outcome = selection.outcome
    measure = result.measure if result.measure != "GEN" else measure_of(selection)
    prior = outcome.bayes_prior(measure)
    if prior is None:
        message = f"no heterogeneity prior declared for {outcome.label} on the {measure} scale"
        if spec.primary == "bayes":
            raise SpecError(f"{spec.path}: primary: bayes needs {message}")
        return None, f"Bayesian analysis not done: {message}."
    tau, source = prior
    grade = panel.grade_inputs(records.review, selection.comparison.key, outcome.key, spec.grade)
    limits = bayes_thresholds(selection, result, records, grade)
    fit = bayes_pool(result, tau_prior=tau, thresholds=limits)
    return dataclasses.replace(fit, options={**fit.options, "prior_source": source}), None
