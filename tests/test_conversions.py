"""Derivations against worked examples and hand calculations.

Cochrane Handbook v6.4, chapter 6: the worked examples in sections 6.5.2.2 and 6.5.2.3.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from metafuse.review import derivations as cv
from tests.tolerances import CLOSED_FORM, HANDBOOK_T_QUANTILE, printed


def test_sd_from_se_handbook_6_5_2_2() -> None:
    # Handbook 6.5.2.2 example: SE 2.0 (n = 25) -> SD = 2 * 5 = 10
    assert cv.sd_from_se(2.0, 25) == pytest.approx(10.0, **CLOSED_FORM)


def test_sd_from_ci_large_sample_handbook_6_5_2_2() -> None:
    # Handbook 6.5.2.2 example: n = 100, 95% CI 3.2 to 8.4 -> SD = sqrt(100) * 5.2 / 3.92 = 13.27
    assert cv.sd_from_ci(3.2, 8.4, 100) == pytest.approx(13.27, **printed(2))


def test_sd_from_ci_small_sample_uses_t() -> None:
    # n = 25 < 60: divisor 2 * t(0.975, 24) = 4.128 (Handbook 6.5.2.2)
    sd = cv.sd_from_ci(3.2, 8.4, 25)
    assert 2 * 2.0639 * sd / 5 == pytest.approx(5.2, **HANDBOOK_T_QUANTILE)


def test_se_from_ci_and_p_handbook_6_5_2_3() -> None:
    # Handbook 6.5.2.3 example: MD 3.8 (95% CI 1.2 to 6.4) -> SE = 5.2 / 3.92 = 1.327
    assert cv.se_from_ci(1.2, 6.4) == pytest.approx(1.327, **printed(3))
    # ratio: RR 0.5 (0.25 to 1.0) -> SE(log RR) = log(4) / 3.92
    assert cv.se_from_ci(0.25, 1.0, ratio=True) == pytest.approx(
        math.log(4) / (2 * 1.959963984540054), **CLOSED_FORM
    )
    # Handbook 6.5.2.3: MD 3.8, P = 0.008 (normal): z = 2.652, SE = 3.8 / 2.652 = 1.433
    assert cv.se_from_p(3.8, 0.008) == pytest.approx(1.433, **printed(3))


def test_sd_from_mean_difference_se() -> None:
    # SE 1.327 with 25 + 22 participants: SD = 1.327 / sqrt(1/25 + 1/22)
    assert cv.sd_from_mean_difference_se(1.327, 25, 22) == pytest.approx(
        1.327 / math.sqrt(1 / 25 + 1 / 22), **CLOSED_FORM
    )


def test_count_from_percent_is_flagged_approximate() -> None:
    d = cv.count_from_percent(12.5, 133)
    assert d.value == 17.0  # 16.625 rounds to 17
    assert d.approximate


def test_change_sd() -> None:
    # r = 0.5 and equal SDs: the change SD equals the SD (Handbook 6.5.2.8)
    assert cv.change_sd(10, 10, 0.5) == pytest.approx(10.0, **CLOSED_FORM)
    assert cv.change_sd(3, 4, 0.0) == pytest.approx(5.0, **CLOSED_FORM)


def test_wan_2014_median_iqr_and_range() -> None:
    # Wan et al. (2014) formulas by hand, n = 50, with the standard library's normal quantile
    # (an implementation independent of scipy): Phi^-1((37.5 - 0.125) / 50.25)
    mean, sd = cv.mean_sd_from_median_iqr(10, 14, 20, 50)
    assert mean.value == pytest.approx(44 / 3, **CLOSED_FORM)
    z = NormalDist().inv_cdf(37.375 / 50.25)
    assert sd.value == pytest.approx(10 / (2 * z), **CLOSED_FORM)
    assert mean.approximate
    assert sd.approximate
    mean, sd = cv.mean_sd_from_median_range(2, 14, 30, 50)
    assert mean.value == pytest.approx(15.0, **CLOSED_FORM)
    z = NormalDist().inv_cdf(49.625 / 50.25)
    assert sd.value == pytest.approx(28 / (2 * z), **CLOSED_FORM)


def test_combine_groups_handbook_table_6_5_a() -> None:
    # Handbook Table 6.5.a formula by hand: groups (n 10, mean 5, SD 2) and (n 20, mean 8, SD 3)
    n, mean, sd = cv.combine_groups(10, 5.0, 2.0, 20, 8.0, 3.0)
    assert n == 30
    assert mean == pytest.approx(7.0, **CLOSED_FORM)
    var = (9 * 4 + 19 * 9 + 10 * 20 / 30 * 9) / 29
    assert sd == pytest.approx(math.sqrt(var), **CLOSED_FORM)


def test_flip_contrast() -> None:
    assert cv.flip_contrast(0.7, -2.8, 4.3) == (-0.7, -4.3, 2.8)
    est, lo, hi = cv.flip_contrast(2.0, 1.0, 4.0, ratio=True)
    assert (est, lo, hi) == (0.5, 0.25, 1.0)


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (cv.sd_from_se, (-1, 10)),
        (cv.sd_from_ci, (5, 3, 10)),
        (cv.se_from_p, (1.0, 1.5)),
        (cv.count_from_percent, (120, 10)),
        (cv.change_sd, (1, 1, 2)),
        (cv.mean_sd_from_median_iqr, (5, 4, 6, 10)),
    ],
)
def test_impossible_inputs_raise(fn, args) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        fn(*args)
