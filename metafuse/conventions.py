"""Conventions of other tools, as presets: what differs between metafuse, metafor and RevMan.

A convention sets the defaults that differ between the tools: the random-effects estimator and
test, the prediction interval, zero-cell rules (and which tables Mantel-Haenszel pools), the SMD's
small-sample correction, and the interval level. Explicit arguments to :func:`metafuse.pool`
always win over the preset. The README's table lists the differences.

References
----------
Viechtbauer W (2010). J Stat Softw 36(3) (metafor: REML, z tests, z-based prediction interval;
    ``escalc`` adds 1/2 to tables with a zero cell and keeps double-zero studies; ``rma.mh`` drops
    them from Q but keeps every table in the Mantel-Haenszel estimate).
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5 (DerSimonian-Laird only;
    0.5 added to every cell of a table with a zero cell, also for Mantel-Haenszel; the risk
    difference itself uncorrected; "M-H, Random" takes tau^2 from the Mantel-Haenszel
    heterogeneity statistic; Hedges' adjusted g with the approximate correction; no prediction
    interval). Reproduced on real RevMan 5 files (tests/fixtures/revman).
Cochrane (2024). RevMan Web statistical methods addendum (REML with the Q-profile CI for tau^2,
    the Hartung-Knapp-Sidik-Jonkman adjustment and prediction intervals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from metafuse.model import (
    TABLE_METHODS,
    ConventionName,
    Method,
    PredictionKind,
    SmdCorrection,
    ZeroCellRule,
)


@dataclass(frozen=True, kw_only=True)
class Convention:
    """The defaults of one tool (see the module docstring), given by keyword."""

    name: ConventionName
    #: Default random-effects estimator and whether HKSJ is on by default.
    method: Method
    hksj: bool
    prediction: PredictionKind
    level: float
    #: Zero cells: the amount added and to which tables.
    add: float
    to: ZeroCellRule
    #: Double-zero studies dropped for RR/OR/Peto and for RD (inverse variance), and for the Q of
    #: Mantel-Haenszel and Peto fits (None: as for inverse variance).
    drop00_ratio: bool
    drop00_rd: bool
    drop00_mh: bool | None
    #: Mantel-Haenszel pools every table (metafor) rather than the estimable ones only.
    mh_all_tables: bool
    #: Mantel-Haenszel pools the continuity-corrected tables (RevMan).
    mh_corrected_counts: bool
    #: The risk difference itself is uncorrected; only its variance uses corrected cells (RevMan).
    rd_uncorrected: bool
    #: Small-sample correction of the SMD: "exact" (Hedges 1981; metafor) or "approximate"
    #: (1 - 3/(4N - 9), with variance N/(n1 n2) + g^2/(2(N - 3.94)); RevMan).
    smd: SmdCorrection

    def drop00(self, measure: str, method: str = "FE") -> bool:
        """Whether double-zero studies are dropped for ``measure`` pooled by ``method``."""
        if method in TABLE_METHODS and self.drop00_mh is not None:
            return self.drop00_mh
        if measure == "RD":
            return self.drop00_rd
        return self.drop00_ratio if measure in ("RR", "OR", "PETO") else False


#: The presets, by name (the names are :data:`metafuse.model.CONVENTION_NAMES`).
CONVENTIONS: Final[dict[str, Convention]] = {
    preset.name: preset
    for preset in (
        Convention(
            name="metafuse", method="REML", hksj=False, prediction="t(k-2)", level=0.95,
            add=0.5, to="only0", drop00_ratio=True, drop00_rd=False, drop00_mh=None,
            mh_all_tables=False, mh_corrected_counts=False, rd_uncorrected=False, smd="exact",
        ),
        Convention(
            name="metafor", method="REML", hksj=False, prediction="z", level=0.95,
            add=0.5, to="only0", drop00_ratio=False, drop00_rd=False, drop00_mh=True,
            mh_all_tables=True, mh_corrected_counts=False, rd_uncorrected=False, smd="exact",
        ),
        Convention(
            name="revman5", method="DL", hksj=False, prediction="none", level=0.95,
            add=0.5, to="only0", drop00_ratio=True, drop00_rd=False, drop00_mh=None,
            mh_all_tables=False, mh_corrected_counts=True, rd_uncorrected=True,
            smd="approximate",
        ),
        Convention(
            name="revman-web", method="REML", hksj=True, prediction="t(k-1)", level=0.95,
            add=0.5, to="only0", drop00_ratio=True, drop00_rd=False, drop00_mh=None,
            mh_all_tables=False, mh_corrected_counts=True, rd_uncorrected=True,
            smd="approximate",
        ),
    )
}  # fmt: skip


def get_convention(name: str) -> Convention:
    """Return the preset called ``name`` (metafuse, metafor, revman5, revman-web)."""
    try:
        return CONVENTIONS[str(name).strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown convention {name!r}; choose one of {', '.join(CONVENTIONS)}"
        ) from None
