"""Small-study methods (kept at this path for the public API; see :mod:`metafuse.toolbox`)."""

from metafuse.toolbox.bias import egger_test, peters_test, rank_test
from metafuse.toolbox.trimfill import TrimFillResult, trim_and_fill

__all__ = ["TrimFillResult", "egger_test", "peters_test", "rank_test", "trim_and_fill"]
