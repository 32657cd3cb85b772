"""Forest plots in the Cochrane (RevMan 5) layout, drawn with plotnine.

:func:`forest_data` builds the table behind the figure (one row per printed line, numbers on the
display scale) and is tested on its own; :func:`forest_plot` draws it as a single ``ggplot`` so
users can restyle it. Layout, as RevMan 5 draws it: study column; per-arm data columns; weight;
the effect and 95% CI as text; the graphical panel with squares sized by weight, CI whiskers
(arrows where clipped), the line of no effect and a log axis for ratio measures; totals; the pooled
diamond (random effects, and fixed effect on request); the prediction interval; the heterogeneity
line and the test for overall effect; "Favours" labels; subgroup blocks with subtotals and the test
for subgroup differences; optional risk-of-bias columns.

References
----------
Review Manager 5 User Guide (Cochrane, 2020), forest plots; Deeks JJ, Higgins JPT (2010).
Statistical algorithms in Review Manager 5 (test for subgroup differences, section 5).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from metafuse.pooling import refit
from metafuse.results import PooledResult
from metafuse.toolbox.subgroups import difference_test as subgroup_difference_test

if TYPE_CHECKING:
    from plotnine import ggplot

MEASURE_NAMES = {
    "RR": "Risk Ratio",
    "OR": "Odds Ratio",
    "RD": "Risk Difference",
    "MD": "Mean Difference",
    "SMD": "Std. Mean Difference",
    "GEN": "Estimate",
    "PLO": "Proportion",
    "PFT": "Proportion",
}
#: Upper axis limits offered for proportions (the smallest one above every CI is used).
PROPORTION_TOPS = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
#: Studies whose label is longer than this are cut, keeping the start and ending in an ellipsis.
MAX_LABEL_CHARS = 28
FONT = "DejaVu Sans"  # ships with matplotlib, so every machine draws the same glyphs
FONT_SIZE = 7.5
ROW_INCHES = 0.19
CHAR_INCHES = 0.062
ROB_COLOURS = {"low": "#2ca25f", "some concerns": "#f0b400", "high": "#d7301f"}
ROB_SYMBOLS = {"low": "+", "some concerns": "?", "high": "−"}


# --- numbers and text ---------------------------------------------------------------------------


def _display(result: PooledResult, x: float | None, ratio: bool | None = None) -> float | None:
    if x is None:
        return None
    if _is_proportion(result):
        return result.display_scale.display(x)
    return math.exp(x) if (result.is_ratio if ratio is None else ratio) else x


def _is_proportion(result: PooledResult) -> bool:
    """Single-arm proportions (PLO, PFT): shown back-transformed, with no line of no effect."""
    return result.display_scale.transform in ("ilogit", "ift")


def fmt_effect(est: float | None, lo: float | None, hi: float | None, digits: int = 2) -> str:
    """'0.49 [0.34, 0.70]' as RevMan prints it ('Not estimable' when missing)."""
    if est is None or lo is None or hi is None:
        return "Not estimable"
    return f"{est:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def fmt_p_revman(p: float | None) -> str:
    """P as RevMan prints it: 'P < 0.00001', 'P < 0.0001', 'P = 0.0004', 'P = 0.003', 'P = 0.24'."""
    if p is None or math.isnan(p):
        return "P = NA"
    if p < 0.00001:
        return "P < 0.00001"
    if p < 0.001:
        return f"P = {p:.4f}" if p >= 0.0001 else "P < 0.0001"
    return f"P = {p:.3f}" if p < 0.01 else f"P = {p:.2f}"


def method_label(result: PooledResult) -> str:
    """'Risk Ratio IV, Random, 95% CI' (RevMan's column header)."""
    kind = {"MH": "M-H", "PETO": "Peto"}.get(result.method, "IV")
    model = "Random" if result.is_random else "Fixed"
    return f"{MEASURE_NAMES[result.measure]} {kind}, {model}, 95% CI"


def heterogeneity_text(result: PooledResult) -> str:
    """'Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%'."""
    if result.k < 2 or result.Q is None:
        return "Heterogeneity: Not applicable"
    parts = []
    if result.is_random and result.tau2 is not None:
        parts.append(f"Tau² = {result.tau2:.2f}; ")
    parts.append(f"Chi² = {result.Q:.2f}, df = {result.Q_df} ({fmt_p_revman(result.Q_pval)}); ")
    parts.append(f"I² = {result.I2_Q:.0f}%" if result.I2_Q is not None else "I² = NA")
    return "Heterogeneity: " + "".join(parts)


def overall_test_text(result: PooledResult) -> str:
    """'Test for overall effect: Z = 3.97 (P < 0.0001)' (t with df under HKSJ)."""
    if result.statistic is None:
        return "Test for overall effect: Not applicable"
    name = "Z" if result.df is None else f"t({result.df})"
    stat, p = abs(result.statistic), fmt_p_revman(result.pval)
    return f"Test for overall effect: {name} = {stat:.2f} ({p})"


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1].rstrip() + "…"


