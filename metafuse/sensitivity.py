"""Sensitivity analyses (kept at this path for the public API; see :mod:`metafuse.toolbox`)."""

from metafuse.plots.baujat import baujat_plot
from metafuse.toolbox.influence import baujat_data, influence
from metafuse.toolbox.sensitivity import cumulative, leave_one_out

__all__ = ["baujat_data", "baujat_plot", "cumulative", "influence", "leave_one_out"]
