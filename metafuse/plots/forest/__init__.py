"""Forest plots in the Cochrane (RevMan 5) layout, drawn with plotnine.

:func:`forest_data` builds the table behind the figure (one row per printed line, numbers on the
display scale) and is tested on its own; :func:`forest_plot` draws it as a single ``ggplot`` so
users can restyle it. Layout, as RevMan 5 draws it: study column; per-arm data columns (events and
totals, or mean, SD and total, under the arms' names); weight; the effect and its CI as text; the
graphical panel with squares sized by weight, CI whiskers (arrows where clipped), the line of no
effect and a log axis for ratio measures; totals; the pooled diamond (random effects, and fixed
effect on request); the prediction interval; the heterogeneity line (the result's I²) and the test
for overall effect; "Favours" labels; subgroup blocks with subtotals and the test for subgroup
differences; risk-of-bias traffic-light columns.

Very large analyses: at most ``max_studies`` (default 60) study rows are drawn, those with the
largest weights in their order; the others are summarised in one row per block ("+ 190 more
studies (12.3% weight)") and a note says so. Totals, heterogeneity and the diamond always use
every study, and :func:`forest_data` with ``max_studies=None`` lists them all. A figure therefore
never grows beyond about 14 inches, however many studies are pooled.

Modules: :mod:`.text` (wording), :mod:`.table` (the rows), :mod:`.columns` (data columns),
:mod:`.layout` (geometry in inches), :mod:`.rob` (risk of bias), :mod:`.draw` (placing every mark),
:mod:`.artists` (drawing them in one plotnine layer).

References
----------
Review Manager 5 User Guide (Cochrane, 2020), forest plots; Deeks JJ, Higgins JPT (2010).
Statistical algorithms in Review Manager 5 (test for subgroup differences, section 5).
McGuinness LA, Higgins JPT (2021). Risk-of-bias VISualization (robvis). Res Synth Methods 12:55-61.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from metafuse.plots.forest.columns import data_columns, missing_arm_data
from metafuse.plots.forest.draw import (
    Canvas,
    axis_items,
    draw,
    favours_texts,
    header_texts,
    header_top,
    legend_texts,
    rob_items,
    study_marks,
    table_texts,
    title_text,
    total_marks,
)
from metafuse.plots.forest.layout import MARGIN, ROB_INCHES, make_layout
from metafuse.plots.forest.rob import RiskOfBias, rob_columns
from metafuse.plots.forest.table import (
    ArmData,
    forest_data,
    is_proportion,
    subgroup_difference_test,
)
from metafuse.plots.forest.text import (
    MAX_LABEL_CHARS,
    effect_name,
    fmt_effect,
    fmt_p_revman,
    heterogeneity_text,
    method_label,
    model_label,
    overall_test_text,
)
from metafuse.results import PooledResult

if TYPE_CHECKING:
    from plotnine import ggplot

#: Study rows drawn at most (see the module docstring).
MAX_STUDIES = 60

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_STUDIES",
    "fmt_effect",
    "fmt_p_revman",
    "forest_data",
    "forest_plot",
    "heterogeneity_text",
    "method_label",
    "overall_test_text",
    "subgroup_difference_test",
]


def _notes(data: pd.DataFrame, result: PooledResult, missing: list[str]) -> list[str]:
    notes = []
    if missing:
        who = ", ".join(missing)
        notes.append(f"Blank arm data: {who} reported the effect estimate only (pooled from it).")
    if (data.row_type == "more").any():
        shown = int((data.row_type == "study").sum())
        notes.append(
            f"Showing the {shown} studies with the largest weights of {result.k}; the totals, "
            f"heterogeneity and the diamond use all {result.k}."
        )
    return notes


def _rob(
    canvas: Canvas, data: pd.DataFrame, risk_of_bias: RiskOfBias, x0: float, head_y: float
) -> tuple[float, str]:
    """Risk-of-bias columns from ``x0``: (right end, legend)."""
    studies = [(str(r.study), float(r.y)) for r in data[data.row_type == "study"].itertuples()]
    rob = rob_columns(risk_of_bias, studies, x0, ROB_INCHES)
    rob_items(canvas, rob, head_y)
    return x0 + rob.width, rob.legend


def forest_plot(
    result: PooledResult,
    *,
    order: str | None = None,
    subgroups: Mapping[str, str] | None = None,
    fixed: bool = False,
    prediction: bool = True,
    label_exp: str = "Experimental",
    label_ctrl: str = "Control",
    favours_exp: str | None = None,
    favours_ctrl: str | None = None,
    limits: tuple[float, float] | None = None,
    risk_of_bias: RiskOfBias | None = None,
    title: str | None = None,
    ratio: bool | None = None,
    measure_label: str | None = None,
    arm_data: ArmData | None = None,
    max_studies: int | None = MAX_STUDIES,
) -> ggplot:
    """Draw a forest plot in the RevMan 5 layout (a plotnine ``ggplot``).

    Per-arm data columns, weights, effects with CIs as text, squares sized by weight, the pooled
    diamond, prediction interval, heterogeneity and overall-effect lines, "Favours" labels; see
    the module docstring. Labels are printed literally (no mathtext).

    Parameters
    ----------
    result : PooledResult
        The meta-analysis.
    order, subgroups, fixed, prediction, ratio, arm_data, max_studies
        As :func:`forest_data`.
    label_exp, label_ctrl : str, optional
        Headers of the two arms' columns.
    favours_exp, favours_ctrl : str, optional
        Labels of the two sides under the axis (default "Favours [<arm>]", experimental on the
        left: RevMan's default for harmful events and lower-is-better scores).
    limits : tuple of float, optional
        The axis range on the display scale; CIs beyond it end in arrows.
    risk_of_bias : mapping, optional
        Study label -> domain -> judgement (``low``, ``some concerns``, ``high``,
        ``not assessed``; RoB 1's ``unclear``): one traffic-light column per domain.
    title : str, optional
        A title above the plot.
    measure_label : str, optional
        The effect's name (default: the result's scale, e.g. "Mean difference, points").

    Returns
    -------
    plotnine.ggplot
        The plot; :func:`save_plot` writes it.
    """
    is_ratio = result.is_ratio if ratio is None else ratio
    data = forest_data(
        result,
        order=order,
        subgroups=subgroups,
        fixed=fixed,
        prediction=prediction,
        ratio=is_ratio,
        arm_data=arm_data,
        max_studies=max_studies,
    )
    n = len(data)
    data["y"] = np.arange(n, 0, -1, dtype=float)
    columns = data_columns(data, generic=result.measure == "GEN", ratio=is_ratio)
    lay = make_layout(
        data,
        columns,
        ratio=is_ratio,
        limits=limits,
        arm_names={"exp": label_exp, "ctrl": label_ctrl},
        effect_header=f"{measure_label or effect_name(result)}\n{model_label(result)}",
        proportion=is_proportion(result),
    )
    canvas = Canvas()
    study_marks(canvas, data, lay)
    total_marks(canvas, data, lay)
    head_y = n + 1.2
    header_texts(canvas, lay, head_y)
    table_texts(canvas, data, lay)
    bottom = float(data.y.min()) - 0.6
    axis_items(canvas, lay, bottom, head_y)
    right, below = favours_texts(
        canvas,
        lay,
        bottom - 1.25,
        favours_exp or f"Favours [{label_exp}]",
        favours_ctrl or f"Favours [{label_ctrl}]",
    )
    right = max(right, lay.g1 + 0.25)  # room for the last tick label
    notes = _notes(data, result, missing_arm_data(data, columns))
    if risk_of_bias:
        rob_right, legend = _rob(canvas, data, risk_of_bias, lay.g1 + 0.3, head_y)
        right = max(right, rob_right)
        notes.insert(0, legend)
    width = right + 2 * MARGIN
    y_end = legend_texts(canvas, notes, below - 0.2, width - 2 * MARGIN) if notes else below
    top = header_top(lay, head_y)
    if title:
        top = title_text(canvas, title, top, width - 2 * MARGIN)
    return draw(canvas, extent=(0.0, width, y_end - 0.2, top))
