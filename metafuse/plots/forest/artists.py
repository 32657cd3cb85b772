"""A forest plot's canvas, put on matplotlib axes by one plotnine layer.

A forest plot is a drawing, not a chart of data: :mod:`metafuse.plots.forest.draw` places every
text, line and mark on a :class:`~metafuse.plots.forest.draw.Canvas`, in inches across and rows
down, and :class:`geom_drawing` draws them straight onto the panel's axes, with the sizes
plotnine's own geoms give (line widths, marker sizes and strokes in plotnine's units, times
sqrt(pi); arrowheads as ``plotnine.arrow`` draws them). The plot stays a ``ggplot`` (its theme,
``draw`` and ``save``; layers can be added), without one layer per kind of mark, each passing
through plotnine's scale mapping, for a picture whose coordinates are final already.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from plotnine.geoms.geom import geom

from metafuse.plots.forest.layout import ROW_INCHES
from metafuse.plots.style import FONT

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from metafuse.plots.forest.draw import Canvas

#: plotnine's factor from its size units to matplotlib points (``plotnine._utils.SIZE_FACTOR``).
SIZE_FACTOR = math.sqrt(math.pi)
LINE_SIZE = 0.4  # every line and outline, in plotnine's size units
SQUARE_STROKE = 0.5  # geom_point's default stroke
ROB_DOT_SIZE = 3.6
ROB_DOT_STROKE = 0.2
PREDICTION_ALPHA = 0.85
ARROW_INCHES = 0.05
ARROW_DEGREES = 30.0
LINE_SPACING = 1.15
SQUARE = "#1f5f8b"
PREDICTION = "#c7202f"


class geom_drawing(geom):  # lower case: plotnine's naming of geoms
    """Draw a finished :class:`~metafuse.plots.forest.draw.Canvas` on the panel.

    Its data: any row inside the panel (the scales' limits are the drawing's extent).
    """

    DEFAULT_AES: dict[str, Any] = {}  # noqa: RUF012 (plotnine's class attributes)
    REQUIRED_AES: set[str] = {"x", "y"}  # noqa: RUF012
    DEFAULT_PARAMS: dict[str, Any] = {  # noqa: RUF012
        "stat": "identity",
        "position": "identity",
        "na_rm": False,
    }

    def __init__(self, canvas: Canvas, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.canvas = canvas

    def draw_panel(self, data: pd.DataFrame, panel_params: Any, coord: Any, ax: Axes) -> None:
        """Draw the whole canvas on ``ax`` (data coordinates: inches across, rows down)."""
        draw_on(ax, self.canvas, zorder=self.params.get("zorder", 1))


def draw_on(ax: Axes, d: Canvas, zorder: float = 1) -> None:
    """Draw ``d`` on ``ax``: whiskers, squares, diamonds, bars, dots, lines, then texts."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import to_rgba

    line = LINE_SIZE * SIZE_FACTOR
    if d.whiskers:
        whiskers = [[(x0, y), (x1, y)] for x0, x1, y, _, _ in d.whiskers]
        ax.add_collection(LineCollection(whiskers, colors="black", linewidths=line, zorder=zorder))
        _arrowheads(ax, d, line, zorder)
    if d.squares:
        x, y, side = np.array(d.squares, dtype=float).T
        size = (side + SQUARE_STROKE) ** 2 * np.pi  # plotnine's point size, in points squared
        ax.scatter(x, y, s=size, marker="s", facecolor=SQUARE, edgecolor=SQUARE,
                   linewidth=SQUARE_STROKE * SIZE_FACTOR, zorder=zorder)  # fmt: skip
    if d.diamonds:
        shapes, fills = zip(*d.diamonds, strict=True)
        ax.add_collection(PolyCollection(list(shapes), facecolors=list(fills), edgecolors="black",
                                         linewidths=line, zorder=zorder))  # fmt: skip
    if d.bars:
        rects = [[(x0, y0), (x0, y1), (x1, y1), (x1, y0)] for x0, x1, y0, y1 in d.bars]
        fill = to_rgba(PREDICTION, PREDICTION_ALPHA)
        ax.add_collection(PolyCollection(rects, facecolors=[fill] * len(rects), edgecolors="none",
                                         zorder=zorder))  # fmt: skip
    if d.dots:
        x, y, fills = zip(*d.dots, strict=True)
        size = (ROB_DOT_SIZE + ROB_DOT_STROKE) ** 2 * np.pi
        ax.scatter(x, y, s=size, marker="o", facecolor=list(fills), edgecolor="black",
                   linewidth=ROB_DOT_STROKE * SIZE_FACTOR, zorder=zorder)  # fmt: skip
    if d.segments:
        lines = [[(s["x"], s["y"]), (s["xend"], s["yend"])] for s in d.segments]
        ax.add_collection(LineCollection(lines, colors="black", linewidths=line, zorder=zorder))
    for t in d.texts:
        ax.text(t["x"], t["y"], t["label"], fontsize=t["size"], ha=t["ha"], va=t["va"],
                fontweight=t["fontweight"], family=FONT, linespacing=LINE_SPACING,
                color="black", clip_on=True, zorder=zorder)  # fmt: skip


def _arrowheads(ax: Axes, d: Canvas, line: float, zorder: float) -> None:
    """Add closed arrowheads at the clipped ends of whiskers (as ``plotnine.arrow`` draws them).

    Each head is two strokes ``ARROW_INCHES`` long at ``ARROW_DEGREES`` either side of the line,
    filled.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path

    lx, ly = ARROW_INCHES, ARROW_INCHES / ROW_INCHES  # a stroke's length in data units
    a = math.radians(ARROW_DEGREES)
    codes = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.STOP]
    heads = []
    for x0, x1, y, at_x0, at_x1 in d.whiskers:
        for tip, tail, wanted in ((x0, x1, at_x0), (x1, x0, at_x1)):
            if wanted:
                turn = 0.0 if tail > tip else math.pi  # towards the tail
                v1 = (tip + lx * math.cos(turn + a), y + ly * math.sin(turn + a))
                v2 = (tip + lx * math.cos(turn - a), y + ly * math.sin(turn - a))
                heads.append(Path([v1, (tip, y), v2, (0.0, 0.0)], codes))
    if heads:
        ax.add_collection(PathCollection(heads, edgecolor="black", facecolor="black",
                                         linewidth=line, zorder=zorder))  # fmt: skip
