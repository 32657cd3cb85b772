"""The words and numbers of a forest plot, as RevMan 5 prints them (formats only; computes nothing).

The heterogeneity line prints the result's own ``I2`` (metafor's definition, the one the summary,
the HTML report and the GRADE rule use), so that every output of an analysis shows the same I².
"""

from __future__ import annotations

import math
import re

from metafuse.results import PooledResult

#: Studies whose label is longer than this are cut, keeping the start and ending in an ellipsis.
MAX_LABEL_CHARS = 28


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


def fmt_i2(value: float | None) -> str:
    """I² in percent with one decimal, as the summary prints it ('NA' when undefined)."""
    return "NA" if value is None else f"{value:.1f}%"


def effect_name(result: PooledResult) -> str:
    """Return what the effect is, with its unit: 'Mean difference, points', 'Risk ratio'."""
    scale = result.display_scale
    return f"{scale.name}, {scale.unit}" if scale.unit else scale.name


def model_label(result: PooledResult) -> str:
    """'IV, Random, 95% CI' (the second line of RevMan's column header)."""
    kind = {"MH": "M-H", "PETO": "Peto"}.get(result.method, "IV")
    model = "Random" if result.is_random else "Fixed"
    return f"{kind}, {model}, {100 * result.level:g}% CI"


def method_label(result: PooledResult) -> str:
    """'Risk ratio IV, Random, 95% CI' (RevMan's column header on one line)."""
    return f"{result.display_scale.name} {model_label(result)}"


def heterogeneity_text(result: PooledResult) -> str:
    """'Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92.2%'."""
    if result.k < 2 or result.Q is None:
        return "Heterogeneity: Not applicable"
    parts = []
    if result.is_random and result.tau2 is not None:
        parts.append(f"Tau² = {result.tau2:.2f}; ")
    parts.append(f"Chi² = {result.Q:.2f}, df = {result.Q_df} ({fmt_p_revman(result.Q_pval)}); ")
    parts.append(f"I² = {fmt_i2(result.I2)}")
    return "Heterogeneity: " + "".join(parts)


def overall_test_text(result: PooledResult) -> str:
    """'Test for overall effect: Z = 3.97 (P < 0.0001)' (t with df under HKSJ)."""
    if result.statistic is None:
        return "Test for overall effect: Not applicable"
    name = "Z" if result.df is None else f"t({result.df})"
    stat, p = abs(result.statistic), fmt_p_revman(result.pval)
    return f"Test for overall effect: {name} = {stat:.2f} ({p})"


def subgroup_test_text(q: float, df: int, p: float) -> str:
    """'Test for subgroup differences: Chi² = 1.23, df = 1 (P = 0.27), I² = 18.7%'."""
    i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
    stats = f"Chi² = {q:.2f}, df = {df} ({fmt_p_revman(p)}), I² = {i2:.1f}%"
    return f"Test for subgroup differences: {stats}"


def cut_label(text: str) -> str:
    """Return a study label cut to :data:`MAX_LABEL_CHARS`, ending in an ellipsis when cut."""
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1].rstrip() + "…"


def year_of(label: str) -> int:
    """Return the last four-digit year (19xx or 20xx) in a study label, 0 when none."""
    found = re.findall(r"(?:19|20)\d\d", label)
    return int(found[-1]) if found else 0


def fmt_cell(x: float | None, digits: int = 1) -> str:
    """Return an arm value: integers without decimals, others with ``digits``; '' when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.{digits}f}"
