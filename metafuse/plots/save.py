"""Saving plots to PNG (300 dpi), SVG or PDF, chosen by the file suffix, byte-reproducibly.

The same inputs give the same bytes on every run: the font is pinned (DejaVu Sans, shipped with
matplotlib), SVG ids are salted with a fixed string, and the creation-date and software metadata
that PDF, SVG and PNG writers add are removed. Text in SVG stays text (``<text>`` elements naming
DejaVu Sans) and PDF fonts are embedded as TrueType, so journals can edit and search both; user
labels are never read as mathtext (:mod:`metafuse.plots.style`).
"""

from __future__ import annotations

import copy
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from metafuse.files import write_bytes_atomic
from metafuse.plots.style import RC

if TYPE_CHECKING:
    from plotnine import ggplot

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DPI = 300
METADATA = {
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}


def preload() -> None:
    """Import and look up what drawing and saving a figure needs, before worker processes fork.

    plotnine, matplotlib's pyplot and its Agg and SVG writers, and the pinned font's file found
    in matplotlib's font list: worker processes forked afterwards share these
    instead of each importing them and searching the font list on its first figure (open font
    files are not shared: each process opens its own).
    """
    import matplotlib.backends.backend_agg
    import matplotlib.backends.backend_svg
    import matplotlib.pyplot  # noqa: F401
    import plotnine  # noqa: F401
    from matplotlib.font_manager import FontProperties, findfont

    from metafuse.plots.style import FONT

    for weight in ("normal", "bold"):
        findfont(FontProperties(family=FONT, weight=weight))


def render_all(plot: ggplot, formats: Sequence[str]) -> dict[str, bytes]:
    """Draw the plot once and return it saved in each of ``formats`` (png, svg, pdf).

    The figure is printed through a canvas of its own (Agg; matplotlib's SVG and PDF writers for
    those formats): the global backend, a notebook's for example, is left as it is. A copy of
    the plot is drawn, never the plot itself: plotnine's ``draw`` builds on the plot object and
    reuses its figure, so a plot saved twice would be drawn the second time over the first. A
    plot its user has drawn already (``plot.draw()``) is saved as that drawing shows it.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = {}
    with matplotlib.rc_context(cast(Any, RC)):
        drawn = vars(plot).get("figure")  # the user's own drawing, left as it was found
        figure = drawn if drawn is not None else copy.deepcopy(plot).draw()
        canvas_before = figure.canvas
        try:
            canvas = FigureCanvasAgg(figure)
            _fix_layout(figure)
            for fmt in formats:
                if fmt == "png":
                    out[fmt] = _png(canvas)
                    continue
                buffer = io.BytesIO()
                canvas.print_figure(buffer, format=fmt, dpi=DPI, metadata=METADATA[fmt])
                out[fmt] = buffer.getvalue()
        finally:
            if drawn is None:
                plt.close(figure)
            else:  # its own canvas back; its layout stays fixed as saved, so saves agree
                figure.set_canvas(canvas_before)
    return out


def _png(canvas: Any) -> bytes:
    """Return the figure drawn by Agg at ``DPI``, as a PNG (:mod:`metafuse.plots.png`)."""
    import numpy as np

    from metafuse.plots.png import encode_png

    raw = io.BytesIO()
    canvas.print_figure(raw, format="rgba", dpi=DPI)
    width, height = (int(v) for v in canvas.figure.get_size_inches() * DPI)  # Agg's own sizing
    pixels = np.frombuffer(raw.getbuffer(), dtype=np.uint8)
    assert pixels.size == width * height * 4, "Agg drew a canvas of another size"
    return encode_png(pixels.reshape(height, width, 4), DPI)


def _fix_layout(figure: Any) -> None:
    """Lay the figure out once, at the PNG resolution, for every format saved from it.

    Left to matplotlib, each format's printing draws the whole figure twice: once (drawing
    disabled) to run the layout engine, then for real. The layout is in figure fractions, so one
    run serves all formats: each is then drawn once.
    """
    engine = figure.get_layout_engine()
    if engine is None:
        return
    dpi = figure.dpi
    figure.dpi = DPI
    try:
        engine.execute(figure)
    finally:
        figure.dpi = dpi
    figure.set_layout_engine(None)


def render(plot: ggplot, fmt: str) -> bytes:
    """Draw the plot and return it as bytes.

    Parameters
    ----------
    plot : plotnine.ggplot
        The plot.
    fmt : {"png", "svg", "pdf"}
        The format.

    Returns
    -------
    bytes
        The file's bytes (the same for the same plot).
    """
    return render_all(plot, [fmt])[fmt]


def _format(target: Path) -> str:
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"{target}: unknown output format; use .png, .svg or .pdf")
    return fmt


def save_plot(
    plot: ggplot, path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
) -> Path:
    """Write a plot to PNG (300 dpi), SVG or PDF, chosen by the file suffix, atomically.

    Parameters
    ----------
    plot : plotnine.ggplot
        The plot.
    path : path or sequence of paths
        Where to write; given several, the plot is drawn once and written in each format.

    Returns
    -------
    pathlib.Path
        The (first) path written.
    """
    targets = [Path(path)] if isinstance(path, str | os.PathLike) else [Path(p) for p in path]
    data = render_all(plot, [_format(t) for t in targets])
    for target in targets:
        write_bytes_atomic(target, data[_format(target)])
    return targets[0]
