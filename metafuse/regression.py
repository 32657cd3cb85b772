"""Deprecated: meta-regression and subgroups now live in :mod:`metafuse.toolbox`.

Deprecated: meta-regression and subgroups now live in :mod:`metafuse.toolbox` (the bubble plot in
:mod:`metafuse.plots`, the mixed-model engine in :mod:`metafuse.engine.mixed`).

Importing this module warns (DeprecationWarning); it will be removed in a later release.
"""

from metafuse._deprecation import deprecated_module
from metafuse.engine.mixed import MixedFit, fit_mixed, tau2_mixed
from metafuse.plots.bubble import bubble_plot
from metafuse.toolbox.metareg import meta_regression
from metafuse.toolbox.subgroups import subgroup

deprecated_module(
    "metafuse.regression",
    "metafuse.toolbox (bubble_plot: metafuse.plots; fit_mixed: metafuse.engine.mixed)",
)

__all__ = ["MixedFit", "bubble_plot", "fit_mixed", "meta_regression", "subgroup", "tau2_mixed"]
