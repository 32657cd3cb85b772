"""Immutable result objects. Fields are on the analysis scale (log for RR and OR).

Printing lives in :mod:`metafuse.printing`; conversion to the display scale happens only there, in
the plots and in :meth:`PooledResult.to_dict`'s ``exp`` block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from metafuse.measures import RANDOM_METHODS, RATIO_MEASURES

#: Keys of :meth:`PooledResult.to_dict`, in order (the public contract; keep exactly).
RESULT_KEYS = (
    "measure", "method", "hksj", "k", "estimate", "se", "ci_low", "ci_high", "pval",
    "tau2", "tau2_ci_low", "tau2_ci_high", "I2", "I2_Q", "I2_ci_low", "I2_ci_high", "H2",
    "Q", "Q_df", "Q_pval", "pi_low", "pi_high",
)  # fmt: skip
EXP_KEYS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")


def _clean(x: float | None) -> float | None:
    """Python float, with nan and None both mapped to None."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


@dataclass(frozen=True, slots=True)
class StudyEstimate:
    """One study's effect (analysis scale) and its weight in the pooled estimate.

    ``yi``/``sei`` are None for a study that is not estimable for this measure (for example a
    double-zero study for RR or OR); its weight is then 0.
    """

    study: str
    yi: float | None
    sei: float | None
    weight_percent: float
    #: The study's input values (arm-level counts, means, ...), for tables and forest plots.
    data: MappingProxyType[str, float] = field(default_factory=lambda: MappingProxyType({}))
    #: Why the study does not contribute, if it does not.
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``study, yi, sei, weight_percent``."""
        return {
            "study": self.study,
            "yi": _clean(self.yi),
            "sei": _clean(self.sei),
            "weight_percent": _clean(self.weight_percent),
        }


@dataclass(frozen=True, slots=True)
class PooledResult:
    """A fitted meta-analysis: pooled estimate, heterogeneity and per-study contributions.

    Everything is on the analysis scale; ``I2``, ``I2_Q`` and their CI are in percent. Values that
    are undefined for the model (for example a prediction interval for a fixed-effect model or for
    k < 3) are None.
    """

    measure: str
    method: str
    hksj: bool
    k: int
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    pval: float | None
    tau2: float | None
    tau2_ci_low: float | None
    tau2_ci_high: float | None
    I2: float | None
    I2_Q: float | None
    I2_ci_low: float | None
    I2_ci_high: float | None
    H2: float | None
    Q: float | None
    Q_df: int
    Q_pval: float | None
    pi_low: float | None
    pi_high: float | None
    studies: tuple[StudyEstimate, ...]
    #: Test statistic for the pooled estimate: z, or t with ``df`` degrees of freedom (HKSJ).
    statistic: float | None = None
    df: int | None = None
    #: Studies left out of the analysis, with the reason.
    excluded: tuple[tuple[str, str], ...] = ()
    #: Options the result was computed with (zero-cell rule, ...), and the metafuse version.
    options: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    version: str = ""

    @property
    def is_ratio(self) -> bool:
        """True for RR and OR (analysed as logs, shown as ratios)."""
        return self.measure in RATIO_MEASURES

    @property
    def is_random(self) -> bool:
        """True for random-effects models."""
        return self.method in RANDOM_METHODS

    def to_dict(self) -> dict[str, Any]:
        """The contract dictionary: the keys of :data:`RESULT_KEYS`, ``studies`` and, for RR and
        OR, ``exp`` (estimate, CI and prediction interval on the ratio scale)."""
        out: dict[str, Any] = {}
        for key in RESULT_KEYS:
            value = getattr(self, key)
            if isinstance(value, bool | str) or key in ("k", "Q_df"):
                out[key] = value
            else:
                out[key] = _clean(value)
        out["studies"] = [s.to_dict() for s in self.studies]
        if self.is_ratio:
            out["exp"] = {
                key: (None if out[key] is None else math.exp(out[key])) for key in EXP_KEYS
            }
        return out

    def back_transformed(self) -> dict[str, float | None]:
        """Estimate, CI and prediction interval on the scale people read.

        RR/OR: ratios (exp); PLO: proportions (inverse logit); PFT: proportions by Miller's (1978)
        inverse with the harmonic mean of the study sizes; other measures unchanged.
        """
        values = {key: getattr(self, key) for key in EXP_KEYS}
        if self.measure in RATIO_MEASURES:
            return {k: None if v is None else math.exp(v) for k, v in values.items()}
        if self.measure == "PLO":
            return {k: None if v is None else 1 / (1 + math.exp(-v)) for k, v in values.items()}
        if self.measure == "PFT":
            from metafuse.effects import inverse_freeman_tukey

            sizes = [s.data["n"] for s in self.studies if s.yi is not None]
            n_hm = len(sizes) / sum(1 / n for n in sizes)
            return {k: None if v is None else float(inverse_freeman_tukey(v, n_hm))
                    for k, v in values.items()}  # fmt: skip
        return values

    def __str__(self) -> str:
        from metafuse.printing import format_result

        return format_result(self)
