"""Reading Cochrane RevMan 5 review files (``.rm5``).

:func:`read_rm5` returns one :class:`RevManOutcome` per outcome: the study data in metafuse's
columns, the outcome's settings, the numbers RevMan stored (:class:`StoredResults`) and the
arguments that make ``metafuse.pool`` reproduce them (:meth:`RevManOutcome.pool_arguments`).
"""

from __future__ import annotations

from metafuse.revman._model import RevManOutcome, RevManSubgroup, StoredResults
from metafuse.revman.reader import read_rm5

__all__ = ["RevManOutcome", "RevManSubgroup", "StoredResults", "read_rm5"]
