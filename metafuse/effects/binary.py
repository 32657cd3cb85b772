"""Effect sizes of 2x2 tables.

Log risk ratio, log odds ratio, risk difference, with the continuity correction for zero cells.

Zero cells (inverse-variance methods): by default 0.5 is added to every cell of a 2x2 table that
has a zero cell (``add=0.5, to="only0"``), as RevMan and metafor do; a study with no events, or only
events, in both arms is not estimable for RR and OR (``drop00=True``) and is kept for RD (Cochrane
Handbook 5.1, sections 16.9.2 and 16.9.3).

References
----------
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5.
Viechtbauer W (2010). J Stat Softw 36(3) (metafor's ``escalc``).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from metafuse._arrays import ArrayLike, BoolArray, FloatArray, as_float
from metafuse.model import ZeroCellRule

#: Which tables get the continuity correction (:data:`metafuse.model.ZERO_CELL_RULES`).
CorrectWhen = ZeroCellRule

#: Amount added to each cell of a 2x2 table with a zero cell (Haldane-Anscombe correction).
DEFAULT_ADD: Final = 0.5
#: Which tables are corrected: "only0" (tables with a zero cell), "all", "if0all" (all tables when
#: any table has a zero cell) or "none".
DEFAULT_TO: Final[CorrectWhen] = "only0"


def double_zero(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike
) -> BoolArray:
    """Return True for studies with no events in both arms, or only events in both arms."""
    a, n1, c, n2 = map(as_float, (events_exp, n_exp, events_ctrl, n_ctrl))
    return ((a == 0) & (c == 0)) | ((a == n1) & (c == n2))


def continuity_corrected_cells(
    events_exp: ArrayLike,
    n_exp: ArrayLike,
    events_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
    ignore: BoolArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return the four cells (a, b, c, d) of each 2x2 table after the continuity correction.

    ``a``/``b`` are events/non-events in the experimental arm, ``c``/``d`` in the control arm.
    For "if0all" the rule looks along the last axis (the studies of one meta-analysis); studies
    flagged in ``ignore`` (dropped double-zero studies) do not trigger it.
    """
    a, n1, c, n2 = map(as_float, (events_exp, n_exp, events_ctrl, n_ctrl))
    b, d = n1 - a, n2 - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    inc = correction(zero, add=add, to=to, ignore=ignore)
    return a + inc, b + inc, c + inc, d + inc


def correction(
    zero: BoolArray,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
    ignore: BoolArray | None = None,
) -> FloatArray:
    """Return the amount added to each study's cells.

    ``add`` where ``to`` applies, else 0.

    ``zero`` flags studies with a zero cell; "only0" corrects those, "all" every study,
    "if0all" every study of a meta-analysis (the last axis) that has one, "none" none. Studies
    flagged in ``ignore`` (dropped double-zero studies) are not corrected and do not trigger
    "if0all".
    """
    if to == "none" or add == 0:
        return np.zeros(zero.shape)
    if to == "all":
        mask = np.ones_like(zero, dtype=bool)
    elif to in ("only0", "if0all"):
        mask = zero if ignore is None else zero & ~ignore
        if to == "if0all":
            mask = np.broadcast_to(mask.any(axis=-1, keepdims=True), mask.shape)
    else:
        raise ValueError(
            f"unknown continuity-correction rule to={to!r}; use only0, all, if0all or none"
        )
    return np.where(mask, add, 0.0)


def two_by_two(
    measure: str,
    events_exp: ArrayLike,
    n_exp: ArrayLike,
    events_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
    drop00: bool | None = None,
    rd_uncorrected: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Effect sizes ``(yi, vi)`` for RR (log), OR (log) or RD from 2x2 counts.

    Studies that are not estimable (double-zero studies under ``drop00``) get ``nan``.
    ``drop00=None`` means True for RR, OR and PETO and False for RD.

    Notes
    -----
    log RR: ``log(a/n1) - log(c/n2)`` with variance ``1/a - 1/n1 + 1/c - 1/n2``;
    log OR: ``log(a d / (b c))`` with variance ``1/a + 1/b + 1/c + 1/d``;
    PETO: Peto's log OR ``(O - E) / V`` with variance ``1 / V`` (:func:`peto_log_odds_ratio`);
    RD: ``a/n1 - c/n2`` with variance ``p1(1-p1)/n1 + p2(1-p2)/n2`` (large-sample, metafor's "LS");
    ``rd_uncorrected`` computes the difference from the uncorrected counts and only its variance
    from the corrected cells (RevMan 5). See Deeks & Higgins (2010), Statistical algorithms in
    Review Manager 5, and metafor's escalc.
    """
    if drop00 is None:
        drop00 = measure in ("RR", "OR", "PETO")
    dz = double_zero(events_exp, n_exp, events_ctrl, n_ctrl) if drop00 else None
    a, b, c, d = continuity_corrected_cells(
        events_exp, n_exp, events_ctrl, n_ctrl, add=add, to=to, ignore=dz
    )
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(a / n1) - np.log(c / n2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "OR":
            yi = np.log(a * d) - np.log(b * c)
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "PETO":
            n, m1 = n1 + n2, a + c
            v = n1 * n2 * m1 * (n - m1) / (n**2 * (n - 1))
            yi, vi = (a - n1 * m1 / n) / v, 1 / v
        elif measure == "RD":
            p1, p2 = a / n1, c / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
            if rd_uncorrected:
                raw = map(as_float, (events_exp, n_exp, events_ctrl, n_ctrl))
                e1, m1, e2, m2 = raw
                yi = e1 / m1 - e2 / m2
        else:
            raise ValueError(f"{measure} is not a 2x2-table measure")
    if dz is not None:
        yi = np.where(dz, np.nan, yi)
        vi = np.where(dz, np.nan, vi)
    return yi, vi


def risk_ratio(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike, **zero_cells
) -> tuple[FloatArray, FloatArray]:
    """Log risk ratios and their variances (see :func:`two_by_two`)."""
    return two_by_two("RR", events_exp, n_exp, events_ctrl, n_ctrl, **zero_cells)


def odds_ratio(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike, **zero_cells
) -> tuple[FloatArray, FloatArray]:
    """Log odds ratios and their variances (see :func:`two_by_two`)."""
    return two_by_two("OR", events_exp, n_exp, events_ctrl, n_ctrl, **zero_cells)


def risk_difference(
    events_exp: ArrayLike, n_exp: ArrayLike, events_ctrl: ArrayLike, n_ctrl: ArrayLike, **zero_cells
) -> tuple[FloatArray, FloatArray]:
    """Risk differences and their variances (see :func:`two_by_two`)."""
    return two_by_two("RD", events_exp, n_exp, events_ctrl, n_ctrl, **zero_cells)


def peto_log_odds_ratio(
    events_exp: ArrayLike,
    n_exp: ArrayLike,
    events_ctrl: ArrayLike,
    n_ctrl: ArrayLike,
    *,
    add: float = DEFAULT_ADD,
    to: CorrectWhen = DEFAULT_TO,
    drop00: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Peto's log odds ratio of each table, ``(O - E) / V``, with variance ``1 / V``.

    ``O`` are the experimental-arm events, ``E = n1 m1 / N`` their expectation and
    ``V = n1 n2 m1 (N - m1) / (N^2 (N - 1))`` the hypergeometric variance (Yusuf et al. 1985),
    computed on the cells after the continuity correction (metafor's ``escalc("PETO")``).
    """
    return two_by_two("PETO", events_exp, n_exp, events_ctrl, n_ctrl, add=add, to=to, drop00=drop00)
