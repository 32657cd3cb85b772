"""Where everything goes on a forest plot, in inches across and in rows down.

The x axis of the drawing is in inches (the figure is exactly as wide as its contents), so every
column is as wide as its widest text, measured with the pinned font: headers never collide and
the heterogeneity lines never run into the graph. The graph panel maps the display scale onto a
fixed width (log for ratios).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metafuse.plots.forest.columns import Column, column_widths
from metafuse.text.metrics import longest_word, text_width, wrap

FONT_SIZE = 7.5
NOTE_SIZE = FONT_SIZE - 0.5
ROW_INCHES = 0.19
PAD = 0.12  # between columns
GRAPH_INCHES = 2.4
ROB_INCHES = 0.2  # one risk-of-bias column
MARGIN = 0.08
RATIO_BREAKS = (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1000)
#: Upper axis limits offered for proportions (the smallest one above every CI is used).
PROPORTION_TOPS = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def axis(
    ratio: bool,
    values: Sequence[float],
    limits: tuple[float, float] | None,
    proportion: bool = False,
) -> tuple[tuple[float, float], list[float]]:
    """Return the axis limits and readable breaks on the display scale.

    For proportions from 0 to a readable top; for single-group rates, a log axis around the
    values.
    """
    finite = [v for v in values if v is not None and np.isfinite(v)]
    if proportion and ratio:
        return _rate_axis([v for v in finite if v > 0], limits)
    if proportion and limits is None:
        top = max(finite, default=1.0)
        limits = (0.0, min((c for c in PROPORTION_TOPS if c >= top * 0.999), default=1.0))
    if ratio:
        finite = [v for v in finite if v > 0]
        if limits is None:
            # symmetric about 1, widened to the next readable break, at most 0.01 to 100
            lo = min([*finite, 1.0])
            hi = max([*finite, 1.0])
            span = min(max(-math.log10(max(lo, 1e-300)), math.log10(hi), math.log10(2)), 2.0)
            upper = min(c for c in RATIO_BREAKS if c >= 10**span * 0.999)
            limits = (1 / upper, upper)
        breaks = [c for c in RATIO_BREAKS if limits[0] * 0.999 <= c <= limits[1] * 1.001]
        if len(breaks) > 7:
            breaks = [b for b in breaks if math.log10(b).is_integer() or b in (0.5, 2)]
        return (float(limits[0]), float(limits[1])), [float(b) for b in breaks]
    if limits is None:
        m = max([abs(v) for v in finite] + [1e-9])
        step = 10 ** math.floor(math.log10(m))
        top = math.ceil(m / step) * step
        limits = (-top, top)
    lo, hi = limits
    raw = (hi - lo) / 4
    step = 10 ** math.floor(math.log10(raw))
    step = min((s * step for s in (1, 2, 2.5, 5, 10) if s * step >= raw), default=raw)
    ticks = np.round(np.arange(math.ceil(lo / step) * step, hi + step / 2, step), 10)
    return (float(lo), float(hi)), [float(b) for b in ticks]


def _rate_axis(
    values: Sequence[float], limits: tuple[float, float] | None
) -> tuple[tuple[float, float], list[float]]:
    """Return a log axis for single-group rates: whole decades around the values, breaks 1, 2, 5."""
    if limits is None:
        lo, hi = min(values, default=0.1), max(values, default=1.0)
        limits = (10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi) + 1e-12))
    first, last = (math.floor(math.log10(x)) for x in limits)
    breaks = [c * 10.0**e for e in range(first, last + 1) for c in (1, 2, 5)]
    breaks = [b for b in breaks if limits[0] * 0.999 <= b <= limits[1] * 1.001]
    if len(breaks) > 7:
        breaks = [b for b in breaks if math.log10(b).is_integer()]
    return (float(limits[0]), float(limits[1])), [float(b) for b in breaks]


@dataclass
class Layout:
    """Columns (right edges, in inches), the graph panel and the header lines."""

    columns: list[Column]
    label_x: float
    ends: dict[str, float]
    widths: dict[str, float]
    g0: float
    g1: float
    limits: tuple[float, float]
    breaks: list[float]
    ratio: bool
    #: Single-group proportions: no line of no effect, no "Favours" labels.
    proportion: bool = False
    #: Arm block headers: (centre x, wrapped name).
    arm_headers: list[tuple[float, str]] = field(default_factory=list)
    #: Lines of the tallest arm name and of the effect headers (they grow upwards).
    arm_lines: int = 0
    effect_lines: int = 1
    effect_header: str = ""
    graph_header: str = ""

    def gx(self, v: float) -> float:
        """Return a display-scale value as x in inches (values beyond the limits not clipped)."""
        tr = math.log if self.ratio else float
        a, b = tr(self.limits[0]), tr(self.limits[1])
        return self.g0 + (tr(v) - a) / (b - a) * (self.g1 - self.g0)

    def clip(self, v: float | None) -> float:
        """Return a value clipped to the axis, as x in inches (nan stays nan)."""
        if v is None or not np.isfinite(v):
            return math.nan
        return self.gx(min(max(v, self.limits[0]), self.limits[1]))

    @property
    def null(self) -> float | None:
        """The value of no effect on the display scale (None for proportions)."""
        if self.proportion:
            return None
        return 1.0 if self.ratio else 0.0


def _bold_rows(data: pd.DataFrame) -> pd.Series:
    return data["row_type"].isin(["header", "subtotal", "total", "fixed"])


def _label_width(data: pd.DataFrame) -> float:
    rows = data[~data["row_type"].isin(["text"])]
    bold = _bold_rows(rows)
    widths = [text_width(str(t), FONT_SIZE, bool(b)) for t, b in zip(rows.label, bold, strict=True)]
    return max([*widths, text_width("Study or Subgroup", FONT_SIZE, True)]) + PAD


def _arm_blocks(
    columns: list[Column], widths: list[float], names: dict[str, str]
) -> list[tuple[str, list[int]]]:
    """Widen each arm block to its name's longest word; return (arm, column positions)."""
    blocks = []
    for arm in ("exp", "ctrl"):
        idx = [i for i, c in enumerate(columns) if c.arm == arm]
        if not idx:
            continue
        need = longest_word(names[arm], FONT_SIZE, True) + PAD
        have = sum(widths[i] for i in idx)
        if need > have:
            widths[idx[-1]] += need - have
        blocks.append((arm, idx))
    return blocks


