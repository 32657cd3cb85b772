"""Plots of results, as plotnine ``ggplot`` objects, and their byte-reproducible saving.

Forest (RevMan layout), funnel (contour-enhanced), GOSH, Baujat, bubble (meta-regression) and the
Bayesian shrinkage forest plot; each takes a result. :func:`save_plot` writes PNG, SVG or PDF.
Needs the ``plots`` extra (``pip install 'metafuse[plots]'``).
"""

from metafuse._extras import require

require("plotnine", "metafuse.plots")

from metafuse.plots.baujat import baujat_plot  # noqa: E402
from metafuse.plots.bubble import bubble_plot  # noqa: E402
from metafuse.plots.forest import forest_data, forest_plot, subgroup_difference_test  # noqa: E402
from metafuse.plots.funnel import funnel_data, funnel_plot  # noqa: E402
from metafuse.plots.gosh import gosh_plot  # noqa: E402
from metafuse.plots.save import render, save_plot  # noqa: E402
from metafuse.plots.shrinkage import shrinkage_data, shrinkage_plot  # noqa: E402

__all__ = [
    "baujat_plot",
    "bubble_plot",
    "forest_data",
    "forest_plot",
    "funnel_data",
    "funnel_plot",
    "gosh_plot",
    "render",
    "save_plot",
    "shrinkage_data",
    "shrinkage_plot",
    "subgroup_difference_test",
]
