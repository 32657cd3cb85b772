"""Conventions of other tools, as presets: what differs between metafuse, metafor and RevMan.

A convention sets the defaults that differ between the tools: the random-effects estimator and
test, the prediction interval, zero-cell rules, how the Mantel-Haenszel heterogeneity Q and the
"M-H, Random" model are computed, the SMD's small-sample correction, and the interval level.
Explicit arguments to :func:`metafuse.pool` always win over the preset.

References
----------
Viechtbauer W (2010). J Stat Softw 36(3) (metafor's defaults: REML, z tests, z-based prediction
    interval, ``escalc`` zero cells add 1/2 "only0" with drop00 FALSE).
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5 (DerSimonian-Laird only;
    0.5 added to every cell of a table with a zero cell, also for Mantel-Haenszel; "M-H, Random"
    takes tau^2 from the Mantel-Haenszel heterogeneity statistic; Hedges' adjusted g with the
    approximate correction; no prediction interval).
Cochrane (2024). RevMan Web: statistical methods addendum (REML, Q-profile CI for tau^2, the
    Hartung-Knapp-Sidik-Jonkman adjustment and prediction intervals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from metafuse.engine.inverse_variance import PredictionKind


@dataclass(frozen=True)
class Convention:
    """The defaults of one tool (see the module docstring)."""

    name: str
    #: Default random-effects estimator and whether HKSJ is on by default.
    method: str
    hksj: bool
    prediction: PredictionKind
    level: float
    #: Zero cells: amount, rule, and whether double-zero studies are dropped for RR/OR and RD.
    add: float
    to: Literal["only0", "all", "if0all", "none"]
    drop00_ratio: bool
    drop00_rd: bool
    #: RevMan adds the continuity correction to the counts that Mantel-Haenszel pools.
    mh_corrected_counts: bool
    #: Small-sample correction of the SMD: "exact" (Hedges 1981) or "approximate"
    #: (1 - 3/(4N - 9), RevMan).
    smd_correction: Literal["exact", "approximate"]
    #: How the random-effects model of a Mantel-Haenszel analysis takes tau^2: from the
    #: inverse-variance Q ("iv") or from the Mantel-Haenszel Q ("mh", RevMan's "M-H, Random").
    mh_random_q: Literal["iv", "mh"]

    def drop00(self, measure: str) -> bool:
        """Whether double-zero studies are dropped for ``measure``."""
        return self.drop00_rd if measure == "RD" else self.drop00_ratio


CONVENTIONS: Final = {
    "metafuse": Convention(
        "metafuse", "REML", False, "t(k-2)", 0.95, 0.5, "only0", True, False, False, "exact", "iv"
    ),
    "metafor": Convention(
        "metafor", "REML", False, "z", 0.95, 0.5, "only0", False, False, False, "exact", "iv"
    ),
    "revman5": Convention(
        "revman5", "DL", False, "none", 0.95, 0.5, "only0", True, False, True, "approximate", "mh"
    ),
    "revman-web": Convention(
        "revman-web",
        "REML",
        True,
        "t(k-1)",
        0.95,
        0.5,
        "only0",
        True,
        False,
        True,
        "approximate",
        "mh",
    ),
}


def get_convention(name: str) -> Convention:
    """The preset called ``name`` (metafuse, metafor, revman5, revman-web)."""
    try:
        return CONVENTIONS[str(name).strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown convention {name!r}; choose one of {', '.join(CONVENTIONS)}"
        ) from None
