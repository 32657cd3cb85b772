"""Meta-regression and subgroups (kept at this path for the public API; see
:mod:`metafuse.toolbox`)."""

from metafuse.engine.mixed import MixedFit, fit_mixed, tau2_mixed
from metafuse.plots.bubble import bubble_plot
from metafuse.toolbox.metareg import meta_regression
from metafuse.toolbox.subgroups import subgroup

__all__ = ["MixedFit", "bubble_plot", "fit_mixed", "meta_regression", "subgroup", "tau2_mixed"]
