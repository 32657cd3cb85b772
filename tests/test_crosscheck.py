"""An independent implementation beside ours: statsmodels (Perktold et al.) on the BCG trials.

metafor is the reference of every number (tests/reference); statsmodels is a second, Python
implementation of the closed-form parts, which is why it is a test dependency rather than a
library one: ``statsmodels.stats.meta_analysis.combine_effects`` for the inverse-variance
fixed-effect and DerSimonian-Laird models, and weighted least squares (``statsmodels.api.WLS``)
for the Egger-type regression tests with a multiplicative dispersion (metafor's
``regtest(model = "lm")``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metafuse
from metafuse.toolbox import egger_test, peters_test, regression_test
from tests.tolerances import CLOSED_FORM

sm = pytest.importorskip("statsmodels.api")
meta_analysis = pytest.importorskip("statsmodels.stats.meta_analysis")


@pytest.fixture
def dl(bcg: pd.DataFrame) -> metafuse.PooledResult:
    return metafuse.pool(bcg, "RR", "DL")


def test_fixed_effect_and_dersimonian_laird_match_combine_effects(
    bcg: pd.DataFrame, dl: metafuse.PooledResult
) -> None:
    effects = dl.effects
    assert effects is not None
    theirs = meta_analysis.combine_effects(effects.yi, effects.vi, method_re="chi2")
    assert (dl.estimate, dl.se, dl.tau2, dl.Q) == pytest.approx(
        (theirs.mean_effect_re, theirs.sd_eff_w_re, theirs.tau2, theirs.q), **CLOSED_FORM
    )
    i2 = dl.I2
    assert i2 == pytest.approx(100 * theirs.i2, **CLOSED_FORM)
    fe = metafuse.pool(bcg, "RR", "FE")
    assert (fe.estimate, fe.se) == pytest.approx(
        (theirs.mean_effect_fe, theirs.sd_eff_w_fe), **CLOSED_FORM
    )


def test_egger_type_tests_match_weighted_least_squares(dl: metafuse.PooledResult) -> None:
    effects = dl.effects
    assert effects is not None
    y, v = effects.yi, effects.vi
    wls = sm.WLS(y, sm.add_constant(np.sqrt(v)), weights=1 / v).fit()
    egger = egger_test(dl)
    assert egger.df == wls.df_resid
    assert (egger.statistic, egger.pval, egger.slope) == pytest.approx(
        (wls.tvalues[1], wls.pvalues[1], wls.params[1]), **CLOSED_FORM
    )
    limit = regression_test(dl, model="lm")
    low, high = wls.conf_int(alpha=0.05)[0]
    assert (limit.est, limit.ci_low, limit.ci_high) == pytest.approx(
        (wls.params[0], low, high), **CLOSED_FORM
    )
    n = np.array([s.data["n_exp"] + s.data["n_ctrl"] for s in dl.studies], dtype=float)
    peters = sm.WLS(y, sm.add_constant(1 / n), weights=1 / v).fit()
    assert peters_test(dl).statistic == pytest.approx(peters.tvalues[1], **CLOSED_FORM)
