"""Deprecated: sensitivity analyses now live in :mod:`metafuse.toolbox`.

Deprecated: sensitivity analyses now live in :mod:`metafuse.toolbox` (and the Baujat plot in
:mod:`metafuse.plots`).

Importing this module warns (DeprecationWarning); it will be removed in a later release.
"""

from metafuse._deprecation import deprecated_module
from metafuse.plots.baujat import baujat_plot
from metafuse.toolbox.influence import baujat_data, influence
from metafuse.toolbox.sensitivity import cumulative, leave_one_out

deprecated_module("metafuse.sensitivity", "metafuse.toolbox (baujat_plot: metafuse.plots)")

__all__ = ["baujat_data", "baujat_plot", "cumulative", "influence", "leave_one_out"]