def make_layout(
    data: pd.DataFrame,
    columns: list[Column],
    *,
    ratio: bool,
    limits: tuple[float, float] | None,
    arm_names: dict[str, str],
    effect_header: str,
    proportion: bool = False,
) -> Layout:
    """Column widths from their text, the graph panel after them, and the header lines."""
    widths = column_widths(data, columns, FONT_SIZE, PAD)
    blocks = _arm_blocks(columns, widths, arm_names)
    table = data[data["row_type"].isin(["study", "subtotal", "total", "fixed", "prediction"])]
    weight_w = max(
        [text_width(str(t), FONT_SIZE, True) for t in table.weight_text.dropna()]
        + [text_width("Weight", FONT_SIZE, True)]
    )
    effect_w = max(
        [text_width(str(t), FONT_SIZE, True) for t in table.effect_text.dropna()]
        + [text_width(effect_header.split("\n")[-1], FONT_SIZE, True)]
        + [longest_word(effect_header, FONT_SIZE, True)]
    )
    label_w = _label_width(data)
    keys = ["label", *(c.key for c in columns), "weight", "effect"]
    all_widths = [label_w, *widths, weight_w + PAD, effect_w + PAD]
    notes = data[data["row_type"] == "text"].label
    note_w = max([text_width(str(t), NOTE_SIZE) for t in notes] + [0.0]) + PAD
    if note_w > sum(all_widths):  # the notes sit under the table: never under the graph
        all_widths[0] += note_w - sum(all_widths)
    ends = dict(zip(keys, np.cumsum(all_widths) + MARGIN, strict=True))
    width_of = dict(zip(keys, all_widths, strict=True))
    values = pd.concat([data["lo"], data["hi"], data["est"]]).dropna().tolist()
    axis_limits, breaks = axis(ratio, values, limits, proportion)
    g0 = ends["effect"] + 0.2
    layout = Layout(
        columns=list(columns),
        label_x=MARGIN,
        ends={k: float(v) for k, v in ends.items()},
        widths=width_of,
        g0=g0,
        g1=g0 + GRAPH_INCHES,
        limits=axis_limits,
        breaks=breaks,
        ratio=ratio,
        proportion=proportion,
    )
    layout.effect_header = wrap(effect_header, effect_w, FONT_SIZE, True)
    layout.graph_header = wrap(effect_header, GRAPH_INCHES, FONT_SIZE, True)
    arm_lines = 0
    for arm, idx in blocks:
        start = layout.ends[columns[idx[0]].key] - width_of[columns[idx[0]].key]
        end = layout.ends[columns[idx[-1]].key]
        name = wrap(arm_names[arm], end - start - PAD / 2, FONT_SIZE, True)
        layout.arm_headers.append(((start + PAD / 2 + end) / 2, name))
        arm_lines = max(arm_lines, name.count("\n") + 1)
    layout.arm_lines = arm_lines
    layout.effect_lines = max(
        h.count("\n") + 1 for h in (layout.effect_header, layout.graph_header)
    )
    return layout
