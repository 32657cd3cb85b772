"""Immutable results: study effect sizes and pooled meta-analyses, on the analysis scale.

A :class:`PooledResult` carries the :class:`EffectSizes` it was fitted to and the options it was
fitted with, so that the toolbox (leave-one-out, small-study tests, subgroups, ...) and the plots
take a result, never raw data. Conversion to the display scale happens only through the result's
:class:`~metafuse.effects.scales.Scale`; printing lives in :mod:`metafuse.text`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from metafuse._arrays import BoolArray, FloatArray
from metafuse.effects.scales import Scale, scale_for
from metafuse.measures import RANDOM_METHODS
from metafuse.model import Model
from metafuse.result_protocol import ResultMixin

if TYPE_CHECKING:
    import pandas as pd

#: Keys of :meth:`PooledResult.to_dict`, in order (the public contract; keep exactly).
RESULT_KEYS = (
    "measure",
    "method",
    "hksj",
    "k",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "pval",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "I2",
    "I2_Q",
    "I2_ci_low",
    "I2_ci_high",
    "H2",
    "Q",
    "Q_df",
    "Q_pval",
    "pi_low",
    "pi_high",
)
EXP_KEYS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")


def clean(x: Any) -> float | None:
    """Return a Python float, with nan, inf and None all mapped to None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """Study effect sizes ``yi`` and sampling variances ``vi`` on the analysis scale.

    ``labels`` are unique (duplicates in the input are disambiguated); ``yi``/``vi`` are nan for
    a study that is not estimable, whose reason is in ``notes``. ``data`` holds each study's input
    values (arm counts, means, ...) for tables, forest plots and methods that need raw counts
    (Mantel-Haenszel, Peto). ``excluded`` lists input rows left out before any effect size could
    be computed (no data), with the reason. ``options`` are the effect-size options (zero-cell
    rule, ...).
    """

    measure: str
    labels: tuple[str, ...]
    yi: FloatArray
    vi: FloatArray
    data: tuple[MappingProxyType[str, float], ...]
    notes: tuple[str | None, ...]
    scale: Scale
    excluded: tuple[tuple[str, str], ...] = ()
    options: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: 0-based position of each study's row in the input data (empty when given as arrays).
    rows: tuple[int, ...] = ()
    #: User weights of the pooled estimate (metafor's ``weights``), one per study, or None.
    weights: FloatArray | None = None

    def __post_init__(self) -> None:
        """Make the arrays read-only."""
        for arr in (self.yi, self.vi, self.weights):
            if arr is not None:
                arr.flags.writeable = False

    @classmethod
    def from_arrays(
        cls,
        measure: str,
        labels: Sequence[str],
        yi: Sequence[float] | FloatArray,
        vi: Sequence[float] | FloatArray,
        *,
        scale: Scale | None = None,
        data: Sequence[MappingProxyType[str, float]] | None = None,
    ) -> EffectSizes:
        """Build effect sizes given directly (analysis scale); every study is taken as estimable.

        Parameters
        ----------
        measure : str
            The measure (``GEN`` for generic estimates).
        labels : sequence of str
            Study labels.
        yi, vi : array_like
            Effect sizes and sampling variances.
        scale : Scale, optional
            The display scale (default: the measure's).
        data : sequence of mapping, optional
            Each study's input values (default: ``yi`` and ``sei``).

        Returns
        -------
        EffectSizes
            The effect sizes.
        """
        y, v = np.array(yi, dtype=np.float64), np.array(vi, dtype=np.float64)
        rows = (
            data
            if data is not None
            else [
                MappingProxyType({"yi": float(a), "sei": float(np.sqrt(b))})
                for a, b in zip(y, v, strict=True)
            ]
        )
        return cls(
            measure=measure,
            labels=tuple(labels),
            yi=y,
            vi=v,
            data=tuple(rows),
            notes=(None,) * len(y),
            scale=scale or scale_for(measure),
        )

    @property
    def k(self) -> int:
        """Number of studies (estimable or not)."""
        return len(self.labels)

    @property
    def estimable(self) -> BoolArray:
        """True for studies with a finite effect size and a positive variance."""
        return np.isfinite(self.yi) & np.isfinite(self.vi) & (self.vi > 0)

    def column(self, name: str) -> FloatArray:
        """One input column as a float array (nan where a study lacks it).

        Parameters
        ----------
        name : str
            The column.

        Returns
        -------
        numpy.ndarray
            One value per study.
        """
        return np.array([d.get(name, np.nan) for d in self.data], dtype=np.float64)

    def subset(self, keep: Sequence[bool] | Sequence[int] | BoolArray) -> EffectSizes:
        """Return the same effect sizes restricted to some studies.

        Parameters
        ----------
        keep : array_like of bool or int
            Boolean mask or positions.

        Returns
        -------
        EffectSizes
            The subset.
        """
        index = np.arange(self.k)[np.asarray(keep)]
        return EffectSizes(
            measure=self.measure,
            labels=tuple(self.labels[i] for i in index),
            yi=self.yi[index].copy(),
            vi=self.vi[index].copy(),
            data=tuple(self.data[i] for i in index),
            notes=tuple(self.notes[i] for i in index),
            scale=self.scale,
            excluded=self.excluded,
            options=self.options,
            rows=tuple(self.rows[i] for i in index) if self.rows else (),
            weights=None if self.weights is None else self.weights[index].copy(),
        )

    def to_frame(self) -> pd.DataFrame:
        """``study, yi, vi, sei`` and the input columns, one row per study."""
        import pandas as pd

        rows = [
            {"study": s, "yi": y, "vi": v, "sei": math.sqrt(v) if v >= 0 else math.nan, **d}
            for s, y, v, d in zip(self.labels, self.yi, self.vi, self.data, strict=True)
        ]
        return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True)
