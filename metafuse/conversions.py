"""Derivations of analysable numbers (kept at this path for the public API; see
:mod:`metafuse.review.derivations`)."""

from metafuse.review.derivations import *  # noqa: F403
from metafuse.review.derivations import __all__  # noqa: F401
