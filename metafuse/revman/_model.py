"""Results of reading a RevMan 5 file: one :class:`RevManOutcome` per analysed outcome."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from metafuse.measures import TABLE_METHODS
from metafuse.revman._codes import CONVENTION

if TYPE_CHECKING:
    from metafuse.model import Model
    from metafuse.results import PooledResult


@dataclass(frozen=True, eq=False)
class StoredResults:
    """The numbers RevMan 5 stored for one outcome (or one subgroup), as written in the file.

    RevMan writes full double precision (Java's shortest round-trip decimal). A value RevMan did
    not compute (an empty attribute) is ``None``. Ratio measures (RR, OR, Peto OR, ratio-scale
    generic outcomes) are stored on the ratio scale; :attr:`log_estimate` gives the analysis scale.

    Attributes
    ----------
    ratio
        Whether ``estimate``, ``ci_low``, ``ci_high`` and the per-study effects are ratios.
    estimate, ci_low, ci_high
        Pooled effect and its confidence interval (``EFFECT_SIZE``, ``CI_START``, ``CI_END``).
    q, df, p_q
        Heterogeneity chi-squared (``CHI2``), its degrees of freedom (``DF``, estimable study
        rows minus one) and P value (``P_CHI2``).
    i2
        I-squared in percent (``I2``).
    tau2
        DerSimonian-Laird tau-squared (``TAU2``); RevMan writes 0 for fixed-effect analyses.
    z, p_z
        Test of the overall effect: ``|estimate| / SE`` on the analysis scale (``Z``) and its
        two-sided P value (``P_Z``).
    weight
        Total weight in percent (``WEIGHT``): 100 for an outcome, the subgroup's share otherwise.
    q_subgroups, p_subgroups, i2_subgroups
        Test for subgroup differences (``Q``, ``P_Q``, ``I2_Q``); ``None`` for a subgroup.
    studies
        RevMan's per-study results, one row per study row of the outcome (or subgroup): columns
        ``study``, ``effect``, ``ci_low``, ``ci_high``, ``se`` (analysis scale), ``weight``
        (percent of the outcome's total) and ``estimable``.
    n_studies
        RevMan's count of distinct studies (``STUDIES``; rows of one study count once).
    estimable
        ``ESTIMABLE``: ``False`` when RevMan could not pool (no study, or none estimable); it
        then writes zeros (and ``NaN`` for ``TAU2``) as placeholders, not results.
    """

    ratio: bool
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    q: float | None
    df: float | None
    p_q: float | None
    i2: float | None
    tau2: float | None
    z: float | None
    p_z: float | None
    weight: float | None
    q_subgroups: float | None
    p_subgroups: float | None
    i2_subgroups: float | None
    studies: pd.DataFrame
    n_studies: int | None
    estimable: bool

    @property
    def weights(self) -> Mapping[str, float]:
        """Per-study weight in percent of the outcome's total, by study label."""
        frame = self.studies
        return MappingProxyType(
            {s: float(w) for s, w in zip(frame["study"], frame["weight"], strict=True)}
        )

    @property
    def log_estimate(self) -> float | None:
        """The pooled estimate on the analysis scale (natural log for ratio measures)."""
        if self.estimate is None:
            return None
        if not self.ratio:
            return self.estimate
        return math.log(self.estimate) if self.estimate > 0 else None


@dataclass(frozen=True, eq=False)
class RevManSubgroup:
    """One subgroup of an outcome (``DICH_SUBGROUP``, ``CONT_SUBGROUP``, ``IV_SUBGROUP``).

    Attributes
    ----------
    id
        RevMan's subgroup ID, e.g. ``CMP-001.02.01``.
    name
        Subgroup name; the same text fills the ``subgroup`` column of the outcome's data.
    stored
        RevMan's stored results for the subgroup.
    """

    id: str
    name: str
    stored: StoredResults


@dataclass(frozen=True, eq=False)
class RevManOutcome:
    """One outcome of a RevMan 5 review: its study data, settings and RevMan's stored results.

    Attributes
    ----------
    id
        RevMan's outcome ID, e.g. ``CMP-001.01`` (comparison 1, outcome 1).
    name
        Outcome name.
    comparison
        Name of the comparison holding the outcome.
    comparison_id
        RevMan's comparison ID, e.g. ``CMP-001``.
    kind
        ``"dichotomous"``, ``"continuous"`` or ``"generic"`` (generic inverse variance).
    measure
        metafuse measure code: ``RR``, ``OR``, ``RD``, ``MD``, ``SMD`` or ``GEN``.
    method
        RevMan's pooling method: ``MH``, ``IV`` or ``PETO`` (continuous and generic: ``IV``).
    random
        Whether RevMan pooled with its random-effects (DerSimonian-Laird) model.
    ratio
        Whether the effect is a ratio (analysed on the log scale). For ``GEN`` outcomes this
        says that ``yi`` holds log ratios.
    data
        Study data in metafuse's CSV columns: ``study`` then ``events_exp, n_exp, events_ctrl,
        n_ctrl`` (dichotomous), ``mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl``
        (continuous) or ``yi, sei`` (generic), plus ``subgroup`` when the outcome has subgroups.
        Group 1 of RevMan is the experimental group. One row per study row of the file, in file
        order. A label used by several rows (one study entered once per arm) is made unique
        as metafuse's data checks do: ``Feltner 2003a``, ``Feltner 2003b``; ``study_ids`` keeps
        RevMan's ``STUDY_ID`` of each row.
    stored
        RevMan's stored totals for the outcome.
    subgroups
        The outcome's subgroups with their stored results (empty without subgroups).
    settings
        The outcome's statistical settings as read (see :func:`metafuse.revman.read_rm5`).
    study_ids
        RevMan's ``STUDY_ID`` of each data row.
    """

    id: str
    name: str
    comparison: str
    comparison_id: str
    kind: str
    measure: str
    method: str
    random: bool
    ratio: bool
    data: pd.DataFrame
    stored: StoredResults
    subgroups: tuple[RevManSubgroup, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    study_ids: tuple[str, ...] = ()

    def pool(self, subgroup: str | None = None) -> PooledResult:
        """Pool the outcome, or one subgroup, with the outcome's RevMan settings.

        Method, fixed or random effects, measure, level, swapped events, and RevMan 5's conventions
        (``convention="revman5"``).

        Parameters
        ----------
        subgroup : str, optional
            The name of a subgroup to pool alone.

        Returns
        -------
        PooledResult
            The pooled outcome.
        """
        from metafuse.revman.pooling import pool_outcome

        return pool_outcome(self, subgroup)

    def model(self) -> Model:
        """Return the model RevMan 5 fitted to the outcome, under RevMan 5's conventions.

        The method as a metafuse code: ``MH``, ``PETO`` or ``FE`` (inverse-variance fixed
        effect) for fixed-effect outcomes and ``DL`` for random-effects ones; the confidence level
        of the totals (``CI_TOTAL``); ``q_from="mh"`` for a random-effects Mantel-Haenszel
        outcome ("M-H, Random"), whose heterogeneity statistic, and so tau-squared, RevMan
        computes around the Mantel-Haenszel estimate, not the inverse-variance one.

        Returns
        -------
        Model
            ``Model.from_convention("revman5", ...)`` with the options the outcome sets.
        """
        from metafuse.model import Model

        if self.random:
            method = "DL"
        elif self.method in TABLE_METHODS:
            method = self.method
        else:
            method = "FE"
        level = self.settings.get("ci_total")
        return Model.from_convention(
            CONVENTION,
            measure=self.measure,
            method=method,
            level=level / 100.0 if level is not None and not math.isclose(level, 95.0) else None,
            q_from="mh" if self.random and self.method == "MH" else None,
        )

    def pool_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``metafuse.pool(outcome.data, **arguments)``.

        The options of :meth:`model` (``measure``, ``method``, ``convention="revman5"``, and
        ``level`` and ``q_from`` when the outcome sets them). Two more keys, which describe the
        data rather than the model, appear only when needed:

        - ``ratio=True``: a generic inverse-variance outcome of ratios (``yi`` are log ratios);
        - ``swap_events=True``: RevMan analysed non-events (``SWAP_EVENTS="YES"``).

        ``swap_events`` is not an argument of ``metafuse.pool`` (which fails loudly on it): it
        says the data's events are to be turned into non-events first, as :meth:`pool` does.
        """
        arguments = self.model().arguments()
        if self.measure == "GEN" and self.ratio:
            arguments["ratio"] = True
        if self.settings.get("swap_events"):
            arguments["swap_events"] = True
        return arguments
