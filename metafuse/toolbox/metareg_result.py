"""A fitted meta-regression.

Its coefficients, predictions at new moderator values, the Q-profile CI of the residual tau^2,
influence diagnostics and cluster-robust inference (metafor's ``predict``, ``confint``,
``influence`` and ``robust`` for ``rma.uni`` models with moderators).

References
----------
Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis. Res Synth
    Methods 1:112-125.
Hedges LV, Tipton E, Johnson MC (2010). Robust variance estimation in meta-regression with
    dependent effect size estimates. Res Synth Methods 1:39-65 (cluster-robust standard errors;
    the small-sample factor n/(n - p) of Huber-White "CR1").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from metafuse._arrays import FloatArray
from metafuse._deprecation import deprecated
from metafuse.engine.inverse_variance import normal_quantile, t_quantile, wald_test
from metafuse.engine.mixed import MixedFit, fit_mixed_many, omnibus_test
from metafuse.engine.problem import Problem, fit_weighted, trace_p
from metafuse.engine.tau2 import GENERALISED_Q_METHODS, tau2_interval
from metafuse.result_protocol import ResultMixin, p_text, short
from metafuse.results import PooledResult
from metafuse.toolbox._inputs import estimator_weights
from metafuse.toolbox.inference import HeterogeneityInterval
from metafuse.toolbox.influence import Influence


@dataclass(frozen=True, repr=False)
class RobustInference(ResultMixin):
    """Cluster-robust (Huber-White) tests of a meta-regression's coefficients."""

    title = "Cluster-robust inference"
    names: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    statistic: tuple[float, ...]
    pval: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    #: The sandwich covariance of the coefficients (rows).
    vcov: tuple[tuple[float, ...], ...]
    QM: float
    QM_pval: float
    #: Degrees of freedom of the t tests (clusters - coefficients).
    df: int
    clusters: int
    #: Whether the small-sample factor n/(n - p) was applied.
    adjust: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the values as a dictionary.

        Return names, coef, se, statistic, pval, ci_low, ci_high (lists), vcov (rows), QM, QM_pval,
        df, clusters and adjust.
        """
        return {
            "names": list(self.names),
            "coef": list(self.coef),
            "se": list(self.se),
            "statistic": list(self.statistic),
            "pval": list(self.pval),
            "ci_low": list(self.ci_low),
            "ci_high": list(self.ci_high),
            "vcov": [list(row) for row in self.vcov],
            "QM": self.QM,
            "QM_pval": self.QM_pval,
            "df": self.df,
            "clusters": self.clusters,
            "adjust": self.adjust,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row per coefficient: name, coef, se, statistic, pval, ci_low, ci_high."""
        return pd.DataFrame(
            {
                "name": self.names,
                "coef": self.coef,
                "se": self.se,
                "statistic": self.statistic,
                "pval": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def _headline(self) -> str:
        return (
            f"{self.clusters} clusters, t({self.df}); QM = {short(self.QM)}, {p_text(self.QM_pval)}"
        )


@dataclass(frozen=True, eq=False, repr=False)
class MetaRegression(ResultMixin):
    """A mixed-effects meta-regression of the studies of ``result`` on the design ``X``."""

    title = "Meta-regression"
    result: PooledResult
    fit: MixedFit
    labels: tuple[str, ...]
    y: FloatArray
    v: FloatArray
    X: FloatArray
    R2: float
    #: Whether the Hartung-Knapp-Sidik-Jonkman (Knapp-Hartung) adjustment was applied.
    hksj: bool

    @property
    def knha(self) -> bool:
        """Deprecated name of :attr:`hksj`."""
        deprecated("MetaRegression.knha", "MetaRegression.hksj")
        return self.hksj

    def _headline(self) -> str:
        f = self.fit
        mods = ", ".join(f.names[1:]) or "intercept only"
        stat = "QM" if f.df is None else f"F({f.QM_df[0]}, {f.QM_df[1]})"
        return (
            f"{self.result.measure} {self.result.method}{'+HKSJ' if self.hksj else ''} "
            f"k={f.k} on {mods}: {stat} = {short(f.QM)}, {p_text(f.QM_pval)}; "
            f"tau^2 = {short(f.tau2)}, R² = {self.R2:.1f}%"
        )

    def _summary_rows(self) -> list[tuple[str, str]]:
        f = self.fit
        return [
            ("Residual tau^2", short(f.tau2)),
            ("Residual heterogeneity", f"QE = {short(f.QE)}, {p_text(f.QE_pval)}"),
            ("Moderators", f"QM = {short(f.QM)}, {p_text(f.QM_pval)}"),
            ("R² (percent)", f"{self.R2:.1f}"),
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return the values as a dictionary.

        names, coef, se, pval, ci_low, ci_high (lists), tau2, QM, QM_pval, QM_df, QE, QE_pval, R2,
        k, hksj, and vcov (the coefficients' covariance, a list of rows).
        """
        f = self.fit
        return {
            "names": list(f.names),
            "coef": f.coef.tolist(),
            "se": f.se.tolist(),
            "pval": f.pval.tolist(),
            "ci_low": f.ci_low.tolist(),
            "ci_high": f.ci_high.tolist(),
            "tau2": f.tau2,
            "QM": f.QM,
            "QM_pval": f.QM_pval,
            "QM_df": list(f.QM_df),
            "QE": f.QE,
            "QE_pval": f.QE_pval,
            "R2": self.R2,
            "k": f.k,
            "hksj": self.hksj,
            "vcov": f.vcov.tolist(),
        }

    def __getitem__(self, key: str) -> Any:
        """Return a value of :meth:`to_dict` (deprecated: use the attributes or ``to_dict()``)."""
        deprecated(f"MetaRegression[{key!r}]", f"MetaRegression.to_dict()[{key!r}]")
        values = self.to_dict()
        return self.hksj if key == "knha" else values[key]

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: name, coef, se, statistic, pval, ci_low, ci_high."""
        f = self.fit
        return pd.DataFrame(
            {
                "name": f.names,
                "coef": f.coef,
                "se": f.se,
                "statistic": f.statistic,
                "pval": f.pval,
                "ci_low": f.ci_low,
                "ci_high": f.ci_high,
            }
        )

    def _crit(self, level: float) -> float:
        if self.fit.df is None:
            return normal_quantile(level)
        return float(t_quantile(level, self.fit.df))

    def predict(
        self,
        newmods: Sequence[float] | Sequence[Sequence[float]] | FloatArray,
        level: float | None = None,
    ) -> pd.DataFrame:
        """Predict the effect at moderator values (an intercept is added).

        Parameters
        ----------
        newmods : array_like
            One row of moderator values per prediction (a 1-D array for one moderator).
        level : float, optional
            Coverage (default: the result's).

        Returns
        -------
        pandas.DataFrame
            ``pred, se, ci_low, ci_high, pi_low, pi_high``, the prediction interval being
            ``pred +/- crit sqrt(se^2 + tau^2)``. A plain table: predictions are new values, not a
            fitted result.
        """
        level = self.result.level if level is None else level
        x = np.asarray(newmods, dtype=np.float64)
        x = x.reshape(-1, 1) if x.ndim == 1 and self.X.shape[1] == 2 else np.atleast_2d(x)
        design = np.column_stack([np.ones(len(x)), x])
        if design.shape[1] != self.X.shape[1]:
            raise ValueError(f"give {self.X.shape[1] - 1} moderator value(s) per prediction")
        pred = design @ self.fit.coef
        se = np.sqrt(np.einsum("np,pq,nq->n", design, self.fit.vcov, design))
        c = self._crit(level)
        half = c * np.sqrt(se**2 + self.fit.tau2)
        return pd.DataFrame(
            {
                "pred": pred,
                "se": se,
                "ci_low": pred - c * se,
                "ci_high": pred + c * se,
                "pi_low": pred - half,
                "pi_high": pred + half,
            }
        )

    def tau2_confint(self, level: float | None = None) -> HeterogeneityInterval:
        """CI of the residual tau^2 (and I^2, H^2, with s^2 = (k - p) / tr P).

        The Q-profile interval, or the generalised Q interval for GENQ and GENQM fits
        (Jackson 2013; metafor's ``confint``).

        Parameters
        ----------
        level : float, optional
            Coverage (default: the result's).

        Returns
        -------
        HeterogeneityInterval
            tau^2, tau, I^2 and H^2 with their intervals.
        """
        level = self.result.level if level is None else level
        problem = Problem.of(self.y, self.v, X=self.X)
        interval = tau2_interval(problem, self.result.method, level, estimator_weights(self.result))
        lo, hi = (float(a[0]) for a in interval)
        p0 = fit_weighted(problem, problem.weights(0.0))
        s2 = float((len(self.y) - self.X.shape[1]) / trace_p(problem, p0)[0])
        values = (self.fit.tau2, lo, hi)
        return HeterogeneityInterval(
            tau2=values,
            tau=tuple(float(np.sqrt(t)) for t in values),  # type: ignore[arg-type]
            I2=tuple(100 * t / (t + s2) for t in values),  # type: ignore[arg-type]
            H2=tuple(t / s2 + 1 for t in values),  # type: ignore[arg-type]
            type="GENQ" if self.result.method in GENERALISED_Q_METHODS else "QP",
            level=level,
        )

    def influence(self) -> Influence:
        """Case diagnostics of every study, from one batch of leave-one-out refits.

        Returns
        -------
        Influence
            rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight, and DFBETAS per
            coefficient (``dfbs_<name>``).
        """
        k, p = self.X.shape
        f = self.fit
        keep = ~np.eye(k, dtype=bool)
        dels = fit_mixed_many(
            np.broadcast_to(self.y, (k, k)),
            np.broadcast_to(self.v, (k, k)),
            np.broadcast_to(self.X, (k, k, p)),
            self.result.method,
            self.hksj,
            mask=keep,
        )
        w = 1.0 / (self.v + f.tau2)
        bread = np.linalg.inv(self.X.T @ (self.X * w[:, None]))
        hat = w * np.einsum("ip,pq,iq->i", self.X, bread, self.X)
        diff = f.coef[None, :] - dels.coef
        fitted_diff = np.einsum("ip,ip->i", self.X, diff)
        xvx = np.einsum("ip,ipq,iq->i", self.X, dels.vcov, self.X)
        s2w = dels.scale
        resid = self.y - np.einsum("ip,ip->i", self.X, dels.coef)
        # DFBETAS scale by the covariance of all k studies at the deleted tau^2 (metafor's choice)
        w_del = 1.0 / (self.v[None, :] + dels.tau2[:, None])
        vb_all = np.linalg.inv(np.einsum("ik,kp,kq->ipq", w_del, self.X, self.X))
        return Influence(
            study=self.labels,
            rstudent=resid / np.sqrt(s2w * (self.v + dels.tau2) + xvx),
            dffits=fitted_diff / np.sqrt(s2w * hat * (dels.tau2 + self.v)),
            cook_d=np.einsum("ip,pq,iq->i", diff, np.linalg.inv(f.vcov), diff),
            cov_r=np.linalg.det(dels.vcov) / np.linalg.det(f.vcov),
            tau2_del=dels.tau2,
            QE_del=dels.QE,
            hat=hat,
            weight=100 * w / w.sum(),
            result=self.result,
            dfbetas=tuple(
                (name, diff[:, j] / np.sqrt(s2w * vb_all[:, j, j]))
                for j, name in enumerate(f.names)
            ),
        )

    def robust(self, cluster: Sequence[object], adjust: bool = True) -> RobustInference:
        """Cluster-robust (Huber-White) inference (metafor's ``robust(..., clubSandwich = FALSE)``).

        Parameters
        ----------
        cluster : sequence
            One cluster label per study.
        adjust : bool, optional
            Multiply the sandwich covariance by ``n/(n - p)`` (n clusters).

        Returns
        -------
        RobustInference
            t tests with n - p degrees of freedom and the omnibus test.

        References
        ----------
        Hedges LV, Tipton E, Johnson MC (2010). Robust variance estimation in meta-regression with
        dependent effect size estimates. Res Synth Methods 1:39-65.
        """
        k, p = self.X.shape
        ids = pd.Series(list(cluster), dtype=object)
        if len(ids) != k:
            raise ValueError(f"give one cluster label per study ({k}), got {len(ids)}")
        w = 1.0 / (self.v + self.fit.tau2)
        bread = np.linalg.inv(self.X.T @ (self.X * w[:, None]))
        scores = self.X * (w * (self.y - self.X @ self.fit.coef))[:, None]
        groups = pd.DataFrame(scores).groupby(ids.to_numpy()).sum().to_numpy()
        n = groups.shape[0]
        if n <= p:
            raise ValueError(f"{n} clusters cannot give robust inference on {p} coefficients")
        vcov = bread @ (groups.T @ groups) @ bread * (n / (n - p) if adjust else 1.0)
        se = np.sqrt(np.diag(vcov))
        df = n - p
        stat, pval, lo, hi = wald_test(self.fit.coef, se, np.full(p, float(df)), self.result.level)
        if p > 1:
            qm, _, qm_p = omnibus_test(self.fit.coef, vcov, df)
        else:
            qm = float(stat[0] ** 2)
            qm_p = float(special.fdtrc(1, df, qm))
        return RobustInference(
            names=tuple(self.fit.names),
            coef=tuple(self.fit.coef.tolist()),
            se=tuple(se.tolist()),
            statistic=tuple(stat.tolist()),
            pval=tuple(pval.tolist()),
            ci_low=tuple(lo.tolist()),
            ci_high=tuple(hi.tolist()),
            vcov=tuple(tuple(row) for row in vcov.tolist()),
            QM=float(qm),
            QM_pval=float(qm_p),
            df=df,
            clusters=n,
            adjust=adjust,
        )
