"""Readable text summaries of results. Formats numbers only; computes no statistics."""

from __future__ import annotations

import math

from metafuse.results import PooledResult

METHOD_NAMES = {
    "FE": "Fixed-effect model (inverse variance)",
    "MH": "Fixed-effect model (Mantel-Haenszel)",
    "PETO": "Fixed-effect model (Peto)",
}


def fmt_num(x: float | None, digits: int = 4) -> str:
    """Fixed-point number, or 'NA' for a missing value."""
    return "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_p(p: float | None) -> str:
    """p-value as metafor prints it: '< .0001' below 1e-4, else 4 decimals."""
    if p is None:
        return "NA"
    return "< .0001" if p < 1e-4 else f"= {p:.4f}"


def _display(result: PooledResult, x: float | None) -> float | None:
    if x is None:
        return None
    return math.exp(x) if result.is_ratio else x


def format_result(result: PooledResult, digits: int = 4) -> str:
    """Multi-line summary of a pooled result (display scale, with the analysis scale shown too)."""
    r = result
    title = METHOD_NAMES.get(r.method, f"Random-effects model (tau^2 estimator: {r.method})")
    lines = [f"{title}; k = {r.k}; measure: {r.measure}" + ("; HKSJ adjustment" if r.hksj else "")]
    lines.append("")
    est, lo, hi = (_display(r, x) for x in (r.estimate, r.ci_low, r.ci_high))
    name = f"Pooled {r.measure}"
    lines.append(
        f"{name}: {fmt_num(est, digits)} [95% CI {fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"
    )
    stat_name = "z" if r.df is None else f"t({r.df})"
    scale = "log " + r.measure if r.is_ratio else r.measure
    lines.append(
        f"  {scale} = {fmt_num(r.estimate, digits)}, SE = {fmt_num(r.se, digits)}, "
        f"{stat_name} = {fmt_num(r.statistic, 2)}, p {fmt_p(r.pval)}"
    )
    if r.pi_low is not None:
        pl, ph = _display(r, r.pi_low), _display(r, r.pi_high)
        lines.append(f"  95% prediction interval: [{fmt_num(pl, digits)}, {fmt_num(ph, digits)}]")
    lines.append("")
    lines.append("Heterogeneity:")
    if r.is_random:
        ci = ""
        if r.tau2_ci_low is not None:
            ci = f" [95% CI {fmt_num(r.tau2_ci_low, digits)}, {fmt_num(r.tau2_ci_high, digits)}]"
        lines.append(f"  tau^2 = {fmt_num(r.tau2, digits)}{ci}")
    i2ci = ""
    if r.I2_ci_low is not None:
        i2ci = f" [95% CI {fmt_num(r.I2_ci_low, 1)}, {fmt_num(r.I2_ci_high, 1)}]"
    lines.append(
        f"  I^2 = {fmt_num(r.I2, 1)}%{i2ci}; Q-based I^2 = {fmt_num(r.I2_Q, 1)}%; "
        f"H^2 = {fmt_num(r.H2, 2)}"
    )
    lines.append(f"  Q = {fmt_num(r.Q, 2)}, df = {r.Q_df}, p {fmt_p(r.Q_pval)}")
    lines.append("")
    width = max([5, *(len(s.study) for s in r.studies)])
    lines.append(f"{'Study':<{width}}  {'yi':>9}  {'SE':>8}  {'weight %':>8}")
    for s in r.studies:
        yi = fmt_num(s.yi, 4) if s.yi is not None else "not estimable"
        lines.append(
            f"{s.study:<{width}}  {yi:>9}  {fmt_num(s.sei, 4):>8}  {s.weight_percent:>8.2f}"
        )
    for name, reason in r.excluded:
        lines.append(f"Excluded: {name}: {reason}")
    return "\n".join(lines)
