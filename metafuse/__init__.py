"""metafuse: evidence synthesis and meta-analysis, validated against R metafor."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from metafuse._version import __version__
from metafuse.exceptions import (
    DataError,
    DuplicateLabelWarning,
    ExcludedStudyWarning,
    MetafuseError,
    ModelError,
    SpecError,
)

if TYPE_CHECKING:
    from metafuse.bayes import BayesResult, bayes_pool
    from metafuse.engine.batch import BatchResult, pool_many
    from metafuse.engine.inverse_variance import fit_inverse_variance
    from metafuse.model import Model
    from metafuse.pooling import compute_effects, pool, refit
    from metafuse.results import EffectSizes, PooledResult, StudyEstimate

#: The public names and the modules they come from, imported on first use: ``import metafuse``
#: loads neither numpy nor pandas, so a command that needs neither (``metafuse analysis`` with
#: nothing changed) starts at once.
_LAZY = {
    "BayesResult": "metafuse.bayes",
    "bayes_pool": "metafuse.bayes",
    "BatchResult": "metafuse.engine.batch",
    "pool_many": "metafuse.engine.batch",
    "fit_inverse_variance": "metafuse.engine.inverse_variance",
    "Model": "metafuse.model",
    "compute_effects": "metafuse.pooling",
    "pool": "metafuse.pooling",
    "refit": "metafuse.pooling",
    "EffectSizes": "metafuse.results",
    "PooledResult": "metafuse.results",
    "StudyEstimate": "metafuse.results",
}
#: Plotting functions reachable from the top level; they load plotnine (the ``plots`` extra) on
#: first use, so they are listed by ``dir()`` but left out of ``__all__`` (a star import must
#: work without the extra).
_PLOTS = ("forest_data", "forest_plot", "funnel_plot", "save_plot")


def __getattr__(name: str) -> object:
    """Return a public name, or a subpackage (``metafuse.pooling``), importing it on first use."""
    module = "metafuse.plots" if name in _PLOTS else _LAZY.get(name)
    if module is not None:
        value = getattr(import_module(module), name)
    elif not name.startswith("_"):
        try:
            value = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the module's names, those imported on first use included."""
    return sorted({*globals(), *_LAZY, *_PLOTS})


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
