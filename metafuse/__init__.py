"""metafuse: evidence synthesis and meta-analysis, validated against R metafor."""

from metafuse._version import __version__
from metafuse.exceptions import DataError, ExcludedStudyWarning, MetafuseError, SpecError
from metafuse.pooling import fit_inverse_variance, pool
from metafuse.results import PooledResult, StudyEstimate


def __getattr__(name: str):
    """Plotting functions load plotnine lazily: `metafuse.forest_plot`, `metafuse.funnel_plot`."""
    if name in ("forest_plot", "funnel_plot", "forest_data", "save_plot"):
        from metafuse import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DataError",
    "ExcludedStudyWarning",
    "MetafuseError",
    "PooledResult",
    "SpecError",
    "StudyEstimate",
    "__version__",
    "fit_inverse_variance",
    "pool",
]
