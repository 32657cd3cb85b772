"""Deprecated: derivations of analysable numbers now live in :mod:`metafuse.review.derivations`.

Importing this module warns (DeprecationWarning); it will be removed in a later release.
"""

from metafuse._deprecation import deprecated_module
from metafuse.review.derivations import *  # noqa: F403
from metafuse.review.derivations import __all__  # noqa: F401

deprecated_module("metafuse.conversions", "metafuse.review.derivations")
