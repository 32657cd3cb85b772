"""Text widths in inches for the pinned font, so that columns fit their text exactly.

Widths come from the font file matplotlib ships (DejaVu Sans), measured at 100 pt without
hinting and scaled, as matplotlib's own text-to-path conversion does and as the figures draw their
glyphs (:mod:`metafuse.plots.style`): the same on every machine. Forest plots draw
in this font; Word tables use it as a safe upper bound for Arial (DejaVu Sans is wider).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Final

#: The font of every figure (:mod:`metafuse.plots.style`) and of every width measured here: it
#: ships with matplotlib, so every machine draws the same glyphs.
FONT: Final = "DejaVu Sans"
_MEASURE_PT = 100.0


@lru_cache(maxsize=8)
def _font(bold: bool) -> Any:
    from matplotlib.font_manager import FontProperties, findfont, get_font

    return get_font(findfont(FontProperties(family=FONT, weight="bold" if bold else "normal")))


# A font object must not cross a fork (a forked process would read the font file through the
# parent's file offset): a child measures with its own, as matplotlib's own font cache does.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_font.cache_clear)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in inches of ``text`` (the widest line) at ``size`` points."""
    return _measured(text, bold) / 72.0 * size / _MEASURE_PT


@lru_cache(maxsize=4096)
def _measured(text: str, bold: bool) -> float:
    """Width in points of the widest line of ``text`` at ``_MEASURE_PT``."""
    from matplotlib.ft2font import LoadFlags

    font = _font(bold)
    widest = 0.0
    for line in text.split("\n"):
        font.set_size(_MEASURE_PT, 72)
        font.set_text(line, 0.0, flags=LoadFlags.NO_HINTING)
        widest = max(widest, font.get_width_height()[0] / 64.0)
    return widest


def longest_word(text: str, size: float, bold: bool = False) -> float:
    """Width in inches of the widest word of ``text`` (the narrowest a wrapped cell can be)."""
    return max((text_width(w, size, bold) for w in text.split()), default=0.0)


def wrap(text: str, width: float, size: float, bold: bool = False) -> str:
    """Wrap ``text`` at spaces into lines at most ``width`` inches wide.

    ``text`` wrapped at spaces into lines at most ``width`` inches wide (a word wider than ``width``
    stays whole on its own line).
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            trial = f"{current} {word}" if current else word
            if current and text_width(trial, size, bold) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        lines.append(current)
    return "\n".join(lines)
