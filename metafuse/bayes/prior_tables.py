# ruff: noqa: E501  (the prior tables keep one setting per line)
"""The published predictive distributions of heterogeneity used as priors on tau.

Turner et al. (2015) for log odds ratios and Rhodes et al. (2015) for standardised mean
differences, as numbers only; :func:`metafuse.bayes.priors.turner_prior` and
:func:`metafuse.bayes.priors.rhodes_prior` make priors of them.

References
----------
Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015). Predictive distributions for
    between-study heterogeneity and simple methods for their application in Bayesian
    meta-analysis. Stat Med 34:984-998 (Table IV: log tau^2 ~ N(m, s^2) on the log-OR scale).
Rhodes KM, Turner RM, Higgins JPT (2015). Predictive distributions were developed for the extent
    of heterogeneity in meta-analyses of continuous outcome data. J Clin Epidemiol 68:52-60
    (Table 3: log tau^2 ~ m + s t(5) on the SMD scale).
"""

from __future__ import annotations

from typing import Final

#: Turner et al. (2015), Table IV: (mean, SD) of log tau^2 for log odds ratios, by outcome type
#: and by comparison type, in the columns of :data:`TURNER_COMPARISONS`. Transcribed from the
#: table as reproduced in the bayesmeta R package (``TurnerEtAlPrior``, "see Table IV"); the
#: surgical / pharmacological-vs-placebo cell is confirmed by the prior quantiles printed in Röver
#: (2020), J Stat Softw 93(6), p.31; the table is additive in its columns (constant offsets
#: -0.23, -0.22, +1.03, +0.44 from the first), which a transcription error would break.
TURNER_COMPARISONS: Final = (
    "pharmacological vs placebo/control",
    "pharmacological vs pharmacological",
    "non-pharmacological vs placebo/control",
    "non-pharmacological vs pharmacological",
    "non-pharmacological vs non-pharmacological",
)
TURNER_2015: Final[dict[str, tuple[tuple[float, float], ...]]] = {
    "all-cause mortality": ((-3.95, 1.34), (-4.18, 1.41), (-4.17, 1.55), (-2.92, 1.02), (-3.50, 1.26)),
    "obstetric outcomes": ((-3.52, 1.74), (-3.75, 1.79), (-3.74, 1.91), (-2.49, 1.50), (-3.08, 1.68)),
    "cause-specific mortality / major morbidity event / composite": (
        (-3.71, 1.74), (-3.95, 1.79), (-3.93, 1.91), (-2.68, 1.51), (-3.27, 1.68)),
    "resource use / hospital stay / process": (
        (-2.34, 1.74), (-2.58, 1.79), (-2.56, 1.91), (-1.31, 1.50), (-1.90, 1.68)),
    "surgical / device related success / failure": (
        (-2.14, 1.74), (-2.37, 1.79), (-2.36, 1.91), (-1.11, 1.50), (-1.69, 1.68)),
    "withdrawals / drop-outs": ((-2.99, 1.74), (-3.23, 1.79), (-3.21, 1.91), (-1.96, 1.51), (-2.55, 1.68)),
    "internal / structure-related outcomes": (
        (-2.71, 1.74), (-2.94, 1.79), (-2.93, 1.92), (-1.67, 1.51), (-2.26, 1.68)),
    "general physical health indicators": (
        (-2.29, 1.53), (-2.53, 1.58), (-2.51, 1.72), (-1.26, 1.25), (-1.85, 1.46)),
    "adverse events": ((-1.87, 1.52), (-2.10, 1.58), (-2.10, 1.71), (-0.84, 1.24), (-1.43, 1.45)),
    "infection / onset of new disease": (
        (-2.49, 1.52), (-2.73, 1.58), (-2.71, 1.71), (-1.46, 1.24), (-2.05, 1.45)),
    "signs / symptoms reflecting continuation / end of condition": (
        (-2.06, 1.51), (-2.29, 1.58), (-2.28, 1.71), (-1.03, 1.24), (-1.61, 1.45)),
    "pain": ((-1.83, 1.52), (-2.06, 1.58), (-2.05, 1.71), (-0.80, 1.25), (-1.38, 1.45)),
    "quality of life / functioning (dichotomized)": (
        (-2.54, 1.54), (-2.78, 1.60), (-2.77, 1.73), (-1.51, 1.27), (-2.10, 1.47)),
    "mental health indicators": ((-2.12, 1.53), (-2.35, 1.60), (-2.34, 1.72), (-1.09, 1.27), (-1.67, 1.47)),
    "biological markers (dichotomized)": (
        (-1.77, 1.52), (-2.00, 1.58), (-1.99, 1.71), (-0.74, 1.24), (-1.33, 1.45)),
    "subjective outcomes (various)": (
        (-2.70, 1.52), (-2.93, 1.58), (-2.92, 1.71), (-1.67, 1.25), (-2.26, 1.45)),
}  # fmt: skip
#: Turner et al. (2015), the general healthcare setting (p.993): log tau^2 ~ N(-2.56, 1.74^2).
TURNER_2015_GENERAL: Final = (-2.56, 1.74)

#: Rhodes et al. (2015), Table 3 ("other" medical areas): (location, scale) of log tau^2 =
#: location + scale t(5) for standardised mean differences, by outcome type, in the columns of
#: :data:`RHODES_COMPARISONS`; transcribed as in the bayesmeta R package (``RhodesEtAlPrior``,
#: "see Tab.3"). The table is additive in its columns (offsets -0.27/-0.28 and +0.14) except the
#: mental-health / non-pharmacological cell (-3.85 where the pattern gives -2.85): that cell is
#: left out (None) until checked against the paper.
RHODES_COMPARISONS: Final = (
    "pharmacological vs placebo/control",
    "pharmacological vs pharmacological",
    "non-pharmacological (any)",
)
RHODES_2015: Final[dict[str, tuple[tuple[float, float] | None, ...]]] = {
    "obstetric outcome": ((-4.13, 2.34), (-4.40, 2.31), (-3.99, 2.11)),
    "resource use and hospital stay / process": ((-2.55, 2.73), (-2.83, 2.70), (-2.41, 2.57)),
    "internal and external structure-related outcome": ((-2.43, 2.50), (-2.70, 2.46), (-2.29, 2.32)),
    "general physical health, adverse event, pain, quality of life / functioning": (
        (-3.16, 2.50), (-3.44, 2.44), (-3.02, 2.27)),
    "signs / symptoms of the condition, infection / onset of new disease": (
        (-3.00, 2.50), (-3.27, 2.47), (-2.86, 2.33)),
    "mental health outcome": ((-2.99, 2.16), (-3.27, 2.14), None),
    "biological marker": ((-3.41, 2.83), (-3.68, 2.78), (-3.27, 2.66)),
    "various subjectively measured outcomes": ((-2.76, 2.58), (-3.03, 2.59), (-2.62, 2.41)),
}  # fmt: skip
#: Rhodes et al. (2015), the general setting (section 3.3): log tau^2 ~ -3.44 + 2.59 t(5).
RHODES_2015_GENERAL: Final = (-3.44, 2.59)
RHODES_DF: Final = 5
