"""Study labels of one analysis.

Study labels of one analysis: made unique the way Cochrane reviews do, and rows that repeat another
exactly (same label, same numbers) refused as copies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import BoolArray
from metafuse.exceptions import DataError


def _repeated(labels: Sequence[str]) -> BoolArray:
    """Which labels occur more than once (hashed in pandas: a million labels in little memory)."""
    if not labels:
        return np.zeros(0, dtype=bool)
    return np.asarray(pd.Series(labels, dtype=object).duplicated(keep=False).to_numpy(), dtype=bool)


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Labels made unique the way Cochrane reviews do: repeated labels get a, b, c, ...

    'Shechter 2003' twice becomes 'Shechter 2003a' and 'Shechter 2003b'; a label that does not end
    in a digit gets ' (1)', ' (2)', ... A generated label that is itself taken gets a further
    suffix.
    """
    repeated = _repeated(labels)
    if not repeated.any():
        return list(labels)
    counts = Counter(label for label, twice in zip(labels, repeated, strict=True) if twice)
    seen: Counter[str] = Counter()
    taken = set(labels)
    out = []
    for label in labels:
        if counts[label] < 2:
            out.append(label)
            continue
        seen[label] += 1
        n = seen[label]
        new = (
            f"{label}{chr(ord('a') + n - 1)}"
            if label[-1:].isdigit() and n <= 26
            else (f"{label} ({n})")
        )
        while new in taken:
            new += "'"
        taken.add(new)
        out.append(new)
    return out


def refuse_repeated_rows(labels: list[str], rows: list[int], matrix: np.ndarray) -> None:
    """Return a row with the label and every number of an earlier row is a copy.

    A row with the label and every number of an earlier row is a copy (pooled twice it would count
    one study double): an error naming both rows. Same label, other numbers: two studies (see
    :func:`unique_labels`).
    """
    repeated = _repeated(labels)
    first: dict[tuple[Any, ...], int] = {}
    for label, row, twice in zip(labels, rows, repeated, strict=True):
        if not twice:
            continue
        key = (label, *(None if np.isnan(x) else float(x) for x in matrix[row]))
        if key in first:
            raise DataError(
                "repeats an earlier row exactly (same label and numbers): a study entered twice "
                "would be pooled twice",
                row=row,
                study=label,
                related_row=first[key],
            )
        first[key] = row
