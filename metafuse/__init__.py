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
    ModelError,
    SpecError,
)
from metafuse.model import Model
from metafuse.pooling import compute_effects, pool, refit
from metafuse.results import EffectSizes, PooledResult, StudyEstimate

#: Plotting functions reachable from the top level; they load plotnine (the ``plots`` extra) on
#: first use, so they are listed by ``dir()`` but left out of ``__all__`` (a star import must
#: work without the extra).
_PLOTS = ("forest_data", "forest_plot", "funnel_plot", "save_plot")


def __getattr__(name: str) -> object:
    """Return a plotting function, importing :mod:`metafuse.plots` on first use."""
    if name in _PLOTS:
        from metafuse import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the module's names, the lazily imported plotting functions included."""
    return sorted({*globals(), *_PLOTS})


__all__ = [
    "BatchResult",
    "BayesResult",
    "DataError",
    "DuplicateLabelWarning",
    "EffectSizes",
    "ExcludedStudyWarning",
    "MetafuseError",
    "Model",
    "ModelError",
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
