"""metafuse: evidence synthesis and meta-analysis, validated against R metafor."""

from metafuse._version import __version__
from metafuse.exceptions import DataError, ExcludedStudyWarning, MetafuseError, SpecError
from metafuse.pooling import fit_inverse_variance, pool
from metafuse.results import PooledResult, StudyEstimate

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
