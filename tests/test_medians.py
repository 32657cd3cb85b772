"""Means and SDs from medians (Wan 2014, Luo 2018, Shi 2020) and the t/P/borrowed-SD derivations,
against published worked examples or hand calculations written out here.

Sources of the reference numbers:
- metaBLUE 1.0.0 documentation (Yang, Hutson, Wang), examples with their printed output
  (https://rdrr.io/cran/metaBLUE/man/Luo.mean.html and .../Wan.std.html): X = (1, 4, 10) as
  (minimum, median, maximum), n = 30 -> Luo.mean 4.356748, Wan.std 2.205578.
- Cochrane Handbook 5.1, section 7.7.3.3 (the same example as 6.4, section 6.5.2.3): MD 3.8,
  P = 0.008, 25 and 22 participants; t with 45 df is 2.78, "dividing 3.8 by 2.78, which gives
  1.37".
- Everything else by hand from the papers' formulas, with the standard library's normal quantile
  (statistics.NormalDist, independent of scipy) and the arithmetic shown.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from metafuse.review import derivations as dv
from metafuse.review import medians
from tests.tolerances import CLOSED_FORM, printed

Q = NormalDist().inv_cdf


def test_luo_mean_and_wan_sd_from_range_metablue_examples() -> None:
    # metaBLUE: Luo.mean(c(1, 4, 10), 30, "S1") printed 4.356748; Wan.std(...) printed 2.205578
    assert medians.luo_mean_from_median_range(1, 4, 10, 30).value == pytest.approx(
        4.356748, **printed(6)
    )
    _, sd = medians.mean_sd_from_median_range(1, 4, 10, 30)
    assert sd.value == pytest.approx(2.205578, **printed(6))
    mean, sd = medians.median_range(1, 4, 10, 30)
    assert (mean, sd) == pytest.approx((4.356748, 2.205578), **printed(6))


def test_luo_mean_from_iqr_by_hand() -> None:
    # Luo et al. (2018) S2: w = 0.7 + 0.39 / 50 = 0.7078; mean = 0.7078 * (10 + 20) / 2
    # + 0.2922 * 14 = 10.617 + 4.0908 = 14.7078
    mean = medians.luo_mean_from_median_iqr(10, 14, 20, 50)
    assert mean.value == pytest.approx(14.7078, **CLOSED_FORM)
    assert mean.approximate
    # the record derivation pairs it with Wan's C3 SD: (20 - 10) / (2 Phi^-1(37.375 / 50.25))
    assert medians.median_iqr(10, 14, 20, 50) == pytest.approx(
        (14.7078, 10 / (2 * Q(37.375 / 50.25))), **CLOSED_FORM
    )


def test_luo_mean_and_shi_sd_from_five_numbers_by_hand() -> None:
    a, q1, m, q3, b, n = 2, 10, 14, 20, 30, 50
    # Luo et al. (2018) S3: w1 = 2.2 / (2.2 + 50^0.75) = 2.2 / 21.00302 = 0.104747,
    # w2 = 0.7 - 0.72 / 50^0.55 = 0.7 - 0.72 / 8.598714 = 0.616267
    w1 = 2.2 / (2.2 + n**0.75)
    w2 = 0.7 - 0.72 / n**0.55
    assert (w1, w2) == pytest.approx((0.104747, 0.616267), **printed(6))
    mean = w1 * (a + b) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * m  # = 14.8258
    assert medians.luo_mean_from_five_numbers(a, q1, m, q3, b, n).value == pytest.approx(
        mean, **CLOSED_FORM
    )
    assert mean == pytest.approx(14.8258, **printed(4))
    # Shi et al. (2020): w = 1 / (1 + 0.07 * 50^0.6) = 1 / (1 + 0.07 * 10.456396) = 0.577385;
    # SD = w (b - a) / xi(50) + (1 - w) (q3 - q1) / eta(50)
    w = 1 / (1 + 0.07 * n**0.6)
    assert w == pytest.approx(0.577385, **printed(6))
    xi, eta = 2 * Q(49.625 / 50.25), 2 * Q(37.375 / 50.25)
    sd = w * 28 / xi + (1 - w) * 10 / eta
    assert medians.shi_sd_from_five_numbers(a, q1, m, q3, b, n).value == pytest.approx(
        sd, **CLOSED_FORM
    )
    assert medians.five_numbers(a, q1, m, q3, b, n) == pytest.approx((mean, sd), **CLOSED_FORM)


def test_wan_quantile_factors_by_hand() -> None:
    # Wan et al. (2014) formulas, n = 30: xi = 2 Phi^-1(29.625 / 30.25); eta = 2 Phi^-1(22.375 /
    # 30.25). Their Table 1 gives the exact expected range 4.086 at n = 30; the formula (used by
    # metafor's conv.fivenum for every n, and here) gives 4.081.
    assert medians.xi(30) == pytest.approx(2 * Q(29.625 / 30.25), **CLOSED_FORM)
    assert medians.xi(30) == pytest.approx(4.081, **printed(3))
    assert medians.eta(30) == pytest.approx(2 * Q(22.375 / 30.25), **CLOSED_FORM)


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (medians.luo_mean_from_median_range, (5, 4, 6, 10)),
        (medians.luo_mean_from_median_iqr, (1, 2, 3, 0)),
        (medians.luo_mean_from_five_numbers, (1, 3, 2, 4, 5, 10)),
        (medians.shi_sd_from_five_numbers, (1, 2, 3, 4, float("nan"), 10)),
        (dv.se_from_t, (3.8, 0.0)),
        (dv.se_from_p, (0.0, 0.5)),
        (dv.count_from_percent, (50.0, 10.5)),
        (dv.sd_borrowed, (0.0,)),
    ],
)
def test_impossible_inputs_raise(fn, args) -> None:
    with pytest.raises(ValueError, match=r"must|need|gives no"):
        fn(*args)


def test_se_and_sd_from_t_and_p_handbook_7_7_3_3() -> None:
    # Handbook 5.1 7.7.3.3: "dividing 3.8 by 2.78, which gives 1.37"
    assert dv.se_from_t(3.8, 2.78) == pytest.approx(1.37, **printed(2))
    assert dv.se_from_t(-3.8, -2.78) == pytest.approx(1.37, **printed(2))
    # P = 0.008 with 25 + 22 participants: t with 45 df (the Handbook's 2.78), SE 1.37
    assert dv.se_from_p(3.8, 0.008, n_total=47) == pytest.approx(1.37, **printed(2))
    # common SD = SE / sqrt(1/25 + 1/22) = 1.366906 / 0.292326 = 4.6760
    assert dv.sd_from_t(3.8, 2.78, 25, 22) == pytest.approx(
        (3.8 / 2.78) / math.sqrt(1 / 25 + 1 / 22), **CLOSED_FORM
    )
    assert dv.sd_from_t(3.8, 2.78, 25, 22) == pytest.approx(4.6760, **printed(4))
    assert dv.sd_from_p(3.8, 0.008, 25, 22) == pytest.approx(
        dv.se_from_p(3.8, 0.008, n_total=47) / math.sqrt(1 / 25 + 1 / 22), **CLOSED_FORM
    )
    # and back: the CI 3.8 -/+ 1.959964 * 1.37
    lo, hi = dv.ci_from_se(3.8, 1.37)
    assert (lo, hi) == pytest.approx((3.8 - 1.959964 * 1.37, 3.8 + 1.959964 * 1.37), **printed(6))


def test_borrowed_sd_and_percent_denominator() -> None:
    assert dv.sd_borrowed(20.6) == dv.Derived(20.6, approximate=True)
    # 72.9% of 129 = 94.04 -> 94 (a stated whole denominator)
    assert dv.count_from_percent(72.9, 129).value == 94.0


def test_parse_derivation_arguments() -> None:
    assert dv.parse_derivation("sd_borrowed(record='brox2010-odi-48')") == (
        "sd_borrowed",
        {"record": "brox2010-odi-48"},
    )
    assert dv.parse_derivation("median_iqr(q1=1, median=2, q3=4)")[1] == {
        "q1": 1.0,
        "median": 2.0,
        "q3": 4.0,
    }
    for bad in (
        "median_iqr(q1=1, median=2)",  # q3 missing
        "sd_from_se(se=1, n=3)",  # n comes from the row
        "sd_borrowed(record=3)",  # a record id is text
        "sd_from_t(t='2')",  # t is a number
    ):
        with pytest.raises(ValueError, match="derivation"):
            dv.parse_derivation(bad)
    assert dv.derivation_name("sd_from_t(t=2.1)") == "sd_from_t"
    assert dv.derivation_name(None) is None
