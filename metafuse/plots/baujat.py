"""Baujat plot: contribution to heterogeneity against influence on the pooled result.

Reference: Baujat B, Mahé C, Pignon J-P, Hill C (2002). Stat Med 21:2641-2652.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from metafuse.results import PooledResult
from metafuse.toolbox._inputs import as_result
from metafuse.toolbox.influence import baujat_data

if TYPE_CHECKING:
    from plotnine import ggplot


def baujat_plot(
    data: PooledResult | pd.DataFrame,
    measure: str | None = None,
    method: str = "REML",
    hksj: bool = False,
    **options: Any,
) -> ggplot:
    """Draw the Baujat plot: each study's contribution to heterogeneity against its influence.

    Parameters
    ----------
    data : PooledResult or pandas.DataFrame
        A pooled result, or study rows pooled with the arguments below.
    measure, method, hksj, **options
        How to pool ``data`` when it is not a result, as in :func:`metafuse.pool`.

    Returns
    -------
    plotnine.ggplot
        The plot of :func:`metafuse.toolbox.baujat_data`.

    References
    ----------
    Baujat B, Mahé C, Pignon J-P, Hill C (2002). A graphical method for exploring heterogeneity
    in meta-analyses. Stat Med 21:2641-2652.
    """
    from plotnine import aes, geom_point, geom_text, ggplot, labs

    from metafuse.plots.style import bw_theme

    result = as_result(data, measure, method, hksj, **options)
    points = baujat_data(result).to_frame()
    return (
        ggplot(points, aes("x", "y"))
        + geom_point(size=2, fill="white", colour="black")
        + geom_text(
            aes(label="study"),
            size=7,
            ha="left",
            family="DejaVu Sans",
            nudge_x=0.02 * max(float(points["x"].max()), 1e-12),
        )
        + labs(
            x="Squared Pearson residual"
            if result.is_random
            else "Contribution to overall heterogeneity",
            y="Influence on overall result",
        )
        + bw_theme((5.5, 4.5))
    )
