"""Effect sizes of single-group pre-post designs: the raw and standardised mean change.

Columns: ``mean_post, mean_pre, sd_post, sd_pre, n, r`` (r: the pre-post correlation). The change
is post minus pre. ``SMCC`` standardises by the SD of the change scores (Gibbons et al. 1993),
``SMCR`` by the pre-test SD (raw-score standardisation, Becker 1988), ``SMCRH`` by the pre-test SD
with heteroscedastic occasions (Bonett 2008); each with the exact bias correction J(n - 1).

References
----------
Becker BJ (1988). Synthesizing standardized mean-change measures. Br J Math Stat Psychol 41:257-278.
Gibbons RD, Hedeker DR, Davis JM (1993). Estimation of effect size from a series of experiments
    involving paired comparisons. J Educ Stat 18:271-279.
Morris SB (2008). Estimating effect sizes from pretest-posttest-control group designs. Organ Res
    Methods 11:364-386.
Bonett DG (2008). Confidence intervals for standardized linear contrasts of means. Psychol Methods
    13:99-109.
"""

from __future__ import annotations

import numpy as np

from metafuse._arrays import ArrayLike, FloatArray, as_float
from metafuse.effects.continuous import hedges_correction


def _change_variance(sd_post: FloatArray, sd_pre: FloatArray, r: FloatArray) -> FloatArray:
    return sd_post**2 + sd_pre**2 - 2 * r * sd_post * sd_pre


def mean_change(
    mean_post: ArrayLike,
    mean_pre: ArrayLike,
    sd_post: ArrayLike,
    sd_pre: ArrayLike,
    n: ArrayLike,
    r: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Raw mean change ``post - pre`` with variance ``(sd_post^2 + sd_pre^2 - 2 r sd sd) / n``."""
    m1, m2, s1, s2, nn, rr = map(as_float, (mean_post, mean_pre, sd_post, sd_pre, n, r))
    return m1 - m2, _change_variance(s1, s2, rr) / nn


def standardized_mean_change_change_score(
    mean_post: ArrayLike,
    mean_pre: ArrayLike,
    sd_post: ArrayLike,
    sd_pre: ArrayLike,
    n: ArrayLike,
    r: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """SMCC: ``J (post - pre) / sd_change``, variance ``1/n + g^2/(2n)``."""
    m1, m2, s1, s2, nn, rr = map(as_float, (mean_post, mean_pre, sd_post, sd_pre, n, r))
    g = hedges_correction(nn - 1) * (m1 - m2) / np.sqrt(_change_variance(s1, s2, rr))
    return g, 1 / nn + g**2 / (2 * nn)


def standardized_mean_change_raw_score(
    mean_post: ArrayLike,
    mean_pre: ArrayLike,
    sd_pre: ArrayLike,
    n: ArrayLike,
    r: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """SMCR: ``J (post - pre) / sd_pre``, variance ``2 (1 - r)/n + g^2/(2n)`` (Becker 1988)."""
    m1, m2, s, nn, rr = map(as_float, (mean_post, mean_pre, sd_pre, n, r))
    g = hedges_correction(nn - 1) * (m1 - m2) / s
    return g, 2 * (1 - rr) / nn + g**2 / (2 * nn)


def standardized_mean_change_heteroscedastic(
    mean_post: ArrayLike,
    mean_pre: ArrayLike,
    sd_post: ArrayLike,
    sd_pre: ArrayLike,
    n: ArrayLike,
    r: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Compute the SMCRH: the standardised mean change by the pre-test SD (Bonett 2008).

    SMCRH: ``J (post - pre) / sd_pre`` with variance ``J^2 [sd_change^2 / (sd_pre^2 (n - 1)) + g^2 /
    (2 (n - 1))]`` (Bonett 2008).
    """
    m1, m2, s1, s2, nn, rr = map(as_float, (mean_post, mean_pre, sd_post, sd_pre, n, r))
    j = hedges_correction(nn - 1)
    g = j * (m1 - m2) / s2
    return g, j**2 * (_change_variance(s1, s2, rr) / (s2**2 * (nn - 1)) + g**2 / (2 * (nn - 1)))
