"""Drawing a laid-out forest plot: every text, line and mark placed, then one ``ggplot``.

Everything is placed in inches across and rows down on a :class:`Canvas`; :func:`draw` returns the
ggplot that draws it in one layer (:mod:`metafuse.plots.forest.artists`), with the theme of
:mod:`metafuse.plots.style`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from metafuse.plots.forest.layout import FONT_SIZE, MARGIN, NOTE_SIZE, ROW_INCHES, Layout
from metafuse.plots.forest.rob import RobColumns
from metafuse.text.metrics import text_width, wrap

if TYPE_CHECKING:
    from plotnine import ggplot

LINE_ROWS = 0.68  # one line of header text, in rows
DIAMOND_ROWS = 0.32  # half the height of a diamond
BAR_ROWS = 0.18  # half the height of a prediction-interval bar


@dataclass
class Canvas:
    """What to draw, in inches across and rows down (y grows upwards).

    ``texts``: dicts of ``x, y, label, ha, va, fontweight, size``; ``segments``: dicts of ``x,
    xend, y, yend``; ``whiskers``: CI lines ``(x0, x1, y, arrow_at_x0, arrow_at_x1)``;
    ``squares``: ``(x, y, side)``, ``side`` in plotnine's point size; ``diamonds``: ``(vertices,
    fill)``; ``bars``: prediction intervals ``(xmin, xmax, ymin, ymax)``; ``dots``: risk-of-bias
    ``(x, y, fill)``.
    """

    texts: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    whiskers: list[tuple[float, float, float, bool, bool]] = field(default_factory=list)
    squares: list[tuple[float, float, float]] = field(default_factory=list)
    diamonds: list[tuple[list[tuple[float, float]], str]] = field(default_factory=list)
    bars: list[tuple[float, float, float, float]] = field(default_factory=list)
    dots: list[tuple[float, float, str]] = field(default_factory=list)

    def __deepcopy__(self, memo: dict[int, Any]) -> Canvas:
        """Return the canvas itself: it is finished once drawn (plotnine copies a plot to draw)."""
        return self

    def text(
        self,
        x: float,
        y: float,
        label: str,
        ha: str = "left",
        *,
        va: str = "center",
        bold: bool = False,
        size: float = FONT_SIZE,
    ) -> None:
        """Add a text at ``(x, y)`` (inches from the plot's origin)."""
        self.texts.append(
            {
                "x": x,
                "y": y,
                "label": label,
                "ha": ha,
                "va": va,
                "fontweight": "bold" if bold else "normal",
                "size": size,
            }
        )

    def line(self, x: float, xend: float, y: float, yend: float) -> None:
        """Add a line segment from ``(x, y)`` to ``(xend, yend)``."""
        self.segments.append({"x": x, "xend": xend, "y": y, "yend": yend})


def table_texts(canvas: Canvas, data: pd.DataFrame, lay: Layout) -> None:
    """Study labels, data cells, weights, effects and the notes under the table."""
    for r in data.itertuples(index=False):
        kind = r.row_type
        if kind == "text":
            canvas.text(lay.label_x, r.y, r.label, size=NOTE_SIZE)
            continue
        strong = kind in ("header", "subtotal", "total", "fixed")
        canvas.text(lay.label_x, r.y, r.label, bold=strong, size=FONT_SIZE)
        if kind in ("header", "more"):
            continue
        for col in lay.columns:
            cell = col.cell(getattr(r, col.key, None))
            if cell:
                canvas.text(lay.ends[col.key], r.y, cell, "right", bold=kind != "study")
        if kind in ("study", "subtotal", "total") and not pd.isna(r.weight):
            canvas.text(lay.ends["weight"], r.y, r.weight_text, "right", bold=kind != "study")
        if isinstance(r.effect_text, str):
            bold = kind not in ("study", "prediction")
            canvas.text(lay.ends["effect"], r.y, r.effect_text, "right", bold=bold)


def header_texts(canvas: Canvas, lay: Layout, head_y: float) -> None:
    """Column headers (bottom-aligned on the header row), arm names and effect headers."""
    base = head_y - 0.3
    canvas.text(lay.label_x, base, "Study or Subgroup", va="baseline", bold=True)
    for col in lay.columns:
        canvas.text(lay.ends[col.key], base, col.header, "right", va="baseline", bold=True)
    canvas.text(lay.ends["weight"], base, "Weight", "right", va="baseline", bold=True)
    canvas.text(lay.ends["effect"], base, lay.effect_header, "right", va="baseline", bold=True)
    canvas.text((lay.g0 + lay.g1) / 2, base, lay.graph_header, "center", va="baseline", bold=True)
    for x, name in lay.arm_headers:
        canvas.text(x, base + 0.95, name, "center", va="baseline", bold=True)


def header_top(lay: Layout, head_y: float) -> float:
    """Return the top of the header block, in rows."""
    base = head_y - 0.3
    arms = base + 0.95 + lay.arm_lines * LINE_ROWS if lay.arm_lines else base
    return max(arms, base + lay.effect_lines * LINE_ROWS) + 0.3


def axis_items(canvas: Canvas, lay: Layout, bottom: float, head_y: float) -> None:
    """Axis line, ticks and labels, the line of no effect."""
    canvas.line(lay.g0, lay.g1, bottom, bottom)
    for b in lay.breaks:
        x = lay.gx(b)
        canvas.line(x, x, bottom, bottom - 0.25)
        canvas.text(x, bottom - 0.75, f"{b:g}", "center")
    if lay.null is not None and lay.limits[0] <= lay.null <= lay.limits[1]:
        x = lay.gx(lay.null)
        canvas.line(x, x, bottom, head_y - 0.5)


def favours_texts(
    canvas: Canvas, lay: Layout, y: float, left: str, right: str
) -> tuple[float, float]:
    """Return the two 'Favours' labels either side of the null (top at ``y``).

    Returns the right end of the right label (inches) and the y below them. Proportions have no line
    of no effect and so no labels.
    """
    if lay.null is None:
        return lay.g1, y
    null_inside = lay.limits[0] < lay.null < lay.limits[1]
    x_null = lay.gx(lay.null) if null_inside else (lay.g0 + lay.g1) / 2
    room = (lay.g1 - lay.g0) / 2 + 0.6
    left, right = wrap(left, room, FONT_SIZE), wrap(right, room, FONT_SIZE)
    canvas.text(x_null - 0.06, y, left, "right", va="top")
    canvas.text(x_null + 0.06, y, right, "left", va="top")
    lines = max(left.count("\n"), right.count("\n")) + 1
    return x_null + 0.06 + text_width(right, FONT_SIZE), y - lines * LINE_ROWS


def rob_items(canvas: Canvas, rob: RobColumns, head_y: float) -> None:
    """RoB column headers, the judgements' dots and their symbols."""
    for x, text in rob.headers:
        canvas.text(x, head_y - 0.3, text, "center", va="baseline", bold=True)
    for d in rob.dots:
        canvas.dots.append((d["x"], d["y"], d["fill"]))
        canvas.text(d["x"], d["y"], d["symbol"], "center", bold=True)


def study_marks(canvas: Canvas, data: pd.DataFrame, lay: Layout) -> None:
    """CI whiskers (arrows where clipped) and squares whose area is proportional to weight.

    The heaviest study's square is 6 points wide (RevMan draws square areas by weight).
    """
    studies = data[(data.row_type == "study") & data.est.notna()]
    heaviest = max(float(data.loc[data.row_type == "study", "weight"].max()), 1e-12)
    low, high = lay.limits
    rows = list(
        zip(*(studies[c].tolist() for c in ("est", "lo", "hi", "y", "weight")), strict=True)
    )
    for _, lo, hi, y, _ in rows:
        canvas.whiskers.append((lay.clip(lo), lay.clip(hi), y, lo < low, hi > high))
    for est, _, _, y, weight in rows:
        if low <= est <= high:
            canvas.squares.append((lay.gx(est), y, 6.0 * math.sqrt(weight / heaviest)))


def total_marks(canvas: Canvas, data: pd.DataFrame, lay: Layout) -> None:
    """Diamonds of the totals and the prediction-interval bars.

    Diamonds are filled for a random or fixed total and white for the extra fixed-effect one.
    """
    columns = ("row_type", "est", "lo", "hi", "y")
    for kind, est, lo, hi, y in zip(*(data[c].tolist() for c in columns), strict=True):
        if kind == "prediction":
            canvas.bars.append((lay.clip(lo), lay.clip(hi), y - BAR_ROWS, y + BAR_ROWS))
        elif kind in ("total", "subtotal", "fixed") and not pd.isna(est):
            h = DIAMOND_ROWS
            points = [
                (lay.clip(lo), y),
                (lay.clip(est), y + h),
                (lay.clip(hi), y),
                (lay.clip(est), y - h),
            ]
            canvas.diamonds.append((points, "white" if kind == "fixed" else "black"))


def draw(canvas: Canvas, extent: tuple[float, float, float, float]) -> ggplot:
    """Return the ggplot of a finished canvas: one layer that draws it all.

    ``extent`` is (left, right, bottom, top) of the drawing, in inches across and rows down.
    """
    from plotnine import aes, ggplot, scale_x_continuous, scale_y_continuous, theme

    from metafuse.plots.forest.artists import geom_drawing
    from metafuse.plots.style import void_theme

    left, right, bottom, top = extent
    corner = pd.DataFrame({"x": [left], "y": [bottom]})
    p = ggplot(corner, aes(x="x", y="y")) + geom_drawing(canvas)
    # no breaks: a drawing has no axes, and plotnine then computes no tick labels
    p += scale_x_continuous(limits=(left, right), expand=(0, 0), breaks=None)
    p += scale_y_continuous(limits=(bottom, top), expand=(0, 0), breaks=None)
    p += void_theme()
    p += theme(figure_size=(right - left, (top - bottom) * ROW_INCHES))
    return p


def title_text(canvas: Canvas, title: str, top: float, width: float) -> float:
    """Return the title above everything (wrapped to ``width``); returns the new top."""
    from metafuse.plots.style import TITLE_SIZE

    text = wrap(title, width, TITLE_SIZE)
    rows = (text.count("\n") + 1) * TITLE_SIZE * 1.25 / 72 / ROW_INCHES
    canvas.text(MARGIN, top + rows + 0.2, text, va="top", size=TITLE_SIZE)
    return top + rows + 0.5


def legend_texts(canvas: Canvas, notes: Sequence[str], y: float, width: float) -> float:
    """Write the notes under the figure (wrapped to ``width``); return the y below them."""
    for note in notes:
        text = wrap(note, width, NOTE_SIZE)
        canvas.text(MARGIN, y, text, va="top", size=NOTE_SIZE)
        y -= (text.count("\n") + 1) * LINE_ROWS * NOTE_SIZE / FONT_SIZE + 0.3
    return y
