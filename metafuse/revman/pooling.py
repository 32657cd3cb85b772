"""Pool a RevMan 5 outcome as RevMan did, and set the result beside RevMan's stored numbers.

RevMan 5's conventions (Deeks & Higgins 2010; checked on real files, see
``tests/fixtures/revman/README.md``) are metafuse's ``revman5`` preset; an outcome's own settings
(method, fixed or random, measure, confidence level, swapped events) come from the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from metafuse.pooling import pool
from metafuse.results import PooledResult

if TYPE_CHECKING:
    from metafuse.revman._model import RevManOutcome, StoredResults


def outcome_data(outcome: RevManOutcome, subgroup: str | None = None) -> pd.DataFrame:
    """Return the outcome's study data as metafuse pools it.

    One subgroup's rows when ``subgroup`` is given, and events turned into non-events where RevMan
    analysed those (``SWAP_EVENTS``).
    """
    data = outcome.data
    if subgroup is not None:
        if "subgroup" not in data.columns or subgroup not in set(data["subgroup"]):
            names = ", ".join(s.name for s in outcome.subgroups) or "none"
            raise ValueError(
                f"outcome {outcome.id} has no subgroup {subgroup!r} (subgroups: {names})"
            )
        data = data[data["subgroup"] == subgroup]
    data = data.drop(columns=[c for c in ("subgroup",) if c in data.columns]).copy()
    if outcome.settings.get("swap_events"):
        data["events_exp"] = data["n_exp"] - data["events_exp"]
        data["events_ctrl"] = data["n_ctrl"] - data["events_ctrl"]
    return data.reset_index(drop=True)


def pool_outcome(outcome: RevManOutcome, subgroup: str | None = None) -> PooledResult:
    """Return the outcome (or one subgroup) pooled with RevMan 5's settings of that outcome."""
    ratio = outcome.measure == "GEN" and outcome.ratio
    # RevMan marks double-zero rows "not estimable" too: the result lists them as excluded
    data = outcome_data(outcome, subgroup)
    return pool(data, outcome.model(), ratio=ratio, warn_excluded=False)


@dataclass(frozen=True)
class Agreement:
    """One stored RevMan number beside metafuse's."""

    quantity: str
    revman: float
    metafuse: float

    @property
    def difference(self) -> float:
        """The difference: metafuse's number minus RevMan's."""
        return self.metafuse - self.revman


def compare(
    result: PooledResult, stored: StoredResults, overall: PooledResult | None = None
) -> tuple[Agreement, ...]:
    """Return each number RevMan stored beside the same number from ``result``.

    Each number RevMan stored for an outcome or subgroup (estimate and CI on the analysis scale, Q,
    I^2 in percent, tau^2, Z, its P, P of Q, per-study weights in percent) beside the same number
    from ``result``. RevMan's study weights are percentages of the outcome's total analysis, also
    inside a subgroup: give that analysis as ``overall`` for a subgroup. Numbers RevMan did not
    compute (empty or NaN) are left out.
    """
    log = math.log if stored.ratio else (lambda x: x)
    pairs: list[tuple[str, float | None, float | None]] = [
        ("estimate", stored.estimate and log(stored.estimate), result.estimate),
        ("ci_low", stored.ci_low and log(stored.ci_low), result.ci_low),
        ("ci_high", stored.ci_high and log(stored.ci_high), result.ci_high),
        ("Z", stored.z, abs(result.statistic) if result.statistic is not None else None),
        ("P(Z)", stored.p_z, result.pval),
    ]
    if result.k > 1:
        pairs += [
            ("Q", stored.q, result.Q),
            ("P(Q)", stored.p_q, result.Q_pval),
            ("I2", stored.i2, result.I2),
            ("tau2", stored.tau2, result.tau2),
        ]
    ours = {s.study: s.weight_percent for s in (overall or result).studies}
    for label, weight in stored.weights.items():
        pairs.append((f"weight {label}", weight, ours.get(label)))
    return tuple(
        Agreement(name, float(theirs), float(mine))
        for name, theirs, mine in pairs
        if theirs is not None and mine is not None and not math.isnan(theirs)
    )


def subgroup_differences(outcome: RevManOutcome) -> tuple[float, int, float]:
    """RevMan's test for subgroup differences of an outcome.

    ``(Chi², df, P)`` from the subgroups pooled with the outcome's settings (estimable subgroups
    only).
    """
    from metafuse.toolbox.subgroups import difference_test

    fits = [pool_outcome(outcome, s.name) for s in outcome.subgroups if s.stored.estimable]
    if len(fits) < 2:
        raise ValueError(f"outcome {outcome.id} has fewer than two estimable subgroups")
    return difference_test([f.estimate or 0.0 for f in fits], [f.se or 0.0 for f in fits])
