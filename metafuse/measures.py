"""Codes of effect measures and pooling methods, and the input columns each measure needs.

Codes follow metafor's (Viechtbauer 2010, J Stat Softw 36(3)), so users can move between them.
"""

from __future__ import annotations

from typing import Final

#: Two-arm binary outcomes: events and totals per arm.
BINARY_MEASURES: Final = ("RR", "OR", "RD")
#: Two-arm continuous outcomes: mean, SD and total per arm.
CONTINUOUS_MEASURES: Final = ("MD", "SMD")
#: Generic inverse variance: a contrast with its standard error, or an estimate with its 95% CI.
GENERIC_MEASURES: Final = ("GEN",)
#: Single-arm proportions: logit (PLO) and Freeman-Tukey double arcsine (PFT).
PROPORTION_MEASURES: Final = ("PLO", "PFT")
#: Events over person-time in two arms: incidence rate ratio (log) and difference.
RATE_MEASURES: Final = ("IRR", "IRD")
#: Events over person-time in one group: log incidence rate (metafor's IRLN).
SINGLE_RATE_MEASURES: Final = ("IRLN",)
#: Single-group measures: no value of "no effect", so no test against one.
SINGLE_GROUP_MEASURES: Final = PROPORTION_MEASURES + SINGLE_RATE_MEASURES
#: Single-group pre-post designs: raw mean change and standardised mean changes.
CHANGE_MEASURES: Final = ("MC", "SMCC", "SMCR", "SMCRH")
#: Peto's log odds ratio of each 2x2 table, for inverse-variance pooling.
PETO_MEASURES: Final = ("PETO",)
MEASURES: Final = (
    BINARY_MEASURES
    + CONTINUOUS_MEASURES
    + GENERIC_MEASURES
    + PROPORTION_MEASURES
    + RATE_MEASURES
    + SINGLE_RATE_MEASURES
    + CHANGE_MEASURES
    + PETO_MEASURES
)

#: Inverse-variance fixed (common) effect. "EE" is metafor's name for the same model.
FIXED_METHODS: Final = ("FE", "EE")
#: Mantel-Haenszel and Peto fixed-effect methods for 2x2 tables (raw counts).
TABLE_METHODS: Final = ("MH", "PETO")
#: Random-effects models, named by their tau^2 estimator.
RANDOM_METHODS: Final = (
    "DL",
    "REML",
    "ML",
    "PM",
    "HE",
    "SJ",
    "EB",
    "HS",
    "HSK",
    "DL2",
    "CA2",
    "PMM",
    "GENQ",
    "GENQM",
)
METHODS: Final = FIXED_METHODS + TABLE_METHODS + RANDOM_METHODS

#: Which measures each 2x2-table method can pool.
TABLE_METHOD_MEASURES: Final = {"MH": ("RR", "OR", "RD", "IRR", "IRD"), "PETO": ("OR",)}

#: Required columns per input kind.
BINARY_COLUMNS: Final = ("events_exp", "n_exp", "events_ctrl", "n_ctrl")
CONTINUOUS_COLUMNS: Final = ("mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl")
GENERIC_SE_COLUMNS: Final = ("yi", "sei")
GENERIC_CI_COLUMNS: Final = ("estimate", "ci_low", "ci_high")
PROPORTION_COLUMNS: Final = ("events", "n")
RATE_COLUMNS: Final = ("events_exp", "time_exp", "events_ctrl", "time_ctrl")
SINGLE_RATE_COLUMNS: Final = ("events", "time")
CHANGE_COLUMNS: Final = ("mean_post", "mean_pre", "sd_post", "sd_pre", "n", "r")
#: Raw-score standardisation needs the pre-test SD only.
SMCR_COLUMNS: Final = ("mean_post", "mean_pre", "sd_pre", "n", "r")

#: Default coverage of every confidence and prediction interval.
LEVEL: Final = 0.95


def normalise_measure(measure: str) -> str:
    """Upper-case a measure code and check it is known."""
    code = str(measure).strip().upper()
    if code not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    return code


def normalise_method(method: str, measure: str) -> str:
    """Upper-case a method code, check it is known and fits the measure.

    ``EE`` is accepted as an alias and reported as ``FE``.
    """
    code = str(method).strip().upper()
    if code not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if code == "EE":
        code = "FE"
    if code in TABLE_METHODS and measure not in TABLE_METHOD_MEASURES[code]:
        allowed = ", ".join(TABLE_METHOD_MEASURES[code])
        raise ValueError(f"method {code} pools only {allowed}, not {measure}")
    return code


def check_level(level: object) -> float:
    """Return a confidence level strictly between 0 and 1 (e.g. 0.95); 90 is read as 0.90.

    A value between 1 and 50 is refused: read as a percentage it would give an interval of
    1.5% for ``level = 1.5``, which no one means (a proportion is below 1, a percentage from 50).
    """
    if isinstance(level, bool) or not isinstance(level, int | float):
        raise ValueError(f"level must be a number, got {level!r}")
    value = float(level)
    if 1 < value < 50:
        raise ValueError(
            f"level {level!r} is neither a proportion below 1 nor a percentage from 50 "
            "(give 0.95 or 95)"
        )
    if 1 < value < 100:
        value /= 100
    if not 0 < value < 1:
        raise ValueError(f"level must lie between 0 and 1 (or 0 and 100 percent), got {level!r}")
    return value
