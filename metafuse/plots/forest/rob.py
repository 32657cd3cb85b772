"""Risk-of-bias columns of a forest plot: one traffic-light dot per study and domain.

Symbols and colours follow robvis for RoB 2 (low +, some concerns −, high ×, no information ?)
and RevMan for RoB 1 ('unclear' ?). Domains keep their given order, the overall judgement last;
a domain named 'D1 randomisation process' is headed 'D1' and spelt out in the legend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metafuse.text.metrics import text_width

HEADER_SIZE = 7.5

#: judgement -> (fill colour, symbol, legend word)
ROB_STYLES: dict[str, tuple[str, str, str]] = {
    "low": ("#2ca25f", "+", "low"),
    "some concerns": ("#f0b400", "−", "some concerns"),
    "unclear": ("#f0b400", "?", "unclear"),
    "high": ("#d7301f", "×", "high"),
    "not assessed": ("#bdbdbd", "?", "not assessed"),
    "no information": ("#bdbdbd", "?", "no information"),
}
RiskOfBias = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class RobColumns:
    """Dots (x, y, fill, symbol), column headers (x, text) and the legend of the RoB columns."""

    dots: list[dict[str, Any]]
    headers: list[tuple[float, str]]
    legend: str
    width: float


def domains_of(risk_of_bias: RiskOfBias) -> list[str]:
    """Every domain in first-seen order, an overall judgement last."""
    seen = list(dict.fromkeys(d for judgements in risk_of_bias.values() for d in judgements))
    overall = [d for d in seen if d.strip().lower() == "overall"]
    return [d for d in seen if d not in overall] + overall


def _short(domain: str, j: int) -> str:
    if domain.strip().lower() == "overall":
        return "Overall"
    found = re.match(r"^\s*(D\d+)\b", domain)
    return found.group(1) if found else chr(ord("A") + j)


def _named(domains: Sequence[str]) -> list[str]:
    """Return the legend's domain names ('D1 randomisation process', or 'A: <domain>')."""
    out = []
    for j, domain in enumerate(domains):
        short = _short(domain, j)
        if short != "Overall":
            out.append(domain if domain.strip().startswith(short) else f"{short}: {domain}")
    return out


def rob_columns(
    risk_of_bias: RiskOfBias, studies: Sequence[tuple[str, float]], x0: float, column: float
) -> RobColumns:
    """Return the risk-of-bias columns from ``x0`` (inches).

    The RoB columns from ``x0`` (inches), one ``column`` wide each (wider for 'Overall'), for
    ``studies`` given as (study label, row y). An unknown judgement is an error naming it.
    """
    domains = domains_of(risk_of_bias)
    dots, headers, used = [], [], []
    x = x0
    for j, domain in enumerate(domains):
        short = _short(domain, j)
        width = max(column, text_width(short, HEADER_SIZE, True) + 0.06)
        centre = x + width / 2
        x += width
        headers.append((centre, short))
        for study, y in studies:
            judgement = risk_of_bias.get(study, {}).get(domain)
            if judgement is None:
                continue
            key = judgement.strip().lower()
            if key not in ROB_STYLES:
                raise ValueError(
                    f"risk of bias of {study!r}, {domain!r}: unknown judgement {judgement!r} "
                    f"(use one of {', '.join(ROB_STYLES)})"
                )
            fill, symbol, word = ROB_STYLES[key]
            dots.append({"x": centre, "y": y, "fill": fill, "symbol": symbol})
            if (symbol, word) not in used:
                used.append((symbol, word))
    legend = "Risk of bias: " + "; ".join(_named(domains))
    legend += ". " + ", ".join(f"{s} {w}" for s, w in used) + "."
    return RobColumns(dots, headers, legend, x - x0)