def _year(label: str) -> int:
    found = re.findall(r"(?:19|20)\d\d", label)
    return int(found[-1]) if found else 0


def _num(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.{digits}f}"


# --- the table behind the figure ------------------------------------------------------------------


def _refit(result: PooledResult, names: Sequence[str], method: str | None = None) -> PooledResult:
    """The result's model on a subset of its studies (subgroups), or another method (FE)."""
    keep = [s.study in set(names) for s in result.studies]
    return refit(result, keep, method=method)


def _study_rows(result: PooledResult, studies, ratio: bool) -> list[dict]:
    rows = []
    for s in studies:
        est = lo = hi = None
        if s.yi is not None and s.sei is not None:
            z = stats.norm.ppf(0.975)
            est, lo, hi = (
                _display(result, v, ratio) for v in (s.yi, s.yi - z * s.sei, s.yi + z * s.sei)
            )
        d = dict(s.data)
        rows.append(
            {
                "row_type": "study",
                "label": _label(s.study),
                "study": s.study,
                "est": est,
                "lo": lo,
                "hi": hi,
                "weight": s.weight_percent,
                "events": d.get("events"),
                "n": d.get("n"),
                "events_exp": d.get("events_exp"),
                "n_exp": d.get("n_exp"),
                "events_ctrl": d.get("events_ctrl"),
                "n_ctrl": d.get("n_ctrl"),
                "mean_exp": d.get("mean_exp"),
                "sd_exp": d.get("sd_exp"),
                "mean_ctrl": d.get("mean_ctrl"),
                "sd_ctrl": d.get("sd_ctrl"),
                "yi": s.yi,
                "sei": s.sei,
                "effect_text": fmt_effect(est, lo, hi),
                "weight_text": f"{s.weight_percent:.1f}%",
            }
        )
    return rows


def _total_rows(
    result: PooledResult, rows: list[dict], label: str, kind: str, ratio: bool
) -> list[dict]:
    est, lo, hi = (
        _display(result, v, ratio) for v in (result.estimate, result.ci_low, result.ci_high)
    )
    total = {
        "row_type": kind,
        "label": label,
        "est": est,
        "lo": lo,
        "hi": hi,
        "weight": sum(r["weight"] for r in rows),
        "effect_text": fmt_effect(est, lo, hi),
    }
    total["weight_text"] = f"{total['weight']:.1f}%"
    for col in ("n", "n_exp", "n_ctrl"):
        values = [r[col] for r in rows if r.get(col) is not None]
        total[col] = float(sum(values)) if values else None
    out = [total]
    if rows and rows[0].get("events") is not None:
        events = float(sum(r["events"] for r in rows))
        out.append({"row_type": "total_events", "label": "Total events", "events": events})
    if rows and rows[0].get("events_exp") is not None:
        out.append(
            {
                "row_type": "total_events",
                "label": "Total events",
                "events_exp": float(sum(r["events_exp"] for r in rows)),
                "events_ctrl": float(sum(r["events_ctrl"] for r in rows)),
            }
        )
    return out


