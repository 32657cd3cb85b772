"""RevMan 5 element names and codes, and how they map onto metafuse's measure and method codes.

The names come from reading real ``.rm5`` files (see ``tests/fixtures/revman/README.md``): an
intervention review (``<COCHRANE_REVIEW TYPE="INTERVENTION">``) keeps its analyses under
``ANALYSES_AND_DATA/COMPARISON``, one element per outcome, named after its data type.
"""

from __future__ import annotations

from typing import Final

from metafuse.measures import BINARY_MEASURES

#: Outcome data types metafuse reads: RevMan's prefix -> kind.
KINDS: Final = {"DICH": "dichotomous", "CONT": "continuous", "IV": "generic"}

#: Outcome data types RevMan 5 has but metafuse does not analyse.
UNSUPPORTED_KINDS: Final = {
    "IPD": "O-E and variance (individual patient data)",
    "OTHER": "other data (no meta-analysis)",
}

#: Study-row attributes, in metafuse's column order, for each kind (group 1 = experimental).
DATA_COLUMNS: Final = {
    "DICH": (
        ("events_exp", "EVENTS_1"),
        ("n_exp", "TOTAL_1"),
        ("events_ctrl", "EVENTS_2"),
        ("n_ctrl", "TOTAL_2"),
    ),
    "CONT": (
        ("mean_exp", "MEAN_1"),
        ("sd_exp", "SD_1"),
        ("n_exp", "TOTAL_1"),
        ("mean_ctrl", "MEAN_2"),
        ("sd_ctrl", "SD_2"),
        ("n_ctrl", "TOTAL_2"),
    ),
}

#: Columns holding counts (whole numbers) in the data.
COUNT_COLUMNS: Final = frozenset({"events_exp", "n_exp", "events_ctrl", "n_ctrl"})

#: EFFECT_MEASURE codes of dichotomous outcomes -> metafuse measure.
DICH_MEASURES: Final = {"RR": "RR", "OR": "OR", "RD": "RD", "PETO_OR": "OR"}

#: EFFECT_MEASURE codes of continuous outcomes -> metafuse measure.
CONT_MEASURES: Final = {"MD": "MD", "SMD": "SMD"}

#: RevMan METHOD codes (DICH outcomes; CONT and IV outcomes have none and use inverse variance).
METHODS: Final = ("MH", "IV", "PETO")

#: Which measures each RevMan method pools (RevMan 5 offers no other combination).
METHOD_MEASURES: Final = {"MH": BINARY_MEASURES, "IV": BINARY_MEASURES, "PETO": ("PETO_OR",)}

#: Ratio measures: analysed on the log scale, stored on the ratio scale.
RATIO_MEASURES: Final = frozenset({"RR", "OR", "PETO_OR"})

#: Outcome attributes that hold RevMan's stored totals -> StoredResults field.
TOTALS_ATTRIBUTES: Final = {
    "estimate": "EFFECT_SIZE",
    "ci_low": "CI_START",
    "ci_high": "CI_END",
    "q": "CHI2",
    "df": "DF",
    "p_q": "P_CHI2",
    "i2": "I2",
    "tau2": "TAU2",
    "z": "Z",
    "p_z": "P_Z",
    "weight": "WEIGHT",
}

#: Outcome attributes of the test for subgroup differences -> StoredResults field.
SUBGROUP_TEST_ATTRIBUTES: Final = {"q_subgroups": "Q", "p_subgroups": "P_Q", "i2_subgroups": "I2_Q"}

#: Study-row attributes of RevMan's stored per-study results -> column of StoredResults.studies.
STUDY_RESULT_ATTRIBUTES: Final = {
    "effect": "EFFECT_SIZE",
    "ci_low": "CI_START",
    "ci_high": "CI_END",
    "se": "SE",
    "weight": "WEIGHT",
}

#: The RevMan 5 convention name that metafuse.pool takes.
CONVENTION: Final = "revman5"
