"""The results of the small-study tests of :mod:`metafuse.toolbox.bias`.

Egger's and Peters' slope tests, the rank correlation test and the regression test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from metafuse.result_protocol import ResultMixin, p_text, short


@dataclass(frozen=True, repr=False)
class SlopeTest(ResultMixin):
    """Egger's or Peters' test: the t test of the slope of a weighted regression.

    ``statistic`` and ``pval`` are None, with a ``note``, when the test is not estimable.
    """

    #: Which test ("Egger's test", "Peters' test").
    test: str
    #: Number of studies.
    k: int
    statistic: float | None
    #: Degrees of freedom of the t statistic (k - 2).
    df: int
    pval: float | None
    slope: float | None
    note: str | None = None

    def _title(self) -> str:
        return self.test

    def to_dict(self) -> dict[str, Any]:
        """Return ``statistic, df, pval, slope`` and, when not estimable, ``note``."""
        out: dict[str, Any] = {
            "statistic": self.statistic,
            "df": self.df,
            "pval": self.pval,
            "slope": self.slope,
        }
        if self.note is not None:
            out["note"] = self.note
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return one row: ``test, k`` and the values of :meth:`to_dict`."""
        return pd.DataFrame([{"test": self.test, "k": self.k, **self.to_dict()}])

    def _headline(self) -> str:
        if self.statistic is None:
            return f"{self.test} k={self.k}: {self.note}"
        return (
            f"{self.test} k={self.k}: t({self.df}) = {short(self.statistic)}, {p_text(self.pval)}"
        )

    def _table(self) -> None:
        return None

    def _summary_rows(self) -> list[tuple[str, str]]:
        return [("slope", short(self.slope))]


@dataclass(frozen=True, repr=False)
class RankTest(ResultMixin):
    """Begg and Mazumdar's rank correlation test: Kendall's tau and its P value.

    ``tau`` and ``pval`` are None, with a ``note``, when the test is not estimable.
    """

    title = "Rank correlation test"
    #: Number of studies.
    k: int
    tau: float | None
    pval: float | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return ``tau, pval`` and, when not estimable, ``note``."""
        out: dict[str, Any] = {"tau": self.tau, "pval": self.pval}
        if self.note is not None:
            out["note"] = self.note
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return one row: ``k`` and the values of :meth:`to_dict`."""
        return pd.DataFrame([{"k": self.k, **self.to_dict()}])

    def _headline(self) -> str:
        if self.tau is None:
            return f"k={self.k}: {self.note}"
        return f"k={self.k}: Kendall's tau = {short(self.tau)}, {p_text(self.pval)}"

    def _table(self) -> None:
        return None


@dataclass(frozen=True, repr=False)
class RegressionTest(ResultMixin):
    """A regression test for funnel-plot asymmetry (metafor's ``regtest``).

    The slope on the predictor is tested; the intercept ``est`` is the limit estimate (the effect
    of a study of infinite precision), with its confidence interval.
    """

    title = "Regression test for funnel-plot asymmetry"
    statistic: float
    #: Degrees of freedom of the t statistic, or None for a z statistic.
    df: int | None
    pval: float
    slope: float
    slope_se: float
    #: The limit estimate and its CI (None for the ``ni`` predictor, as in metafor).
    est: float | None
    ci_low: float | None
    ci_high: float | None
    #: ``rma`` (meta-regression with the model's method) or ``lm`` (weighted least squares).
    model: str
    #: ``sei``, ``vi``, ``ni``, ``ninv`` or ``sqrtninv``.
    predictor: str

    def to_dict(self) -> dict[str, Any]:
        """Return the values as a dictionary.

        Return ``statistic, df, pval, slope, slope_se, est, ci_low, ci_high, model, predictor``.
        """
        return {
            "statistic": self.statistic,
            "df": self.df,
            "pval": self.pval,
            "slope": self.slope,
            "slope_se": self.slope_se,
            "est": self.est,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "model": self.model,
            "predictor": self.predictor,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row with the values of :meth:`to_dict`."""
        return pd.DataFrame([self.to_dict()])

    def _headline(self) -> str:
        stat = "z" if self.df is None else f"t({self.df})"
        return (
            f"{self.model}, {self.predictor}: {stat} = {short(self.statistic)}, "
            f"{p_text(self.pval)}; limit estimate {short(self.est)} "
            f"[{short(self.ci_low)}, {short(self.ci_high)}]"
        )

    def _table(self) -> None:
        return None
