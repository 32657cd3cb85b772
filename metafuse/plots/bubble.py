"""Bubble plot: effect sizes against a numeric moderator with the fitted meta-regression line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from metafuse.engine.mixed import fit_mixed
from metafuse.exceptions import DataError
from metafuse.toolbox._inputs import as_result, used_effects
from metafuse.toolbox.metareg import moderator_rows

if TYPE_CHECKING:
    from plotnine import ggplot


def bubble_plot(
    data: pd.DataFrame, measure: str, moderator: str, method: str = "REML", **options: Any
) -> ggplot:
    """Draw effect sizes (analysis scale) against one numeric moderator, bubbles sized by weight.

    Parameters
    ----------
    data : pandas.DataFrame
        Study rows with the moderator column.
    measure, method, **options
        How to pool ``data``, as in :func:`metafuse.pool`.
    moderator : str
        The moderator column; the meta-regression line is drawn over the bubbles.

    Returns
    -------
    plotnine.ggplot
        The plot.
    """
    from plotnine import (
        aes,
        geom_abline,
        geom_point,
        ggplot,
        labs,
        scale_size_area,
    )

    from metafuse.plots.style import bw_theme

    result = as_result(data, measure, method, False, **options)
    rows = moderator_rows(result, data, [moderator])
    x = pd.to_numeric(rows[moderator], errors="coerce")
    if x.isna().any():
        raise DataError(
            f"moderator {moderator!r} must be numeric for a bubble plot", column=moderator
        )
    _, y, v = used_effects(result)
    fit = fit_mixed(y, v, np.column_stack([np.ones(len(y)), x]), result.method)
    points = pd.DataFrame({"x": x, "y": y, "weight": 1 / (v + fit.tau2)})
    return (
        ggplot(points, aes("x", "y"))
        + geom_point(aes(size="weight"), fill="#9ecae1", colour="black", alpha=0.8)
        + geom_abline(intercept=fit.coef[0], slope=fit.coef[1], size=0.6)
        + scale_size_area(max_size=9, guide=None)
        + labs(x=moderator, y=f"{result.display_scale.analysis_label} (analysis scale)")
        + bw_theme((5.5, 4.5))
    )
