"""The house style of every figure: pinned font, text kept as text, and no mathtext.

The matplotlib settings travel with the plot's theme (plotnine applies a theme's rcParams while
it draws), so a plot drawn anywhere, not only through :func:`metafuse.plots.save_plot`, prints
user labels literally: ``$x$`` stays ``$x$`` (``text.parse_math`` off) and SVG text stays text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from metafuse.text.metrics import FONT as FONT  # the one pinned font: figures draw what it measures

if TYPE_CHECKING:
    from plotnine import theme

TITLE_SIZE: Final = 10.5
#: matplotlib settings of every metafuse figure.
RC: Final[dict[str, Any]] = {
    "text.parse_math": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "metafuse",
    "pdf.fonttype": 42,
    "font.family": FONT,
    "path.simplify": False,
    # glyphs drawn from their outlines, not snapped to the pixel grid: at 300 dpi hinting changes
    # nothing one can see, and skipping it makes drawing text about a sixth cheaper
    "text.hinting": "no_hinting",
}


def _with_rc(base: theme) -> theme:
    base._rcParams.update(RC)  # plotnine's documented way for a theme to carry rcParams
    return base


def void_theme() -> theme:
    """``theme_void`` with the house settings (forest plots: a drawing, not a chart)."""
    from plotnine import element_blank, element_text, theme, theme_void

    return _with_rc(theme_void()) + theme(
        text=element_text(family=FONT, size=8),
        plot_margin=0,
        panel_background=element_blank(),
        panel_grid=element_blank(),
        axis_line=element_blank(),
        axis_text=element_blank(),
        axis_title=element_blank(),
        axis_ticks=element_blank(),
        axis_ticks_length=0,
        panel_spacing=0,
        legend_position="none",
    )


def bw_theme(size: tuple[float, float], font_size: float = 8) -> theme:
    """``theme_bw`` with the house settings (funnel, GOSH and other charts)."""
    from plotnine import element_text, theme, theme_bw

    return _with_rc(theme_bw()) + theme(
        text=element_text(family=FONT, size=font_size), figure_size=size
    )