def forest_data(
    result: PooledResult,
    *,
    order: str | None = None,
    subgroups: Mapping[str, str] | None = None,
    fixed: bool = False,
    prediction: bool = True,
    ratio: bool | None = None,
) -> pd.DataFrame:
    """The rows of the forest plot, top to bottom, on the display scale.

    Parameters
    ----------
    order
        ``None`` (data order), ``"year"`` (a 4-digit year in the study label), ``"weight"``
        (largest first) or ``"effect"`` (smallest first).
    subgroups
        Study label -> subgroup name: each subgroup gets a header, its studies, a subtotal (pooled
        with the result's method) and its heterogeneity; the test for subgroup differences follows.
    fixed
        Also show the fixed-effect (inverse-variance) diamond under a random-effects total.
    prediction
        Show the prediction interval row (random effects, k >= 3).
    ratio
        Show generic (GEN) log-scale estimates as ratios (default: True for RR and OR only).

    Columns: ``row_type`` (header, study, subtotal, total, total_events, fixed, prediction, text),
    ``label``, ``est``/``lo``/``hi`` (display scale), ``weight`` (percent), arm data columns,
    ``effect_text``, ``weight_text``.
    """
    ratio = result.is_ratio if ratio is None else ratio
    studies = list(result.studies)
    keys = {
        "year": lambda s: (_year(s.study),),
        "weight": lambda s: (-s.weight_percent,),
        "effect": lambda s: (s.yi if s.yi is not None else math.inf,),
    }
    if order is not None:
        if order not in keys:
            raise ValueError(f"order must be one of year, weight, effect; got {order!r}")
        studies.sort(key=keys[order])
    rows: list[dict] = []
    if subgroups:
        missing = [s.study for s in studies if s.study not in subgroups]
        if missing:
            raise ValueError(f"no subgroup given for {missing[0]!r}")
        estimates, ses = [], []
        for group in dict.fromkeys(subgroups[s.study] for s in studies):
            members = [s for s in studies if subgroups[s.study] == group]
            rows.append({"row_type": "header", "label": group})
            study_rows = _study_rows(result, members, ratio)
            rows += study_rows
            sub = _refit(result, [s.study for s in members])
            # RevMan shows each subtotal's weight as its share of the overall analysis
            subtotal = _total_rows(sub, study_rows, "Subtotal (95% CI)", "subtotal", ratio)
            rows += subtotal
            rows.append({"row_type": "text", "label": heterogeneity_text(sub)})
            if not _is_proportion(result):
                rows.append({"row_type": "text", "label": overall_test_text(sub)})
            if sub.estimate is not None and sub.se is not None:
                estimates.append(sub.estimate)
                ses.append(sub.se)
        study_rows_all = [r for r in rows if r["row_type"] == "study"]
    else:
        study_rows_all = _study_rows(result, studies, ratio)
        rows += study_rows_all
    rows += _total_rows(result, study_rows_all, "Total (95% CI)", "total", ratio)
    if fixed and result.is_random:
        fe = _refit(result, [s.study for s in result.studies], "FE")
        est, lo, hi = (_display(fe, v, ratio) for v in (fe.estimate, fe.ci_low, fe.ci_high))
        rows.append(
            {
                "row_type": "fixed",
                "label": "Total, fixed effect (95% CI)",
                "est": est,
                "lo": lo,
                "hi": hi,
                "effect_text": fmt_effect(est, lo, hi),
            }
        )
    if prediction and result.pi_low is not None:
        lo, hi = _display(result, result.pi_low, ratio), _display(result, result.pi_high, ratio)
        rows.append(
            {
                "row_type": "prediction",
                "label": "Prediction interval",
                "lo": lo,
                "hi": hi,
                "effect_text": f"[{lo:.2f}, {hi:.2f}]",
            }
        )
    rows.append({"row_type": "text", "label": heterogeneity_text(result)})
    if not _is_proportion(result):  # a test of proportion = 0.5 answers no question here
        rows.append({"row_type": "text", "label": overall_test_text(result)})
    if subgroups and len(estimates) >= 2:
        q, df, p = subgroup_difference_test(estimates, ses)
        i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
        rows.append(
            {
                "row_type": "text",
                "label": "Test for subgroup differences: "
                f"Chi² = {q:.2f}, df = {df} ({fmt_p_revman(p)}), I² = {i2:.1f}%",
            }
        )
    frame = pd.DataFrame(rows)
    for col in (
        "est",
        "lo",
        "hi",
        "weight",
        "events",
        "n",
        "events_exp",
        "n_exp",
        "events_ctrl",
        "n_ctrl",
        "mean_exp",
        "sd_exp",
        "mean_ctrl",
        "sd_ctrl",
        "yi",
        "sei",
    ):
        if col not in frame:
            frame[col] = np.nan
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    for col in ("effect_text", "weight_text", "study"):
        if col not in frame:
            frame[col] = None
    return frame


