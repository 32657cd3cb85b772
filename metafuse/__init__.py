"""metafuse: evidence synthesis and meta-analysis, validated against R metafor."""

from metafuse._version import __version__
from metafuse.bayes import BayesResult, bayes_pool
from metafuse.engine.batch import BatchResult, pool_many
from metafuse.engine.inverse_variance import fit_inverse_variance
from metafuse.exceptions import (
    DataError,
    DuplicateLabelWarning,
    ExcludedStudyWarning,
    MetafuseError,
    SpecError,
)
from metafuse.pooling import compute_effects, pool, refit
from metafuse.results import EffectSizes, PooledResult, StudyEstimate

_PLOTS = ("forest_plot", "funnel_plot", "forest_data", "save_plot")


def __getattr__(name: str) -> object:
    """Plotting functions load plotnine lazily (``metafuse.forest_plot``, ...)."""
    if name in _PLOTS:
        from metafuse import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BatchResult",
    "BayesResult",
    "DataError",
    "DuplicateLabelWarning",
    "EffectSizes",
    "ExcludedStudyWarning",
    "MetafuseError",
    "PooledResult",
    "SpecError",
    "StudyEstimate",
    "__version__",
    "bayes_pool",
    "compute_effects",
    "fit_inverse_variance",
    "pool",
    "pool_many",
    "refit",
]
