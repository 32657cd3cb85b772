"""The tests that come with the Mantel-Haenszel method.

The Cochran-Mantel-Haenszel test of no association and Tarone's test for heterogeneity of odds
ratios (metafor's ``rma.mh``).

The statistics are computed once, by the Mantel-Haenszel fit itself
(:func:`metafuse.fit_tables.mantel_haenszel_fit`); this function reads them from a Mantel-Haenszel
result, refitting another model of the same tables by Mantel-Haenszel first.

References
----------
Mantel N, Haenszel W (1959). Statistical aspects of the analysis of data from retrospective
    studies of disease. J Natl Cancer Inst 22:719-748.
Tarone RE (1985). On heterogeneity tests based on efficient scores. Biometrika 72:91-95.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from metafuse.pooling import refit
from metafuse.result_protocol import ResultMixin, p_text, short
from metafuse.results import PooledResult, clean


@dataclass(frozen=True, repr=False)
class MantelHaenszelTests(ResultMixin):
    """The Cochran-Mantel-Haenszel test and Tarone's test.

    The Cochran-Mantel-Haenszel test (chi^2, 1 df, continuity-corrected) and, for odds ratios,
    Tarone's test for heterogeneity (chi^2, k - 1 df); None where not defined.
    """

    title = "Mantel-Haenszel tests"
    measure: str
    k: int
    CMH: float | None
    CMH_pval: float | None
    tarone: float | None = None
    tarone_pval: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return ``measure, k, CMH, CMH_pval, tarone, tarone_pval``."""
        return {
            "measure": self.measure,
            "k": self.k,
            "CMH": self.CMH,
            "CMH_pval": self.CMH_pval,
            "tarone": self.tarone,
            "tarone_pval": self.tarone_pval,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row with the values of :meth:`to_dict`."""
        return pd.DataFrame([self.to_dict()])

    def _headline(self) -> str:
        text = f"{self.measure} k={self.k}: CMH = {short(self.CMH)}, {p_text(self.CMH_pval)}"
        if self.measure == "OR":
            text += f"; Tarone = {short(self.tarone)}, {p_text(self.tarone_pval)}"
        return text

    def _table(self) -> None:
        return None


def mantel_haenszel_tests(result: PooledResult) -> MantelHaenszelTests:
    """Cochran-Mantel-Haenszel and Tarone's tests of a meta-analysis of 2x2 tables or rates.

    Parameters
    ----------
    result : PooledResult
        A meta-analysis of odds ratios (CMH and Tarone's test) or incidence rate ratios (the
        Mantel-Haenszel rate test), by any method; it is refitted by Mantel-Haenszel when it was
        not fitted so.

    Returns
    -------
    MantelHaenszelTests
        The statistics and P values (None when the Mantel-Haenszel estimate does not exist).

    Raises
    ------
    ValueError
        For other measures.

    Examples
    --------
    >>> import pandas as pd
    >>> import metafuse
    >>> from metafuse.toolbox import mantel_haenszel_tests
    >>> res = metafuse.pool(pd.read_csv("examples/bcg.csv"), "OR", method="MH")
    >>> mantel_haenszel_tests(res).CMH > 100
    True
    """
    if result.measure not in ("OR", "IRR"):
        raise ValueError(
            f"the Mantel-Haenszel tests are for odds ratios and rate ratios, not {result.measure}"
        )
    fitted = result if result.method == "MH" else refit(result, method="MH")
    extras = fitted.extras
    return MantelHaenszelTests(
        measure=result.measure,
        k=fitted.k,
        CMH=clean(extras.get("CMH")),
        CMH_pval=clean(extras.get("CMH_pval")),
        tarone=clean(extras.get("tarone")),
        tarone_pval=clean(extras.get("tarone_pval")),
    )
