"""Effect sizes against hand calculations (formulas: Deeks & Higgins 2010, RevMan 5 algorithms)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metafuse import effects
from tests.tolerances import CLOSED_FORM


def test_log_risk_ratio_by_hand() -> None:
    # 10/100 vs 20/100: RR = 0.5; var = 1/10 - 1/100 + 1/20 - 1/100 = 0.13
    yi, vi = effects.risk_ratio([10], [100], [20], [100])
    assert yi[0] == pytest.approx(math.log(0.5), **CLOSED_FORM)
    assert vi[0] == pytest.approx(0.13, **CLOSED_FORM)


def test_log_odds_ratio_by_hand() -> None:
    # 10/100 vs 20/100: OR = (10*80)/(90*20); var = 1/10 + 1/90 + 1/20 + 1/80
    yi, vi = effects.odds_ratio([10], [100], [20], [100])
    assert yi[0] == pytest.approx(math.log(800 / 1800), **CLOSED_FORM)
    assert vi[0] == pytest.approx(1 / 10 + 1 / 90 + 1 / 20 + 1 / 80, **CLOSED_FORM)


def test_risk_difference_by_hand() -> None:
    yi, vi = effects.risk_difference([10], [100], [20], [100])
    assert yi[0] == pytest.approx(-0.1, **CLOSED_FORM)
    assert vi[0] == pytest.approx(0.1 * 0.9 / 100 + 0.2 * 0.8 / 100, **CLOSED_FORM)


def test_zero_cell_adds_half_to_every_cell() -> None:
    # 0/10 vs 5/10 -> cells 0.5, 10.5, 5.5, 5.5 (arm totals 11 and 11)
    yi, vi = effects.risk_ratio([0], [10], [5], [10])
    assert yi[0] == pytest.approx(math.log((0.5 / 11) / (5.5 / 11)), **CLOSED_FORM)
    assert vi[0] == pytest.approx(1 / 0.5 - 1 / 11 + 1 / 5.5 - 1 / 11, **CLOSED_FORM)
    # a table without zero cells is untouched by "only0"
    yi2, _ = effects.risk_ratio([0, 1], [10, 10], [5, 2], [10, 10])
    assert yi2[1] == pytest.approx(math.log(0.5), **CLOSED_FORM)


def test_if0all_and_all_and_none() -> None:
    _, _ = effects.odds_ratio([0, 1], [10, 10], [5, 2], [10, 10], to="none")
    yi_all, _ = effects.odds_ratio([3], [10], [5], [10], to="all")
    assert yi_all[0] == pytest.approx(math.log((3.5 * 5.5) / (7.5 * 5.5)), **CLOSED_FORM)
    yi_if, _ = effects.odds_ratio([0, 3], [10, 10], [5, 5], [10, 10], to="if0all")
    assert yi_if[1] == pytest.approx(yi_all[0], **CLOSED_FORM)
    with pytest.raises(ValueError, match="continuity"):
        effects.odds_ratio([0], [10], [5], [10], to="sometimes")  # type: ignore[arg-type]


def test_double_zero_dropped_for_ratios_kept_for_rd() -> None:
    for fn in (effects.risk_ratio, effects.odds_ratio):
        yi, vi = fn([0, 10], [10, 10], [0, 10], [10, 10])
        assert np.isnan(yi).all()
        assert np.isnan(vi).all()
    yi, vi = effects.risk_difference([0], [10], [0], [10])
    p = 0.5 / 11
    assert yi[0] == 0.0
    assert vi[0] == pytest.approx(2 * p * (1 - p) / 11, **CLOSED_FORM)


def test_mean_difference_by_hand() -> None:
    yi, vi = effects.mean_difference([10], [4], [20], [7], [5], [25])
    assert yi[0] == 3
    assert vi[0] == pytest.approx(16 / 20 + 25 / 25, **CLOSED_FORM)


def test_hedges_g_by_hand() -> None:
    # n1 = n2 = 6 -> m = 10; J = Gamma(5) / (sqrt(5) Gamma(4.5))
    j = math.gamma(5) / (math.sqrt(5) * math.gamma(4.5))
    assert effects.hedges_correction(10) == pytest.approx(j, **CLOSED_FORM)
    sp = math.sqrt((5 * 2.0**2 + 5 * 3.0**2) / 10)
    g = j * (5 - 4) / sp
    yi, vi = effects.standardized_mean_difference([5], [2], [6], [4], [3], [6])
    assert yi[0] == pytest.approx(g, **CLOSED_FORM)
    assert vi[0] == pytest.approx(1 / 6 + 1 / 6 + g**2 / (2 * 12), **CLOSED_FORM)


def test_from_confidence_interval() -> None:
    # RR 0.5 (95% CI 0.25 to 1.0): se = (log 1 - log 0.25) / (2 * 1.959963984540054)
    yi, sei = effects.from_confidence_interval(0.5, 0.25, 1.0, ratio=True)
    assert yi == pytest.approx(math.log(0.5), **CLOSED_FORM)
    assert sei == pytest.approx(math.log(4) / (2 * 1.959963984540054), **CLOSED_FORM)
    yi, sei = effects.from_confidence_interval(2.0, -1.92, 5.92)
    assert sei == pytest.approx(7.84 / (2 * 1.959963984540054), **CLOSED_FORM)


def test_vectorised_over_batch_axes() -> None:
    a = np.array([[1, 2, 3], [4, 5, 6]])
    yi, vi = effects.risk_ratio(a, a + 10, a + 1, a + 20)
    assert yi.shape == vi.shape == (2, 3)
