"""Readable text summaries of pooled results. Formats numbers only; computes no statistics."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from metafuse.result_protocol import p_text, short

if TYPE_CHECKING:
    from metafuse.results import PooledResult

METHOD_NAMES = {
    "FE": "Fixed-effect model (inverse variance)",
    "MH": "Fixed-effect model (Mantel-Haenszel)",
    "PETO": "Fixed-effect model (Peto)",
}


def fmt_num(x: float | None, digits: int = 4) -> str:
    """Fixed-point number, or 'NA' for a missing value."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NA"
    return f"{x:.{digits}f}"


def fmt_p(p: float | None) -> str:
    """p-value as metafor prints it: '< .0001' below 1e-4, else 4 decimals."""
    if p is None:
        return "NA"
    return "< .0001" if p < 1e-4 else f"= {p:.4f}"


def fmt_level(level: float) -> str:
    """'95%' for 0.95."""
    return f"{100 * level:g}%"


def _heterogeneity_lines(r: PooledResult, digits: int) -> list[str]:
    lines = ["Heterogeneity:"]
    pct = fmt_level(r.level)
    if r.is_random:
        ci = ""
        if r.tau2_ci_low is not None:
            ci = f" [{pct} CI {fmt_num(r.tau2_ci_low, digits)}, {fmt_num(r.tau2_ci_high, digits)}]"
        lines.append(f"  tau^2 = {fmt_num(r.tau2, digits)}{ci}")
    i2ci = ""
    if r.I2_ci_low is not None:
        i2ci = f" [{pct} CI {fmt_num(r.I2_ci_low, 1)}, {fmt_num(r.I2_ci_high, 1)}]"
    lines.append(
        f"  I^2 = {fmt_num(r.I2, 1)}%{i2ci}; Q-based I^2 = {fmt_num(r.I2_Q, 1)}%; "
        f"H^2 = {fmt_num(r.H2, 2)}"
    )
    lines.append(f"  Q = {fmt_num(r.Q, 2)}, df = {r.Q_df}, p {fmt_p(r.Q_pval)}")
    return lines


def _study_lines(r: PooledResult) -> list[str]:
    width = max([5, *(len(s.study) for s in r.studies)])
    lines = [f"{'Study':<{width}}  {'yi':>9}  {'SE':>8}  {'weight %':>8}"]
    for s in r.studies:
        yi = fmt_num(s.yi, 4) if s.yi is not None else "not estimable"
        lines.append(
            f"{s.study:<{width}}  {yi:>9}  {fmt_num(s.sei, 4):>8}  {s.weight_percent:>8.2f}"
        )
    lines += [f"Excluded: {name}: {reason}" for name, reason in r.excluded]
    return lines


def model_title(result: PooledResult) -> str:
    """Name the model of a pooled result in words.

    Parameters
    ----------
    result : PooledResult
        The fitted meta-analysis.

    Returns
    -------
    str
        For example ``Random-effects model (tau^2 estimator: REML)``.
    """
    if result.model.q_from == "mh":
        return "Random-effects model (DerSimonian-Laird tau^2 from the Mantel-Haenszel Q)"
    return METHOD_NAMES.get(
        result.method, f"Random-effects model (tau^2 estimator: {result.method})"
    )


def format_result(result: PooledResult, digits: int = 4) -> str:
    """Multi-line summary of a pooled result (display scale, with the analysis scale shown too)."""
    r = result
    scale = r.display_scale
    title = model_title(r)
    lines = [
        f"{title}; k = {r.k}; measure: {scale.label}" + ("; HKSJ adjustment" if r.hksj else ""),
        "",
    ]
    est, lo, hi = (scale.display(x) for x in (r.estimate, r.ci_low, r.ci_high))
    pct = fmt_level(r.level)
    lines.append(
        f"Pooled {scale.name[0].lower() + scale.name[1:]}: {fmt_num(est, digits)} "
        f"[{pct} CI {fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"
    )
    stat_name = "z" if r.df is None else f"t({r.df})"
    lines.append(
        f"  {scale.analysis_label} = {fmt_num(r.estimate, digits)}, SE = "
        f"{fmt_num(r.se, digits)}, {stat_name} = {fmt_num(r.statistic, 2)}, "
        f"p {fmt_p(r.pval)}"
    )
    if r.pi_low is not None:
        pl, ph = scale.display(r.pi_low), scale.display(r.pi_high)
        lines.append(f"  {pct} prediction interval: [{fmt_num(pl, digits)}, {fmt_num(ph, digits)}]")
    return "\n".join([*lines, "", *_heterogeneity_lines(r, digits), "", *_study_lines(r)])


def result_headline(r: PooledResult) -> str:
    """Return the gist of a pooled result on one line (its ``repr``)."""
    model = r.method + ("+HKSJ" if r.hksj else "")
    if r.estimate is None:
        return f"{r.measure} {model} k={r.k}: no pooled estimate"
    scale = r.display_scale
    est, lo, hi = (scale.display(x) for x in (r.estimate, r.ci_low, r.ci_high))
    return f"{r.measure} {model} k={r.k}: {short(est)} [{short(lo)}, {short(hi)}]"


def result_rows(r: PooledResult) -> list[tuple[str, str]]:
    """Return the labelled numbers of a pooled result shown above its study table in HTML."""
    scale = r.display_scale
    pct = f"{100 * r.level:g}%"
    est, lo, hi = (scale.display(x) for x in (r.estimate, r.ci_low, r.ci_high))
    stat = "z" if r.df is None else f"t({r.df})"
    rows = [
        (
            f"Pooled {scale.label[0].lower()}{scale.label[1:]}",
            f"{short(est)} [{pct} CI {short(lo)}, {short(hi)}]",
        ),
        ("Test for overall effect", f"{stat} = {short(r.statistic)}, {p_text(r.pval)}"),
    ]
    if r.pi_low is not None:
        pl, ph = scale.display(r.pi_low), scale.display(r.pi_high)
        rows.append(("Prediction interval", f"[{short(pl)}, {short(ph)}]"))
    if r.is_random:
        ci = (
            ""
            if r.tau2_ci_low is None
            else (f" [{pct} CI {r.tau2_ci_low:.4f}, {r.tau2_ci_high:.4f}]")
        )
        tau2 = "NA" if r.tau2 is None else f"{r.tau2:.4f}"
        rows.append((f"tau^2 ({scale.analysis_label})", tau2 + ci))
    i2 = "NA" if r.I2 is None else f"{r.I2:.1f}%"
    rows.append(("I^2", i2))
    rows.append(("Cochran's Q", f"{short(r.Q)}, df = {r.Q_df}, {p_text(r.Q_pval)}"))
    rows += [("Excluded", f"{name}: {reason}") for name, reason in r.excluded]
    return rows
