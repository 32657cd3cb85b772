"""Plots: forest (RevMan layout) and funnel (contour-enhanced), with deterministic saving."""

from metafuse.plots.forest import forest_data, forest_plot, subgroup_difference_test
from metafuse.plots.funnel import funnel_data, funnel_plot
from metafuse.plots.save import render, save_plot

__all__ = [
    "forest_data",
    "forest_plot",
    "funnel_data",
    "funnel_plot",
    "render",
    "save_plot",
    "subgroup_difference_test",
]
