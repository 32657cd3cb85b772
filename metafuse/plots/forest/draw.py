"""Drawing a laid-out forest plot as one plotnine ``ggplot``.

A few layers (all text in one, all lines in one) so that drawing stays fast, with the theme of
:mod:`metafuse.plots.style`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from metafuse.plots.forest.layout import FONT_SIZE, MARGIN, NOTE_SIZE, ROW_INCHES, Layout
from metafuse.plots.forest.rob import RobColumns
from metafuse.text.metrics import text_width, wrap

if TYPE_CHECKING:
    from plotnine import ggplot

SQUARE = "#1f5f8b"
PREDICTION = "#c7202f"
LINE_ROWS = 0.68  # one line of header text, in rows


@dataclass
class Canvas:
    """What to draw, in inches across and rows down (y grows upwards)."""

    texts: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)

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


def rob_items(canvas: Canvas, rob: RobColumns, head_y: float) -> pd.DataFrame:
    """RoB column headers and symbols (texts) and the dots (returned as a frame)."""
    for x, text in rob.headers:
        canvas.text(x, head_y - 0.3, text, "center", va="baseline", bold=True)
    for d in rob.dots:
        canvas.text(d["x"], d["y"], d["symbol"], "center", bold=True)
    return pd.DataFrame(rob.dots)


def _arrow_groups(studies: pd.DataFrame) -> list[tuple[str | None, pd.DataFrame]]:
    out: list[tuple[str | None, pd.DataFrame]] = []
    for (clo, chi), part in studies.groupby(["clip_lo", "clip_hi"]):
        ends = "both" if clo and chi else "first" if clo else "last" if chi else None
        out.append((ends, part))
    return out


def study_layers(data: pd.DataFrame, lay: Layout) -> list[Any]:
    """CI lines (arrows where clipped) and squares sized by weight."""
    from plotnine import aes, arrow, geom_point, geom_segment

    layers: list[Any] = []
    studies = data[(data.row_type == "study") & data.est.notna()].copy()
    studies["xl"] = [lay.clip(v) for v in studies.lo]
    studies["xh"] = [lay.clip(v) for v in studies.hi]
    studies["clip_lo"] = studies.lo < lay.limits[0]
    studies["clip_hi"] = studies.hi > lay.limits[1]
    for ends, part in _arrow_groups(studies):
        extra: dict[str, Any] = {}
        if ends is not None:
            kind: Literal["first", "last", "both"] = ends  # type: ignore[assignment]
            extra["arrow"] = arrow(length=0.05, ends=kind, type="closed")
        layers.append(
            geom_segment(aes(x="xl", xend="xh", y="y", yend="y"), data=part, size=0.4, **extra)
        )
    inside = studies[(studies.est >= lay.limits[0]) & (studies.est <= lay.limits[1])]
    if not inside.empty:
        # square area proportional to the study's weight (RevMan); the largest is 6 points wide
        heaviest = max(float(data.loc[data.row_type == "study", "weight"].max()), 1e-12)
        squares = inside.assign(
            xe=[lay.gx(v) for v in inside.est], side=6.0 * np.sqrt(inside.weight / heaviest)
        )
        layers.append(
            geom_point(
                aes(x="xe", y="y", size="side"), data=squares, shape="s", fill=SQUARE, colour=SQUARE
            )
        )
    return layers


def total_layers(data: pd.DataFrame, lay: Layout) -> list[Any]:
    """Return the layers of the totals: diamonds and prediction-interval bars.

    Diamonds (filled: random or fixed total; white: the extra fixed-effect one) and the
    prediction-interval bars.
    """
    from plotnine import aes, geom_polygon, geom_rect

    layers: list[Any] = []
    diamonds = _diamonds(data, lay)
    if not diamonds.empty:
        layers.append(
            geom_polygon(
                aes(x="x", y="y", group="id", fill="fill"), data=diamonds, colour="black", size=0.4
            )
        )
    bars = data[data.row_type == "prediction"]
    if not bars.empty:
        rects = pd.DataFrame(
            {
                "xmin": [lay.clip(v) for v in bars.lo],
                "xmax": [lay.clip(v) for v in bars.hi],
                "ymin": bars.y - 0.18,
                "ymax": bars.y + 0.18,
            }
        )
        layers.append(
            geom_rect(
                aes(xmin="xmin", xmax="xmax", ymin="ymin", ymax="ymax"),
                data=rects,
                fill=PREDICTION,
                alpha=0.85,
            )
        )
    return layers


def draw(
    canvas: Canvas,
    data: pd.DataFrame,
    lay: Layout,
    *,
    dots: pd.DataFrame | None,
    extent: tuple[float, float, float, float],
) -> ggplot:
    """Return the ggplot of a laid-out forest plot.

    The ggplot: study and total layers, risk-of-bias dots, then every line and every text of the
    canvas in one layer each. ``extent`` is (left, right, bottom, top) of the drawing.
    """
    from plotnine import (
        aes,
        geom_point,
        geom_segment,
        geom_text,
        ggplot,
        scale_fill_identity,
        scale_size_identity,
        scale_x_continuous,
        scale_y_continuous,
        theme,
    )

    from metafuse.plots.style import void_theme

    left, right, bottom, top = extent
    p = ggplot()
    for layer in [*study_layers(data, lay), *total_layers(data, lay)]:
        p += layer
    if dots is not None and not dots.empty:
        p += geom_point(
            aes(x="x", y="y", fill="fill"), data=dots, colour="black", size=3.6, stroke=0.2
        )
    p += geom_segment(
        aes(x="x", xend="xend", y="y", yend="yend"), data=pd.DataFrame(canvas.segments), size=0.4
    )
    p += geom_text(
        aes(x="x", y="y", label="label", ha="ha", va="va", fontweight="fontweight", size="size"),
        data=pd.DataFrame(canvas.texts),
        family="DejaVu Sans",
        lineheight=1.15,
    )
    p += scale_size_identity()
    p += scale_fill_identity()
    # no breaks: a drawing has no axes, and plotnine then computes no tick labels
    p += scale_x_continuous(limits=(left, right), expand=(0, 0), breaks=None)
    p += scale_y_continuous(limits=(bottom, top), expand=(0, 0), breaks=None)
    p += void_theme()
    p += theme(figure_size=(right - left, (top - bottom) * ROW_INCHES))
    return p


def _diamonds(data: pd.DataFrame, lay: Layout) -> pd.DataFrame:
    rows = []
    for r in data[data.row_type.isin(["total", "subtotal", "fixed"])].itertuples(index=False):
        if pd.isna(r.est):
            continue
        h = 0.32
        pts = [
            (lay.clip(r.lo), r.y),
            (lay.clip(r.est), r.y + h),
            (lay.clip(r.hi), r.y),
            (lay.clip(r.est), r.y - h),
        ]
        fill = "white" if r.row_type == "fixed" else "black"
        rows += [{"x": x, "y": y, "id": f"{r.row_type}{r.y}", "fill": fill} for x, y in pts]
    return pd.DataFrame(rows)


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
