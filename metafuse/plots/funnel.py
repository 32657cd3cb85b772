"""Funnel plots: effect against standard error, with pseudo 95% limits and contour-enhanced regions.

References
----------
Sterne JAC, Egger M (2001). Funnel plots for detecting bias in meta-analysis. J Clin Epidemiol
    54:1046-1055 (SE on the vertical axis, pseudo 95% confidence limits).
Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008). Contour-enhanced meta-analysis funnel
    plots help distinguish publication bias from other causes of asymmetry. J Clin Epidemiol
    61:991-996.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
from scipy import special

from metafuse.engine.inverse_variance import normal_quantile
from metafuse.results import PooledResult
from metafuse.toolbox.trimfill import TrimFillResult

if TYPE_CHECKING:
    from plotnine import ggplot

#: Shaded significance regions around the null: (two-sided p bound, fill colour).
CONTOURS = ((0.10, "#ececec"), (0.05, "#d0d0d0"), (0.01, "#ababab"))


def funnel_data(result: PooledResult) -> pd.DataFrame:
    """Per-study points of the funnel plot.

    Parameters
    ----------
    result : PooledResult
        The meta-analysis.

    Returns
    -------
    pandas.DataFrame
        ``study, yi, sei`` (analysis scale; estimable studies only).
    """
    rows = [(s.study, s.yi, s.sei) for s in result.studies if s.yi is not None and s.sei]
    return pd.DataFrame(rows, columns=["study", "yi", "sei"])


def funnel_plot(result: PooledResult | TrimFillResult, *, title: str | None = None) -> ggplot:
    """Draw a contour-enhanced funnel plot (analysis scale; ratio axes labelled as ratios).

    Parameters
    ----------
    result : PooledResult or TrimFillResult
        The meta-analysis; given a trim-and-fill result, the filled studies are drawn as filled
        circles and the pooled line is the filled model's estimate.
    title : str, optional
        A title above the plot.

    Returns
    -------
    plotnine.ggplot
        The plot.

    References
    ----------
    Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008). Contour-enhanced meta-analysis
    funnel plots help distinguish publication bias from other causes of asymmetry. J Clin
    Epidemiol 61:991-996.
    """
    filled: tuple[str, ...] = ()
    if isinstance(result, TrimFillResult):
        filled, result = result.filled, result.result
    from plotnine import (
        aes,
        annotate,
        geom_line,
        geom_point,
        geom_polygon,
        ggplot,
        labs,
        scale_x_continuous,
        scale_y_reverse,
    )

    from metafuse.plots.style import bw_theme

    pts = funnel_data(result)
    se_max = float(pts["sei"].max()) * 1.1 if not pts.empty else 1.0
    null = 0.0
    est = result.estimate if result.estimate is not None else 0.0
    z = normal_quantile(0.95)
    bounds = [-special.ndtri(p / 2) for p, _ in CONTOURS]  # 1.645, 1.96, 2.576
    # symmetric about the null, wide enough for every point, the pseudo limits and the contours
    half = max([abs(x) for x in pts["yi"]] + [abs(est) + z * se_max, max(bounds) * se_max]) * 1.08
    regions = []
    for (p_bound, fill), z_in, z_out in zip(CONTOURS, bounds, [*bounds[1:], None], strict=True):
        for side in (-1, 1):
            if z_out is None:  # p < 0.01: from the 2.576 line to the edge of the panel
                xs = [null, null + side * z_in * se_max, null + side * half, null + side * half]
                ys = [0.0, se_max, se_max, 0.0]
            else:
                xs = [null, null + side * z_in * se_max, null + side * z_out * se_max]
                ys = [0.0, se_max, se_max]
            regions.append(
                pd.DataFrame({"x": xs, "y": ys, "group": f"{p_bound}{side}", "fill": fill})
            )
    limits = pd.DataFrame(
        {"x": [est - z * se_max, est, est + z * se_max], "y": [se_max, 0, se_max]}
    )
    p = ggplot()
    for region in regions:
        p += geom_polygon(
            aes("x", "y", group="group"), data=region, fill=region["fill"].iloc[0], colour=None
        )
    p += geom_line(aes("x", "y"), data=limits, linetype="dashed", size=0.4)
    p += annotate("segment", x=est, xend=est, y=0, yend=se_max, size=0.4)
    observed = pts[~pts["study"].isin(filled)]
    p += geom_point(
        aes("yi", "sei"), data=observed, fill="white", colour="black", size=2, stroke=0.5
    )
    if filled:
        p += geom_point(
            aes("yi", "sei"),
            data=pts[pts["study"].isin(filled)],
            fill="black",
            colour="black",
            size=2,
            stroke=0.5,
        )
    scale = result.display_scale
    if result.is_ratio:
        ticks = [
            b
            for b in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
            if abs(math.log(b)) <= half
        ]
        p += scale_x_continuous(
            breaks=[math.log(t) for t in ticks],
            limits=(-half, half),
            labels=[f"{t:g}" for t in ticks],
            expand=(0, 0),
        )
        xlab = f"{scale.label} (log scale)"
    else:
        xlab = scale.label
        p += scale_x_continuous(limits=(-half, half), expand=(0, 0))
    p += scale_y_reverse(limits=(se_max, 0), expand=(0, 0))
    p += labs(
        x=xlab,
        y="Standard error",
        title=title,
        caption=("Filled circles: studies added by trim-and-fill\n" if filled else "")
        + "Shaded: p < 0.01 (dark), 0.01 to 0.05, 0.05 to 0.10 (light)\n"
        "Dashed: pseudo 95% limits around the pooled estimate (solid line)",
    )
    p += bw_theme((5.0, 4.2))
    return p
