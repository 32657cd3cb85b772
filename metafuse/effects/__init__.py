"""Study-level effect sizes and their sampling variances, as metafor's ``escalc`` computes them.

All functions are vectorised over studies (and any leading batch axes) and return the effect on the
analysis scale (log for ratio measures). :func:`study_effects` turns a validated study table into
:class:`~metafuse.results.EffectSizes`.
"""

from metafuse.effects.binary import (
    DEFAULT_ADD,
    DEFAULT_TO,
    CorrectWhen,
    continuity_corrected_cells,
    double_zero,
    odds_ratio,
    risk_difference,
    risk_ratio,
    two_by_two,
)
from metafuse.effects.continuous import (
    hedges_correction,
    mean_difference,
    standardized_mean_difference,
)
from metafuse.effects.generic import from_confidence_interval
from metafuse.effects.proportions import (
    inverse_freeman_tukey,
    proportion_freeman_tukey,
    proportion_logit,
)

__all__ = [
    "DEFAULT_ADD",
    "DEFAULT_TO",
    "CorrectWhen",
    "continuity_corrected_cells",
    "double_zero",
    "from_confidence_interval",
    "hedges_correction",
    "inverse_freeman_tukey",
    "mean_difference",
    "odds_ratio",
    "proportion_freeman_tukey",
    "proportion_logit",
    "risk_difference",
    "risk_ratio",
    "standardized_mean_difference",
    "two_by_two",
]
