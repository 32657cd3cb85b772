"""The figures of one analysis: a forest plot (PNG and SVG, drawn once), from 10 studies a
funnel plot (Cochrane Handbook 13.3.5.4: fewer studies cannot show asymmetry), and the Bayesian
forest plot with shrunken estimates when the analysis has a Bayesian part."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metafuse.pipeline.run import Analysis
from metafuse.review.grade import SMALL_STUDY_MIN_K


def forest_options(analysis: Analysis) -> dict[str, Any]:
    """Arm headers, 'Favours' labels and the effect's name, from the review's vocabulary."""
    s = analysis.selection
    if s is None:
        return {}
    exp, ctrl = s.comparison.experimental, s.comparison.control
    options: dict[str, Any] = {"label_exp": exp, "label_ctrl": ctrl}
    if s.outcome.better == "higher":
        options |= {"favours_exp": f"Favours [{ctrl}]", "favours_ctrl": f"Favours [{exp}]"}
    if s.measure == "GEN":
        options |= {"ratio": s.ratio, "measure_label": s.outcome.scale_name}
    return options


def analysis_figures(analysis: Analysis, folder: Path) -> list[Path]:
    """Draw the analysis's figures into ``folder``; return the files written."""
    from metafuse.plots import forest_plot, funnel_plot, save_plot

    result = analysis.result
    assert result is not None
    forest = forest_plot(
        result, title=analysis.spec.title, subgroups=analysis.subgroups, **forest_options(analysis)
    )
    paths = [folder / "forest.png", folder / "forest.svg"]
    save_plot(forest, paths)
    if result.k >= SMALL_STUDY_MIN_K:
        paths.append(
            save_plot(funnel_plot(result, title=analysis.spec.title), folder / "funnel.png")
        )
    if analysis.bayes is not None:
        from metafuse.plots.shrinkage import shrinkage_plot

        title = f"{analysis.spec.title} (Bayesian)"
        paths.append(save_plot(shrinkage_plot(analysis.bayes, title=title), folder / "bayes.png"))
    return paths