class StudyEstimate:
    """One study's effect (analysis scale) and its weight in the pooled estimate.

    ``yi``/``sei`` are None for a study that is not estimable for this measure (for example a
    double-zero study for RR or OR); its weight is then 0 and ``note`` says why.
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
            "yi": clean(self.yi),
            "sei": clean(self.sei),
            "weight_percent": clean(self.weight_percent),
        }


@dataclass(frozen=True, repr=False)
class PooledResult(ResultMixin):
    """A fitted meta-analysis: pooled estimate, heterogeneity and per-study contributions.

    Everything is on the analysis scale; ``I2``, ``I2_Q`` and their CI are in percent. Values that
    are undefined for the model (for example a prediction interval for a fixed-effect model) are
    None. ``effects`` are the effect sizes the model was fitted to and ``model`` the
    :class:`~metafuse.model.Model` (``options`` lists its options with the effect-size options:
    ``level``, ``prediction``, ``convention``, ...), so that it can be refitted on a subset
    (:func:`metafuse.pooling.refit`).
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
    #: Options the result was computed with (level, zero-cell rule, ...).
    options: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: The model fitted (measure, method, options; :class:`~metafuse.model.Model`).
    model: Model = field(default_factory=Model)
    version: str = ""
    effects: EffectSizes | None = None
    scale: Scale | None = None
    #: Standard error of the tau^2 estimate (random effects; metafor's ``se.tau2``).
    tau2_se: float | None = None
    #: Method-specific statistics (Mantel-Haenszel: the CMH and Tarone tests), by name.
    extras: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def display_scale(self) -> Scale:
        """The scale the result is shown on (from the measure when not given)."""
        return self.scale or scale_for(self.measure)

    @property
    def is_ratio(self) -> bool:
        """True for ratio measures (analysed as logs, shown as ratios), GEN ratios included."""
        return self.display_scale.is_ratio

    @property
    def is_random(self) -> bool:
        """True for random-effects models."""
        return self.method in RANDOM_METHODS

    @property
    def level(self) -> float:
        """Coverage of the confidence and prediction intervals."""
        return self.model.level

    def effect_ci(self) -> tuple[float, float, float]:
        """``(estimate, ci_low, ci_high)`` on the analysis scale (the result must have them)."""
        if self.estimate is None or self.ci_low is None or self.ci_high is None:
            raise ValueError("the pooled estimate is not available")
        return self.estimate, self.ci_low, self.ci_high

    def estimate_se(self) -> tuple[float, float]:
        """``(estimate, se)`` on the analysis scale (the result must have them)."""
        if self.estimate is None or self.se is None:
            raise ValueError("the pooled estimate is not available")
        return self.estimate, self.se

    def to_dict(self) -> dict[str, Any]:
        """Return the contract dictionary.

        The keys of :data:`RESULT_KEYS`, ``studies`` and, for ratio measures, ``exp`` (estimate, CI
        and prediction interval on the ratio scale).
        """
        out: dict[str, Any] = {}
        for key in RESULT_KEYS:
            value = getattr(self, key)
            out[key] = (
                value if isinstance(value, bool | str) or key in ("k", "Q_df") else clean(value)
            )
        out["studies"] = [s.to_dict() for s in self.studies]
        if self.is_ratio:
            out["exp"] = {key: clean(self.display_scale.display(out[key])) for key in EXP_KEYS}
        return out

    def back_transformed(self) -> dict[str, float | None]:
        """Return the estimate, CI and prediction interval on the scale people read.

        Estimate, CI and prediction interval on the scale people read (ratios for log measures,
        proportions for PLO/PFT; other measures unchanged).
        """
        return {key: clean(self.display_scale.display(getattr(self, key))) for key in EXP_KEYS}

    def summary(self) -> str:
        """Return the readable summary (what ``print(result)`` shows).

        Model, pooled estimate on the display scale, heterogeneity and the studies.
        """
        from metafuse.text.printing import format_result

        return format_result(self)

    def conf_int(self, level: float | None = None) -> tuple[float, float]:
        """Return the confidence interval of the pooled estimate on the display scale.

        Parameters
        ----------
        level : float, optional
            Coverage (default: the result's), with the same z or t(df) reference.

        Returns
        -------
        tuple of float
            ``(low, high)``; ratios for log measures.
        """
        est, se = self.estimate_se()
        if level is None:
            lo, hi = self.effect_ci()[1:]
        else:
            if not 0 < level < 1:
                raise ValueError(f"level must be between 0 and 1, got {level!r}")
            from scipy import special

            tail = (1 - level) / 2
            crit = -(special.stdtrit(self.df, tail) if self.df else special.ndtri(tail))
            lo, hi = est - crit * se, est + crit * se
        scale = self.display_scale
        return float(scale.to_display(lo)), float(scale.to_display(hi))

    def to_frame(self) -> pd.DataFrame:
        """Return one row per study (the study table).

        One row per study: ``study, yi, sei`` (analysis scale), ``estimate, ci_low, ci_high``
        (display scale, normal-theory CI at the result's level), ``weight_percent`` and ``note``
        (why a study does not contribute).
        """
        import pandas as pd
        from scipy import special

        crit = float(-special.ndtri((1 - self.level) / 2))
        scale = self.display_scale
        rows = []
        for s in self.studies:
            est = lo = hi = None
            if s.yi is not None and s.sei is not None:
                est, lo, hi = (
                    scale.display(v) for v in (s.yi, s.yi - crit * s.sei, s.yi + crit * s.sei)
                )
            rows.append(
                {
                    "study": s.study,
                    "yi": s.yi,
                    "sei": s.sei,
                    "estimate": est,
                    "ci_low": lo,
                    "ci_high": hi,
                    "weight_percent": s.weight_percent,
                    "note": s.note,
                }
            )
        columns = ["study", "yi", "sei", "estimate", "ci_low", "ci_high", "weight_percent", "note"]
        frame = pd.DataFrame(rows, columns=columns)
        numeric = columns[1:-1]
        frame[numeric] = frame[numeric].astype(float)
        return frame

    def _headline(self) -> str:
        from metafuse.text.printing import result_headline

        return result_headline(self)

    def _summary_rows(self) -> list[tuple[str, str]]:
        from metafuse.text.printing import result_rows

        return result_rows(self)

    def _title(self) -> str:
        from metafuse.text.printing import model_title

        return model_title(self)
