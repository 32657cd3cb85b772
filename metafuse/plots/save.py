"""Saving plots to PNG (300 dpi), SVG or PDF, chosen by the file suffix, byte-reproducibly.

The same inputs give the same bytes on every run: the font is pinned (DejaVu Sans, shipped with
matplotlib), SVG ids are salted with a fixed string, text in SVG is drawn as paths, and the
creation-date and software metadata that PDF, SVG and PNG writers add are removed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from metafuse.io import write_bytes_atomic

if TYPE_CHECKING:
    from plotnine import ggplot

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DPI = 300
RC = {
    "svg.hashsalt": "metafuse",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "path.simplify": False,
}
METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}


def render(plot: ggplot, fmt: str) -> bytes:
    """The plot as bytes in ``fmt`` (png, svg or pdf)."""
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    with matplotlib.rc_context(RC):
        figure = plot.draw()
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=DPI, metadata=METADATA[fmt])
        plt.close(figure)
    return buffer.getvalue()


def save_plot(plot: ggplot, path: str | os.PathLike[str]) -> Path:
    """Write ``plot`` to ``path`` (format from the suffix), atomically; return the path."""
    target = Path(path)
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"{target}: unknown output format; use .png, .svg or .pdf")
    write_bytes_atomic(target, render(plot, fmt))
    return target
