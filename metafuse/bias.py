"""Deprecated: small-study methods now live in :mod:`metafuse.toolbox`.

Importing this module warns (DeprecationWarning); it will be removed in a later release.
"""

from metafuse._deprecation import deprecated_module
from metafuse.toolbox.bias import egger_test, peters_test, rank_test
from metafuse.toolbox.trimfill import TrimFillResult, trim_and_fill

deprecated_module("metafuse.bias", "metafuse.toolbox")

__all__ = ["TrimFillResult", "egger_test", "peters_test", "rank_test", "trim_and_fill"]
