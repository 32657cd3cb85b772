"""The toolbox: sensitivity, influence, small-study, subgroup and meta-regression analyses.

Each function takes a :class:`~metafuse.results.PooledResult` (or, as a convenience, the same
``data, measure, method, hksj, **options`` as :func:`metafuse.pool`), refits through the engine
only, and returns an immutable result with ``to_dict()``, ``to_frame()``, ``summary()``, a
one-line ``repr`` and ``_repr_html_`` (:class:`metafuse.result_protocol.Result`).

>>> import metafuse.toolbox as t
>>> sorted(set(t.__all__) & {"leave_one_out", "egger_test", "gosh"})
['egger_test', 'gosh', 'leave_one_out']
"""

from metafuse.toolbox.bias import (
    RankTest,
    RegressionTest,
    SlopeTest,
    egger_test,
    peters_test,
    rank_test,
    regression_test,
)
from metafuse.toolbox.gosh import GoshResult, gosh
from metafuse.toolbox.inference import (
    HenmiCopas,
    HeterogeneityInterval,
    StudyPredictions,
    blup,
    henmi_copas,
    ranef,
    tau2_confint,
)
from metafuse.toolbox.influence import BaujatData, Influence, baujat_data, influence
from metafuse.toolbox.mantel_haenszel import MantelHaenszelTests, mantel_haenszel_tests
from metafuse.toolbox.metareg import meta_regression
from metafuse.toolbox.metareg_result import MetaRegression, RobustInference
from metafuse.toolbox.permutation import PermutationTest, permutation_test
from metafuse.toolbox.sensitivity import Cumulative, LeaveOneOut, cumulative, leave_one_out
from metafuse.toolbox.subgroups import SubgroupAnalysis, subgroup
from metafuse.toolbox.trimfill import TrimFillResult, trim_and_fill

__all__ = [
    "BaujatData",
    "Cumulative",
    "GoshResult",
    "HenmiCopas",
    "HeterogeneityInterval",
    "Influence",
    "LeaveOneOut",
    "MantelHaenszelTests",
    "MetaRegression",
    "PermutationTest",
    "RankTest",
    "RegressionTest",
    "RobustInference",
    "SlopeTest",
    "StudyPredictions",
    "SubgroupAnalysis",
    "TrimFillResult",
    "baujat_data",
    "blup",
    "cumulative",
    "egger_test",
    "gosh",
    "henmi_copas",
    "influence",
    "leave_one_out",
    "mantel_haenszel_tests",
    "meta_regression",
    "permutation_test",
    "peters_test",
    "ranef",
    "rank_test",
    "regression_test",
    "subgroup",
    "tau2_confint",
    "trim_and_fill",
]
