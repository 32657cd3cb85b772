"""HTML from result objects with Jinja2 templates (``metafuse/report/templates``).

Autoescaping is on for every template, so study labels, titles and notes from user files are
always text, never markup. Numbers are formatted by filters here; the templates hold no
statistics. The view of a result (:func:`result_view`) is shared by the report pages.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import jinja2

    from metafuse.results import PooledResult


def num(x: Any, digits: int = 2) -> str:
    """Return a number with ``digits`` decimals; 'NA' for None or nan."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NA"
    return f"{float(x):.{digits}f}"


def pct(x: Any, digits: int = 1) -> str:
    """Return a percentage ('NA' when undefined, e.g. I² of a single study)."""
    text = num(x, digits)
    return text if text == "NA" else f"{text}%"


def pval(p: float | None) -> str:
    """'< 0.0001' or four decimals ('NA' when missing)."""
    if p is None or not math.isfinite(p):
        return "NA"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def href(path: str) -> str:
    """Return a relative link with every character outside the safe set percent-encoded."""
    return quote(path, safe="/")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Return the report's Jinja2 environment.

    Package templates, autoescape on, strict undefined.
    """
    from metafuse._extras import require

    jinja2 = require("jinja2", "the HTML report")

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("metafuse.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=num, pct=pct, pval=pval, href=href)
    return env


def render(template: str, **context: Any) -> str:
    """Return a template rendered with ``context`` (always ending in one newline)."""
    return environment().get_template(template).render(**context).rstrip("\n") + "\n"


def result_view(result: PooledResult) -> dict[str, Any]:
    """Return what the templates show of a result: display-scale numbers, heterogeneity, studies."""
    scale = result.display_scale
    pct = f"{100 * result.level:g}%"
    est = scale.display(result.estimate)
    lo, hi = (None, None) if result.estimate is None else result.conf_int()
    pi = (scale.display(result.pi_low), scale.display(result.pi_high))
    frame = result.to_frame()
    stat = "z" if result.df is None else f"t({result.df})"
    return {
        "measure": scale.label,
        "analysis_scale": scale.analysis_label,
        "method": result.method,
        "model": "random effects" if result.is_random else "fixed effect",
        "hksj": result.hksj,
        "k": result.k,
        "level": pct,
        "estimate": est,
        "ci": (lo, hi),
        "pi": pi,
        "statistic": (stat, result.statistic),
        "pval": result.pval,
        "tau2": result.tau2,
        "tau2_ci": (result.tau2_ci_low, result.tau2_ci_high),
        "I2": result.I2,
        "I2_ci": (result.I2_ci_low, result.I2_ci_high),
        "I2_Q": result.I2_Q,
        "Q": (result.Q, result.Q_df, result.Q_pval),
        "random": result.is_random,
        "studies": [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")
        ],
        "excluded": list(result.excluded),
    }
