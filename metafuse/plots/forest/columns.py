"""The data columns of a forest plot.

Per-arm values (events and totals, or mean, SD and total; events and person-time for rates; events
and total for single groups), else the generic estimate and its SE; each column as wide as its
widest text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from metafuse.plots.forest.text import fmt_cell
from metafuse.text.metrics import text_width

#: Per-arm families: (field, header) in the order RevMan prints them; keys are ``field_arm``.
ARM_FAMILIES: dict[str, tuple[tuple[str, str], ...]] = {
    "continuous": (("mean", "Mean"), ("sd", "SD"), ("n", "Total")),
    "rates": (("events", "Events"), ("time", "Person-time")),
    "binary": (("events", "Events"), ("n", "Total")),
}
#: Every per-arm value a forest row may carry.
ARM_KEYS: tuple[str, ...] = tuple(
    dict.fromkeys(
        f"{f}_{arm}" for fam in ARM_FAMILIES.values() for f, _ in fam for arm in ("exp", "ctrl")
    )
)
#: Single-group data (proportions; rates): one block without arm names.
SINGLE_FAMILIES: dict[str, tuple[tuple[str, str], ...]] = {
    "binary": (("events", "Events"), ("n", "Total")),
    "rates": (("events", "Events"), ("time", "Person-time")),
}
SINGLE_KEYS = (("events", "Events"), ("n", "Total"), ("time", "Person-time"))
#: Rows whose data cells are printed.
TABLE_ROWS = ("study", "subtotal", "total", "total_events", "fixed", "prediction")


@dataclass(frozen=True)
class Column:
    """One data column of the forest plot: its key, header, arm and print format.

    One data column: the forest-data key, its header, its arm (None: not an arm column) and how its
    values are printed (``arm``: integers plain, else one decimal; ``se``: 3 decimals).
    """

    key: str
    header: str
    arm: str | None = None
    style: str = "arm"

    def cell(self, value: object) -> str:
        """Return the printed value ('' when missing)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        v = float(value)  # type: ignore[arg-type]
        return f"{v:.3f}" if self.style == "se" else fmt_cell(v)


def _present(frame: pd.DataFrame, keys: Sequence[str]) -> bool:
    studies = frame[frame["row_type"] == "study"]
    return all(k in studies and studies[k].notna().any() for k in keys)


def data_columns(frame: pd.DataFrame, generic: bool, ratio: bool) -> list[Column]:
    """Return the data columns for the rows of :func:`~metafuse.plots.forest.forest_data`.

    Per-arm columns when any study has them (studies without them get blank cells: a trial that
    reported only its contrast); ``generic`` results without arm data show the estimate and SE.
    """
    for fields in ARM_FAMILIES.values():
        keys = [f"{f}_{arm}" for f, _ in fields for arm in ("exp", "ctrl")]
        if _present(frame, keys):
            return [
                Column(f"{f}_{arm}", header, arm) for arm in ("exp", "ctrl") for f, header in fields
            ]
    for single in SINGLE_FAMILIES.values():
        if _present(frame, [k for k, _ in single]):
            return [Column(k, header) for k, header in single]
    if generic:
        name = "log[Ratio]" if ratio else "Estimate"
        return [Column("yi", name, style="se"), Column("sei", "SE", style="se")]
    return []


def missing_arm_data(frame: pd.DataFrame, columns: Sequence[Column]) -> list[str]:
    """Study labels with a blank arm block (the trial gave its contrast only)."""
    arm_keys = [c.key for c in columns if c.arm is not None]
    if not arm_keys:
        return []
    studies = frame[frame["row_type"] == "study"]
    return [str(r["study"]) for _, r in studies.iterrows() if all(pd.isna(r[k]) for k in arm_keys)]


def column_widths(
    frame: pd.DataFrame, columns: Sequence[Column], size: float, pad: float
) -> list[float]:
    """Width in inches of each column: its widest cell or header (bold), plus ``pad``."""
    rows = frame[frame["row_type"].isin(TABLE_ROWS)]
    widths = []
    for col in columns:
        texts = [col.cell(v) for v in rows[col.key]] if col.key in rows else []
        widest = max([text_width(t, size) for t in texts] + [text_width(col.header, size, True)])
        widths.append(widest + pad)
    return widths