# --- drawing --------------------------------------------------------------------------------------


def _axis(
    ratio: bool,
    values: Sequence[float],
    limits: tuple[float, float] | None,
    proportion: bool = False,
):
    """Axis limits and readable breaks on the display scale (0 to a readable top for
    proportions)."""
    finite = [v for v in values if v is not None and np.isfinite(v)]
    if proportion and limits is None:
        top = max(finite, default=1.0)
        limits = (0.0, min((c for c in PROPORTION_TOPS if c >= top * 0.999), default=1.0))
    if ratio:
        candidates = [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1000]
        if limits is None:
            # symmetric about 1, widened to the next readable break, at most 0.01 to 100
            lo = min([*finite, 1.0]) if finite else 0.5
            hi = max([*finite, 1.0]) if finite else 2.0
            span = min(max(-math.log10(max(lo, 1e-300)), math.log10(hi), math.log10(2)), 2.0)
            upper = min(c for c in candidates if c >= 10**span * 0.999)
            limits = (1 / upper, upper)
        breaks = [c for c in candidates if limits[0] * 0.999 <= c <= limits[1] * 1.001]
        if len(breaks) > 7:
            breaks = [b for b in breaks if math.log10(b).is_integer() or b in (0.5, 2)]
        return limits, breaks
    if limits is None:
        m = max([abs(v) for v in finite] + [1e-9])
        step = 10 ** math.floor(math.log10(m))
        top = math.ceil(m / step) * step
        limits = (-top, top)
    lo, hi = limits
    raw = (hi - lo) / 4
    step = 10 ** math.floor(math.log10(raw))
    step = min((s * step for s in (1, 2, 2.5, 5, 10) if s * step >= raw), default=raw)
    breaks = list(np.round(np.arange(math.ceil(lo / step) * step, hi + step / 2, step), 10))
    return limits, breaks


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
    risk_of_bias: Mapping[str, Mapping[str, str]] | None = None,
    title: str | None = None,
    ratio: bool | None = None,
    measure_label: str | None = None,
) -> ggplot:
    """A forest plot in the RevMan 5 layout as a plotnine ``ggplot`` (see the module docstring).

    ``favours_exp``/``favours_ctrl`` label the two sides under the axis ("Favours [experimental]"
    on the side where the experimental arm does better: the left for harmful-event ratios and
    lower-is-better scores, which is RevMan's default). ``limits`` fixes the axis on the display
    scale; CIs beyond it end in arrows. ``risk_of_bias`` maps study label -> domain -> judgement
    (``low``, ``some concerns``, ``high``) and adds one coloured column per domain.
    ``ratio`` shows generic (GEN) log-scale estimates as ratios; ``measure_label`` names the
    effect in the headers (e.g. "Mean Difference" for generic inverse-variance MDs).
    """
    from plotnine import (
        aes,
        annotate,
        arrow,
        coord_cartesian,
        element_blank,
        element_line,
        element_text,
        geom_point,
        geom_polygon,
        geom_segment,
        geom_text,
        ggplot,
        labs,
        scale_size_identity,
        scale_x_continuous,
        scale_y_continuous,
        theme,
        theme_void,
    )

    is_ratio = result.is_ratio if ratio is None else ratio
    effect_name = measure_label or MEASURE_NAMES[result.measure]
    data = forest_data(
        result, order=order, subgroups=subgroups, fixed=fixed, prediction=prediction, ratio=is_ratio
    )
    n = len(data)
    data["y"] = np.arange(n, 0, -1, dtype=float)
    values = pd.concat([data["lo"], data["hi"], data["est"]]).dropna().tolist()
    proportion = _is_proportion(result)
    axis_limits, breaks = _axis(is_ratio, values, limits, proportion)
    tr = math.log if is_ratio else float
    g0, g1 = 0.0, 36.0  # graph panel in character units

    def gx(v: float) -> float:
        a, b = tr(axis_limits[0]), tr(axis_limits[1])
        return g0 + (tr(v) - a) / (b - a) * (g1 - g0)

    def clip(v):
        if v is None or not np.isfinite(v):
            return np.nan
        return min(max(v, axis_limits[0]), axis_limits[1])

    binary = result.measure in ("RR", "OR", "RD")
    continuous = result.measure in ("MD", "SMD")
    # left-hand columns: (header, key, width in characters), right-aligned at their end
    arm_cols = []
    if binary:
        arm_cols = [
            ("Events", "events_exp", 7),
            ("Total", "n_exp", 7),
            ("Events", "events_ctrl", 7),
            ("Total", "n_ctrl", 7),
        ]
    elif continuous:
        arm_cols = [
            ("Mean", "mean_exp", 7),
            ("SD", "sd_exp", 6),
            ("Total", "n_exp", 6),
            ("Mean", "mean_ctrl", 7),
            ("SD", "sd_ctrl", 6),
            ("Total", "n_ctrl", 6),
        ]
    elif proportion:
        arm_cols = [("Events", "events", 7), ("Total", "n", 7)]
    elif result.measure == "GEN":
        arm_cols = [("log[ratio]" if is_ratio else "Estimate", "yi", 10), ("SE", "sei", 8)]
    label_width = max(
        20,
        min(
            MAX_LABEL_CHARS,
            int(data.loc[data.row_type.isin(["study", "header"]), "label"].str.len().max() or 10),
        )
        + 2,
    )
    widths = [label_width] + [w for _, _, w in arm_cols] + [8, 20]
    total_left = sum(widths) + 2
    x_label = g0 - total_left
    ends = list(np.cumsum(widths) + x_label)
    col_end = dict(
        zip(["label"] + [k for _, k, _ in arm_cols] + ["weight", "effect"], ends, strict=True)
    )

    table_rows = data[
        data.row_type.isin(["study", "subtotal", "total", "total_events", "fixed", "prediction"])
    ]
    texts_right = []
    for _, r in table_rows.iterrows():
        for _, key, _ in arm_cols:
            v = r.get(key)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                txt = f"{v:.3f}" if key in ("yi", "sei") else _num(v)
                texts_right.append(
                    {"x": col_end[key], "y": r.y, "text": txt, "bold": r.row_type != "study"}
                )
        if r.row_type in ("study", "subtotal", "total") and not pd.isna(r.weight):
            texts_right.append(
                {
                    "x": col_end["weight"],
                    "y": r.y,
                    "text": r.weight_text,
                    "bold": r.row_type != "study",
                }
            )
        if isinstance(r.effect_text, str):
            texts_right.append(
                {
                    "x": col_end["effect"],
                    "y": r.y,
                    "text": r.effect_text,
                    "bold": r.row_type not in ("study", "prediction"),
                }
            )
    labels = data[data.row_type != "text"].copy()
    labels["bold"] = labels.row_type.isin(["header", "subtotal", "total", "fixed"])
    notes = data[data.row_type == "text"]

    head_y = n + 1.2
    header_right = [{"x": col_end[k], "y": head_y, "text": h} for h, k, _ in arm_cols]
    header_right += [
        {"x": col_end["weight"], "y": head_y, "text": "Weight"},
        {"x": col_end["effect"], "y": head_y, "text": effect_name},
    ]
    header_top = []
    if arm_cols and result.measure != "GEN" and not proportion:
        half = len(arm_cols) // 2
        for arm_name, keys in ((label_exp, arm_cols[:half]), (label_ctrl, arm_cols[half:])):
            start = col_end[keys[0][1]] - keys[0][2]
            group_chars = max(8, int(col_end[keys[-1][1]] - start))
            header_top.append(
                {
                    "x": (start + col_end[keys[-1][1]]) / 2,
                    "y": head_y + 0.45,
                    "text": textwrap.fill(arm_name, group_chars),
                }
            )
    header_top.append({"x": (g0 + g1) / 2, "y": head_y + 0.45, "text": effect_name})
    model = method_label(result)[len(MEASURE_NAMES[result.measure]) + 1 :]  # "IV, Random, 95% CI"

    # graphical elements
    studies = data[(data.row_type == "study") & data.est.notna()].copy()
    studies["xe"] = [gx(clip(v)) for v in studies.est]
    studies["xl"] = [gx(clip(v)) for v in studies.lo]
    studies["xh"] = [gx(clip(v)) for v in studies.hi]
    studies["clip_lo"] = studies.lo < axis_limits[0]
    studies["clip_hi"] = studies.hi > axis_limits[1]
    inside = studies[(studies.est >= axis_limits[0]) & (studies.est <= axis_limits[1])]
    diamonds = []
    for _, r in data[data.row_type.isin(["total", "subtotal", "fixed"])].iterrows():
        if pd.isna(r.est):
            continue
        h = 0.32
        pts = [
            (gx(clip(r.lo)), r.y),
            (gx(clip(r.est)), r.y + h),
            (gx(clip(r.hi)), r.y),
            (gx(clip(r.est)), r.y - h),
        ]
        colour = "white" if r.row_type == "fixed" else "black"
        diamonds += [{"x": x, "y": y, "id": f"{r.row_type}{r.y}", "fill": colour} for x, y in pts]
    pis = data[data.row_type == "prediction"]
    null = None if proportion else 1.0 if is_ratio else 0.0

    bottom = float(data.y.min()) - 0.6
    tick_df = pd.DataFrame({"x": [gx(b) for b in breaks], "label": [f"{b:g}" for b in breaks]})
    fav_y = bottom - 1.9
    p = (
        ggplot()
        + annotate("segment", x=g0, xend=g1, y=bottom, yend=bottom, size=0.4)
        + geom_segment(aes(x="x", xend="x", y=bottom, yend=bottom - 0.25), data=tick_df, size=0.4)
        + geom_text(
            aes(x="x", y=bottom - 0.75, label="label"), data=tick_df, size=FONT_SIZE, family=FONT
        )
    )
    if null is not None and axis_limits[0] <= null <= axis_limits[1]:
        p += annotate(
            "segment",
            x=gx(null),
            xend=gx(null),
            y=bottom,
            yend=head_y - 0.5,
            size=0.4,
            colour="black",
        )
    for (clo, chi), sub in studies.groupby(["clip_lo", "clip_hi"]):
        arrow_ends: Literal["first", "last", "both"] | None = (
            "both" if clo and chi else "first" if clo else "last" if chi else None
        )
        seg = geom_segment(
            aes(x="xl", xend="xh", y="y", yend="y"),
            data=sub,
            size=0.4,
            **({"arrow": arrow(length=0.05, ends=arrow_ends, type="closed")} if arrow_ends else {}),
        )
        p += seg
    if not inside.empty:
        # square area proportional to the study's weight (RevMan); the largest is 6 points wide
        side = 6.0 * np.sqrt(
            inside.weight / max(float(data.loc[data.row_type == "study", "weight"].max()), 1e-12)
        )
        p += geom_point(
            aes(x="xe", y="y", size="side"),
            data=inside.assign(xe=[gx(v) for v in inside.est], side=side),
            shape="s",
            fill="#1f5f8b",
            colour="#1f5f8b",
        )
        p += scale_size_identity()
    if diamonds:
        ddf = pd.DataFrame(diamonds)
        for fill, part in ddf.groupby("fill"):
            p += geom_polygon(
                aes(x="x", y="y", group="id"), data=part, fill=fill, colour="black", size=0.4
            )
    for _, r in pis.iterrows():
        p += annotate(
            "rect",
            xmin=gx(clip(r.lo)),
            xmax=gx(clip(r.hi)),
            ymin=r.y - 0.18,
            ymax=r.y + 0.18,
            fill="#c7202f",
            alpha=0.85,
        )
    # text columns
    for bold, part in labels.groupby("bold"):
        p += geom_text(
            aes(x="x", y="y", label="label"),
            data=part.assign(x=x_label),
            ha="left",
            size=FONT_SIZE,
            family=FONT,
            fontweight="bold" if bold else "normal",
        )
    if texts_right:
        tr_df = pd.DataFrame(texts_right)
        for bold, part in tr_df.groupby("bold"):
            p += geom_text(
                aes(x="x", y="y", label="text"),
                data=part,
                ha="right",
                size=FONT_SIZE,
                family=FONT,
                fontweight="bold" if bold else "normal",
            )
    p += geom_text(
        aes(x="x", y="y", label="text"),
        data=pd.DataFrame(header_right),
        ha="right",
        size=FONT_SIZE,
        family=FONT,
        fontweight="bold",
    )
    p += geom_text(
        aes(x="x", y="y", label="text"),
        data=pd.DataFrame(header_top),
        ha="center",
        va="bottom",
        size=FONT_SIZE,
        family=FONT,
        fontweight="bold",
        lineheight=1.0,
    )
    p += annotate(
        "text",
        x=(g0 + g1) / 2,
        y=head_y,
        label=model,
        size=FONT_SIZE,
        family=FONT,
        fontweight="bold",
    )
    p += annotate(
        "text",
        x=x_label,
        y=head_y,
        label="Study or Subgroup",
        ha="left",
        size=FONT_SIZE,
        family=FONT,
        fontweight="bold",
    )
    if not notes.empty:
        p += geom_text(
            aes(x="x", y="y", label="label"),
            data=notes.assign(x=x_label),
            ha="left",
            size=FONT_SIZE - 0.5,
            family=FONT,
        )
    # no "Favours" labels for proportions: there is no line of no effect
    right_edge = g1 + 1.5
    if null is not None:
        fav_l = favours_exp or f"Favours [{label_exp}]"
        fav_r = favours_ctrl or f"Favours [{label_ctrl}]"
        p += annotate(
            "text",
            x=gx(null) - 0.6 if axis_limits[0] < null else g0,
            y=fav_y,
            label=fav_l,
            ha="right",
            size=FONT_SIZE,
            family=FONT,
        )
        p += annotate(
            "text",
            x=gx(null) + 0.6 if null < axis_limits[1] else g1,
            y=fav_y,
            label=fav_r,
            ha="left",
            size=FONT_SIZE,
            family=FONT,
        )
        # room for the right-hand "Favours" label (about one character unit per character)
        right_edge = max(right_edge, (gx(null) + 0.6 if null < axis_limits[1] else g1) + len(fav_r))
    if risk_of_bias:
        domains = list(dict.fromkeys(d for m in risk_of_bias.values() for d in m))
        rob = []
        for j, domain in enumerate(domains):
            x = g1 + 3 + 2.2 * j
            rob.append({"x": x, "y": head_y, "text": chr(ord("A") + j), "fill": "none"})
            for _, r in data[data.row_type == "study"].iterrows():
                judgement = risk_of_bias.get(r.study, {}).get(domain)
                if judgement in ROB_COLOURS:
                    rob.append(
                        {
                            "x": x,
                            "y": r.y,
                            "text": ROB_SYMBOLS[judgement],
                            "fill": ROB_COLOURS[judgement],
                        }
                    )
        rdf = pd.DataFrame(rob)
        dots = rdf[rdf.fill != "none"]
        if not dots.empty:
            for fill, part in dots.groupby("fill"):
                p += geom_point(
                    aes(x="x", y="y"), data=part, fill=fill, colour="black", size=3.6, stroke=0.2
                )
            p += geom_text(
                aes(x="x", y="y", label="text"),
                data=dots,
                size=FONT_SIZE,
                family=FONT,
                fontweight="bold",
            )
        p += geom_text(
            aes(x="x", y="y", label="text"),
            data=rdf[rdf.fill == "none"],
            size=FONT_SIZE,
            family=FONT,
            fontweight="bold",
        )
        legend = "; ".join(f"({chr(ord('A') + j)}) {d}" for j, d in enumerate(domains))
        p += annotate(
            "text",
            x=x_label,
            y=fav_y - 1.0,
            label="Risk of bias: " + legend,
            ha="left",
            size=FONT_SIZE - 1,
            family=FONT,
        )
        right_edge = max(right_edge, g1 + 3 + 2.2 * len(domains))
    y_bottom = fav_y - (1.6 if risk_of_bias else 0.8)
    width_units = right_edge - x_label + 1
    p += scale_x_continuous(limits=(x_label - 0.5, right_edge + 0.5), expand=(0, 0))
    p += scale_y_continuous(limits=(y_bottom, head_y + 2.6), expand=(0, 0))
    p += coord_cartesian()
    p += theme_void()
    p += theme(
        text=element_text(family=FONT, size=FONT_SIZE * 1.1),
        plot_title=element_text(size=FONT_SIZE * 1.4, ha="left"),
        axis_line=element_blank(),
        panel_grid=element_blank(),
        axis_text=element_blank(),
        axis_title=element_blank(),
        figure_size=(
            width_units * CHAR_INCHES + 0.4,
            (head_y + 2.6 - y_bottom) * ROW_INCHES + (0.35 if title else 0.15),
        ),
        plot_margin=0.01,
        panel_background=element_blank(),
        axis_ticks=element_line(size=0),
    )
    if title:
        p += labs(title=title)
    return p
