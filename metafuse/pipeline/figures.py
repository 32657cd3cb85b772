"""The figures of one analysis, each drawn once and saved in every format from that drawing.

A forest plot (PNG and SVG) with arm data and risk-of-bias columns from the records; from 10 studies
a funnel plot (Cochrane Handbook 13.3.5.4: fewer studies cannot show asymmetry); from 5 studies a
GOSH plot (every subset of studies fitted; random subsets beyond 15 studies); and the Bayesian
forest plot with shrunken estimates when the analysis has a Bayesian part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from metafuse.pipeline.run import Analysis
from metafuse.review.grade import SMALL_STUDY_MIN_K
from metafuse.review.records import StudyRecords

#: GOSH plots are drawn from this many studies (Olkin et al. 2012 show k >= 5).
GOSH_MIN_K = 5
#: Up to this many studies every subset is fitted; beyond, GOSH_SUBSETS random ones.
GOSH_MAX_EXHAUSTIVE = 15
GOSH_SUBSETS = 20_000
#: Per-arm columns a generic (GEN) selection may carry for display.
ARM_COLUMNS = (
    "events_exp",
    "n_exp",
    "events_ctrl",
    "n_ctrl",
    "mean_exp",
    "sd_exp",
    "mean_ctrl",
    "sd_ctrl",
)


def _arm_data(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per-arm values of the trials that have them (generic selections keep them for display)."""
    cols = [c for c in ARM_COLUMNS if c in frame.columns]
    out = {}
    for _, row in frame.iterrows():
        values = {c: float(row[c]) for c in cols if not pd.isna(row[c])}
        if values:
            out[str(row["study"])] = values
    return out


def _risk_of_bias(analysis: Analysis, records: StudyRecords) -> dict[str, dict[str, str]]:
    from metafuse.review.study_facts import report_of, rob_judgements

    s = analysis.selection
    assert s is not None
    out = {}
    for label in s.records:
        judgements = rob_judgements(records, report_of(s, records, label), s.outcome.key)
        if judgements:
            out[label] = judgements
    return out


def forest_options(analysis: Analysis, records: StudyRecords | None = None) -> dict[str, Any]:
    """Return the forest-plot options of an analysis from the review's vocabulary and records.

    Arm headers, 'Favours' labels, per-arm values of generic rows and the risk-of-bias judgements
    (from ``records``), from the review's vocabulary and records.
    """
    s = analysis.selection
    if s is None:
        return {}
    exp, ctrl = s.comparison.experimental, s.comparison.control
    options: dict[str, Any] = {"label_exp": exp, "label_ctrl": ctrl}
    if s.outcome.better == "higher":
        options |= {"favours_exp": f"Favours [{ctrl}]", "favours_ctrl": f"Favours [{exp}]"}
    if s.measure == "GEN":
        options["arm_data"] = _arm_data(s.frame)
    if records is not None:
        rob = _risk_of_bias(analysis, records)
        if rob:
            options["risk_of_bias"] = rob
    return options


def analysis_figures(
    analysis: Analysis, folder: Path, records: StudyRecords | None = None
) -> list[Path]:
    """Draw the analysis's figures into ``folder``; return the files written."""
    from metafuse.plots import forest_plot, funnel_plot, save_plot

    result = analysis.result
    assert result is not None
    title = analysis.spec.title
    forest = forest_plot(
        result, title=title, subgroups=analysis.subgroups, **forest_options(analysis, records)
    )
    paths = [folder / "forest.png", folder / "forest.svg"]
    save_plot(forest, paths)
    if result.k >= SMALL_STUDY_MIN_K:
        paths.append(save_plot(funnel_plot(result, title=title), folder / "funnel.png"))
    if result.k >= GOSH_MIN_K:
        paths.append(save_plot(gosh_figure(analysis), folder / "gosh.png"))
    if analysis.bayes is not None:
        from metafuse.plots.shrinkage import shrinkage_plot

        bayes_title = f"{title} (Bayesian)"
        paths.append(
            save_plot(shrinkage_plot(analysis.bayes, title=bayes_title), folder / "bayes.png")
        )
    return paths


def gosh_figure(analysis: Analysis) -> Any:
    """Return the GOSH plot of the analysis.

    Its own model (fixed effect for Mantel-Haenszel and Peto) fitted to every subset of its studies.
    """
    from metafuse.measures import TABLE_METHODS
    from metafuse.plots.gosh import gosh_plot
    from metafuse.pooling import refit
    from metafuse.toolbox.gosh import gosh, max_random_subsets

    result = analysis.result
    assert result is not None
    if result.method in TABLE_METHODS:  # subsets of 2x2 tables: inverse-variance fixed effect
        result = refit(result, method="FE")
    subsets = min(GOSH_SUBSETS, max_random_subsets(result.k))  # within GOSH's memory budget
    fits = gosh(result, max_exhaustive=GOSH_MAX_EXHAUSTIVE, subsets=subsets)
    return gosh_plot(fits, scale=result.display_scale, title=analysis.spec.title)
