"""The GOSH plot: estimate against I² for every fitted subset.

The GOSH plot: estimate (display scale) against I² for every fitted subset, coloured by whether a
chosen study is in the subset; above ``max_points`` subsets the plane is binned, so density shows
where points overlap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from metafuse.effects.scales import Scale
from metafuse.toolbox.gosh import GoshResult

if TYPE_CHECKING:
    from plotnine import ggplot


def most_influential(result: GoshResult) -> str:
    """Return the study whose inclusion shifts the mean estimate of the subsets most."""
    shifts = [
        abs(
            float(np.mean(result.estimate[result.subsets[:, j]]))
            - float(np.mean(result.estimate[~result.subsets[:, j]]))
        )
        for j in range(len(result.labels))
    ]
    return result.labels[int(np.argmax(shifts))]


def gosh_plot(
    result: GoshResult,
    *,
    study: str | None = None,
    scale: Scale | None = None,
    max_points: int = 50_000,
    title: str | None = None,
) -> ggplot:
    """Draw the GOSH plot: each subset's estimate against its I².

    Parameters
    ----------
    result : GoshResult
        The fits of :func:`metafuse.toolbox.gosh`.
    study : str, optional
        The study whose subsets are highlighted (default: the most influential).
    scale : Scale, optional
        The display scale of the estimates (ratios for log measures).
    max_points : int, optional
        Above this many subsets the points are binned.
    title : str, optional
        A title above the plot.

    Returns
    -------
    plotnine.ggplot
        The plot.
    """
    from plotnine import (
        aes,
        geom_bin_2d,
        geom_point,
        ggplot,
        guide_legend,
        guides,
        labs,
        scale_colour_manual,
        scale_fill_gradient,
        scale_x_log10,
        theme,
    )

    from metafuse.plots.style import bw_theme

    chosen = study or most_influential(result)
    if chosen not in result.labels:
        raise ValueError(f"no study {chosen!r} among {', '.join(result.labels)}")
    j = result.labels.index(chosen)
    x = scale.to_display(result.estimate) if scale is not None else result.estimate
    frame = pd.DataFrame(
        {
            "estimate": x,
            "I2": result.I2,
            "member": np.where(result.subsets[:, j], f"with {chosen}", f"without {chosen}"),
        }
    )
    xlab = f"{scale.label} (pooled, {result.method})" if scale else "Pooled estimate"
    plot = ggplot(frame, aes("estimate", "I2"))
    if len(frame) <= max_points:
        plot += geom_point(aes(colour="member"), size=0.6, alpha=0.5, stroke=0)
        plot += scale_colour_manual(values=["#c7202f", "#1f5f8b"], name="Subsets")
        plot += guides(colour=guide_legend(override_aes={"size": 3, "alpha": 1}))
    else:
        plot += geom_bin_2d(bins=80)
        plot += scale_fill_gradient(low="#deebf7", high="#08306b", name="subsets")
    if scale is not None and scale.is_ratio:
        plot += scale_x_log10()
    plot += labs(
        x=xlab,
        y="I² (%)",
        title=title,
        caption=f"{len(frame):,} subsets of {len(result.labels)} studies"
        f"{'' if result.exhaustive else ' (random subsets)'}",
    )
    plot += bw_theme((5.5, 4.6))
    plot += theme(legend_position="bottom")
    return plot
