"""A new review's skeleton (``metafuse init DIR``).

A new review's skeleton (``metafuse init DIR``): a records folder with a ``review.toml`` whose every
key is explained in a comment and the header rows of the four record files (every column, required
and optional), and an empty folder for analysis specs. Nothing is ever overwritten; the skeleton
validates and builds as it stands (every outcome's summary-of-findings row says that no trial result
could be pooled until trials are added).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from metafuse.files import to_csv, write_text_atomic
from metafuse.review.schema import FILES, schemas
from metafuse.review.vocabulary import FILE_NAME, load_review

REVIEW_TOML: Final = """\
# The review's vocabulary. metafuse reads the records of this folder through it: sources.csv,
# trials.csv, outcomes.csv, risk_of_bias.csv, and the optional harms.csv and
# published_estimates.csv. Every comparison x outcome x window with usable data gets its
# analysis, forest plot and summary-of-findings row by itself. Replace the examples below;
# lines starting with # are comments (optional keys, shown with an example value).

title = "Title of the review"      # heads results/index.html and the SoF tables
# grade_rules = "grade-2022"       # GRADE rule set: grade-2022 (default) or grade-2011

# --- Comparisons: one [comparisons.<key>] table each. The key (here A) is the `comparison`
# of trials.csv. Effects are experimental (exp) versus control (ctrl): exp - ctrl, exp / ctrl.
[comparisons.A]
label = "Control (ctrl) vs intervention (exp)"    # required: the comparison in words
experimental = "Intervention"                     # required: the experimental arm
control = "Control"                               # required: the control arm
population = "Adults with the condition"          # PICO, printed above the SoF table
setting = "Randomised trials"
intervention = "The intervention in full"
comparator = "The comparator in full"

# --- Outcomes: one [outcomes.<key>] table each, in the order of the SoF rows. The key (here
# mortality) is the `outcome` of outcomes.csv.
[outcomes.mortality]
label = "All-cause mortality"      # required: the outcome in words
type = "binary"                    # required: binary (events of n) or continuous (mean, SD)
short = "mortality"                # a short name
better = "lower"                   # lower or higher values are better
# measure = "RR"                   # the protocol's effect measure: RR (default), OR or RD for
#                                  # binary outcomes; MD (default) or SMD for continuous ones
# method = "REML"                  # pooling method: REML (default), DL, PM, FE, ... and, for
#                                  # binary outcomes, MH (Mantel-Haenszel) or PETO (with OR)
# unit = "points"                  # continuous: the unit of the scale
# range = [0, 100]                 # continuous: the scale's range; values outside are errors
# mid = 10                         # continuous: minimal important difference (GRADE imprecision)
# mid_per_1000 = 20                # binary: smallest important absolute difference per 1000
# mid_source = "who, where"        # ... always with its source
# baseline_risk_per_1000 = 150     # binary: assumed comparator risk (absolute effects, OIS);
# baseline_risk_source = "a cohort or registry, where"   # or one per comparison: { A = 150 }
# alternative_mid = 15             # re-rated in each row's robustness footnote (with its
# alternative_mid_source = "who"   # source)
# importance = "critical"          # critical, important or of limited importance (SoF order;
# importance_source = "the panel"  # at most seven outcomes in the main table)
# harm = true                      # an adverse outcome: every main table shows at least one
# comparisons = ["A"]              # the comparisons the outcome belongs to (default: all)
# [outcomes.mortality.tau_prior]   # heterogeneity prior of Bayesian analyses (k <= 4):
# kind = "half-normal"             # half-normal, half-cauchy, half-t, log-normal, turner, rhodes
# scale = 0.5                      # on the analysis scale (log ratio, or the outcome's unit)
# measure = "OR"                   # the measure it is for (default: the outcome's); a prior
#                                  # is never applied to another scale
# source = "who recommends it, where"

# --- Follow-up windows: one [windows.<key>] table each. Within a window each trial's latest
# time point is pooled; a longest-follow-up window takes each trial's longest time point (and
# a record whose time point is not stated when the trial has no other).
[windows.1y]
label = "about 1 year (6-18 months)"
months = [6, 18]

[windows.longest]
label = "longest follow-up"
longest = true

# --- Designs accepted in trials.csv and where GRADE starts each (optional; this replaces the
# default list: RCT, quasi-randomised, randomisation not verified, not verified (no source
# found) start high; cohort, case-control start low).
# [designs]
# RCT = "high"
# cohort = "low"

# --- GRADE: the indirectness judgement of each comparison x outcome (or `all`); without one a
# row's certainty is provisional ("not judged").
# [indirectness.A.all]
# rating = "not serious"           # not serious, serious or very serious
# reason = "the trials enrolled the question's population"

# --- Harms of harms.csv (optional file): the harms profile results/<page>.md|html|csv.
# [harms]
# page = "harms"                   # the page's name (default harms)
# title = "Harms profile"          # its heading (default: "Harms profile: <title>")
# [harms.bleeding]                 # a harm: the `harm` of harms.csv
# label = "Major bleeding"         # required: the section title
# unit = "patients with a major bleed"   # what a figure counts
# grouping = "window"              # single-study counts pooled within a follow-up window
#                                  # (window, default), whatever the follow-up (all), or
#                                  # never (none, e.g. the two arms of one trial)
"""


def write_skeleton(records: Path, specs: Path) -> list[Path]:
    """Write a review skeleton.

    Write a review skeleton: the records folder ``records`` and the specs folder ``specs`` (both
    created if absent); return the files and folders written. Raises FileExistsError naming the
    first file that already exists.
    """
    targets = [records / FILE_NAME, *(records / f"{name}.csv" for name in FILES)]
    for path in targets:
        if path.exists():
            raise FileExistsError(f"{path}: already exists; metafuse init never overwrites")
    records.mkdir(parents=True, exist_ok=True)
    written = [write_text_atomic(records / FILE_NAME, REVIEW_TOML)]
    layouts = schemas(load_review(records))
    for name in FILES:
        header = tuple(layouts[name].columns)
        written.append(write_text_atomic(records / f"{name}.csv", to_csv(header, [])))
    specs.mkdir(exist_ok=True)
    return [*written, specs]
