"""Forest plot of a Bayesian meta-analysis.

Each study's observed effect (open square, its CI) beside its shrunken estimate (filled circle,
posterior median and credible interval), the posterior of mu (diamond) and the posterior predictive
interval (bar).

Reference: Röver C (2020). J Stat Softw 93(6):1-51, Figure 2 (forest plot with shrinkage
estimates); Gelman A et al. (2013). Bayesian Data Analysis, 3rd ed., section 5.5.
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

import pandas as pd
from scipy import special

from metafuse.bayes import BayesResult

if TYPE_CHECKING:
    from plotnine import ggplot


def shrinkage_data(result: BayesResult) -> pd.DataFrame:
    """Return the rows of the Bayesian forest plot (analysis scale).

    Parameters
    ----------
    result : BayesResult
        The Bayesian analysis.

    Returns
    -------
    pandas.DataFrame
        ``label, kind`` (observed, shrunken, mu, prediction), ``est, lo, hi, row`` with row 0
        at the bottom.
    """
    z = float(special.ndtri(0.5 + result.level / 2))
    rows = []
    k = len(result.shrinkage)
    for i, s in enumerate(result.shrinkage):
        row = k - i + 1.5
        rows.append((s.study, "observed", s.yi, s.yi - z * s.sei, s.yi + z * s.sei, row + 0.18))
        rows.append((s.study, "shrunken", s.median, s.ci_low, s.ci_high, row - 0.18))
    rows.append(("Overall (mu)", "mu", result.mu_median, result.mu_ci_low, result.mu_ci_high, 1))
    rows.append(("Prediction", "prediction", result.mu_median, result.pred_ci_low,
                 result.pred_ci_high, 0))  # fmt: skip
    return pd.DataFrame(rows, columns=["label", "kind", "est", "lo", "hi", "row"])


def shrinkage_plot(result: BayesResult, *, title: str | None = None) -> ggplot:
    """Draw the Bayesian forest plot: each study observed and shrunken, mu and the prediction.

    Parameters
    ----------
    result : BayesResult
        The Bayesian analysis.
    title : str, optional
        A title above the plot.

    Returns
    -------
    plotnine.ggplot
        The plot (ratio measures on a log axis labelled with ratios).
    """
    from plotnine import (
        aes,
        element_blank,
        element_text,
        geom_point,
        geom_polygon,
        geom_segment,
        geom_vline,
        ggplot,
        labs,
        scale_colour_manual,
        scale_x_continuous,
        scale_y_continuous,
        theme,
        theme_bw,
    )

    data = shrinkage_data(result)
    studies = data[data["kind"].isin(["observed", "shrunken"])]
    mu = data[data["kind"] == "mu"].iloc[0]
    diamond = pd.DataFrame({"x": [mu.lo, mu.est, mu.hi, mu.est], "y": [1, 1.3, 1, 0.7]})
    p = ggplot()
    p += geom_vline(xintercept=0.0, linetype="dashed", size=0.3, colour="grey")
    p += geom_segment(aes(x="lo", xend="hi", y="row", yend="row", colour="kind"), data=studies)
    p += scale_colour_manual(values={"observed": "#8c8c8c", "shrunken": "black"})
    observed = studies[studies["kind"] == "observed"]
    shrunken = studies[studies["kind"] == "shrunken"]
    p += geom_point(aes("est", "row"), data=observed, shape="s", fill="white", size=2.2)
    p += geom_point(aes("est", "row"), data=shrunken, shape="o", fill="black", size=2.2)
    p += geom_polygon(aes("x", "y"), data=diamond, fill="black")
    pred = data[data["kind"] == "prediction"]
    p += geom_segment(aes(x="lo", xend="hi", y="row", yend="row"), data=pred, size=1.2)
    labels = data.drop_duplicates("label")
    p += scale_y_continuous(
        breaks=[float(r) if k in ("mu", "prediction") else float(r) - 0.18
                for r, k in zip(labels["row"], labels["kind"], strict=True)],
        labels=list(labels["label"]),
        expand=(0, 0.6),
    )  # fmt: skip
    xlab = f"{result.scale.label}"
    if result.is_ratio:
        lo, hi = float(data["lo"].min()), float(data["hi"].max())
        ticks = [b for b in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
                 if lo - 0.5 <= math.log(b) <= hi + 0.5]  # fmt: skip
        p += scale_x_continuous(
            breaks=[math.log(t) for t in ticks], labels=[f"{t:g}" for t in ticks]
        )
        xlab += " (log scale)"
    pct = f"{100 * result.level:g}%"
    p += labs(
        x=xlab,
        y="",
        colour="",
        title="\n".join(textwrap.wrap(title or "Bayesian random-effects meta-analysis", 70)),
        caption=(
            f"Open squares: observed ({pct} CI). Filled circles: shrunken (posterior median, "
            f"{pct} CrI).\nDiamond: mu; bar: prediction interval.\n"
            + "\n".join(textwrap.wrap(f"Prior: {result.prior}.", 95))
        ),
    )
    p += theme_bw()
    p += theme(panel_grid_major_y=element_blank(), panel_grid_minor=element_blank(),
               legend_position="none", plot_caption=element_text(ha="left", size=7),
               plot_title=element_text(size=11),
               figure_size=(7.5, 1.6 + 0.45 * (len(labels) + 1)))  # fmt: skip
    return p
