"""Scales: how each measure is analysed and how it is shown (the one display transform).

Statistics are computed on the analysis scale (log for ratios, logit or double arcsine for
proportions) and transformed only for display, by :meth:`Scale.to_display`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from metafuse._arrays import ArrayLike, FloatArray, as_float
from metafuse.measures import SINGLE_GROUP_MEASURES

Transform = Literal["identity", "exp", "ilogit", "ift"]

#: Name and display transform of each measure code.
MEASURE_SCALES: Final[dict[str, tuple[str, Transform]]] = {
    "RR": ("Risk ratio", "exp"),
    "OR": ("Odds ratio", "exp"),
    "RD": ("Risk difference", "identity"),
    "MD": ("Mean difference", "identity"),
    "SMD": ("Standardised mean difference", "identity"),
    "GEN": ("Estimate", "identity"),
    "PLO": ("Proportion", "ilogit"),
    "PFT": ("Proportion", "ift"),
    "IRR": ("Incidence rate ratio", "exp"),
    "IRD": ("Incidence rate difference", "identity"),
    "IRLN": ("Incidence rate", "exp"),
    "PETO": ("Peto odds ratio", "exp"),
    "SMCR": ("Standardised mean change (raw-score standardisation)", "identity"),
    "SMCC": ("Standardised mean change (change-score standardisation)", "identity"),
    "SMCRH": ("Standardised mean change (raw-score, heteroscedastic)", "identity"),
    "MC": ("Mean change", "identity"),
}
#: What the analysis scale is called, by transform.
ANALYSIS_PREFIX: Final = {"exp": "log ", "ilogit": "logit ", "ift": "double-arcsine "}


@dataclass(frozen=True)
class Scale:
    """The scale of one analysis: its name, unit and display transform.

    ``name`` says what the numbers are ("Mean difference"), ``unit`` in what ("points"), and
    ``transform`` how analysis-scale values become displayed ones: ``exp`` for ratios, ``ilogit``
    and ``ift`` (Miller's inverse of the Freeman-Tukey transform, with the harmonic mean of the
    study sizes ``n_harmonic``) for proportions.
    """

    measure: str
    name: str
    transform: Transform = "identity"
    unit: str | None = None
    n_harmonic: float | None = None

    @property
    def is_ratio(self) -> bool:
        """True for ratios (analysed as logs, shown as ratios)."""
        return self.transform == "exp"

    @property
    def label(self) -> str:
        """'Mean difference (points)', 'Risk ratio'."""
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def analysis_label(self) -> str:
        """The analysis scale: 'log risk ratio', 'mean difference'."""
        return ANALYSIS_PREFIX.get(self.transform, "") + self.name[0].lower() + self.name[1:]

    @property
    def null(self) -> float | None:
        """The value of no effect on the display scale (None for single-group measures.

        The value of no effect on the display scale (None for single-group measures: proportions and
        rates).
        """
        if self.measure in SINGLE_GROUP_MEASURES:
            return None
        return {"exp": 1.0, "identity": 0.0}.get(self.transform)

    def to_display(self, x: ArrayLike) -> FloatArray:
        """Analysis-scale values on the display scale (nan stays nan; overflow gives inf)."""
        v = as_float(x)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.transform == "exp":
                return np.exp(v)
            if self.transform == "ilogit":
                return 1.0 / (1.0 + np.exp(-v))
            if self.transform == "ift":
                from metafuse.effects.proportions import inverse_freeman_tukey

                return inverse_freeman_tukey(v, float(self.n_harmonic or 1.0))
        return v

    def display(self, x: float | None) -> float | None:
        """One value on the display scale (None stays None)."""
        return None if x is None else float(self.to_display(x))


def scale_for(
    measure: str,
    *,
    ratio: bool = False,
    name: str | None = None,
    unit: str | None = None,
    n_harmonic: float | None = None,
) -> Scale:
    """Return the scale of a measure code; ``ratio`` marks generic (GEN) rows given as ratios."""
    default_name, transform = MEASURE_SCALES.get(measure, ("Estimate", "identity"))
    if measure == "GEN" and ratio:
        transform = "exp"
        default_name = "Ratio"
    return Scale(measure, name or default_name, transform, unit, n_harmonic)
