"""Every numerical tolerance used by the tests, in one place, each with its reason.

Use as ``pytest.approx(expected, **CLOSED_FORM)``.
"""

from __future__ import annotations

from typing import Final

#: Closed-form results (effect sizes, FE/MH/Peto, DL/HE/SJ/HS, Q, I^2 under them) against metafor's
#: output printed with 15 significant digits: both sides evaluate the same formulas in double
#: precision; differences come from summation order and the 15-digit print only.
CLOSED_FORM: Final = {"rel": 1e-10, "abs": 1e-12}

#: Iterative results (REML, ML, PM/EB tau^2 and everything computed from it; Q-profile limits).
#: metafor's references were solved with threshold 1e-13 (a few cases needed 1e-12) and uniroot
#: tol 1e-13; metafuse solves to ~1e-12 relative. The issue's bound for iterative results is 1e-6;
#: the realised agreement is far closer, which the assertion would show if it regressed.
ITERATIVE: Final = {"rel": 1e-6, "abs": 1e-9}


#: Values printed in a published table to d decimals: half a unit in the last printed place.
def printed(decimals: int) -> dict[str, float]:
    """Tolerance for a number printed with ``decimals`` decimals (rounding error only)."""
    return {"rel": 0.0, "abs": 0.5 * 10.0**-decimals + 1e-12}


#: DerSimonian & Kacker (2007) Table 3, ML row: the printed mu/se were computed at tau = 0.0023,
#: where their iteration stopped, instead of at the maximum tau = 0; at 4 decimals this moves mu by
#: 5e-5 (-0.19738 vs -0.19735) and se by less. One unit in the 4th decimal covers that shift.
STOPPED_ITERATION: Final = {"rel": 0.0, "abs": 1e-4}

#: RevMan 5 files store doubles at full precision; metafuse evaluates the same closed forms (DL,
#: MH, IV), so agreement is to summation order. The issue's bound is 1e-6; realised ~1e-13.
REVMAN_RM5: Final = {"rel": 1e-9, "abs": 1e-12}

#: RevMan 5's CSV export rounds to 8 decimals: half a unit in the 8th decimal.
REVMAN_CSV: Final = {"rel": 0.0, "abs": 5e-9 + 1e-12}

#: RevMan's P values come from its own normal and chi^2 routines, which differ from exact values
#: by up to 4e-7 absolute (seen on the real files); the issue's bound for stored numbers is 1e-6.
REVMAN_P: Final = {"rel": 0.0, "abs": 1e-6}

#: bayesmeta's printed tau summaries (Röver 2020, J Stat Softw 93(6); its vignette): tau is
#: integrated numerically there as here; the prints carry 7 significant digits.
BAYESMETA_TAU: Final = {"rel": 1e-6, "abs": 1e-7}

#: bayesmeta's printed mu, prediction and shrinkage summaries come from its discrete
#: normal-mixture approximation (Röver & Friede 2017, JCGS 26:1024-1035; delta = 0.01): two prints
#: of the same fit differ by up to 1e-4 (Röver 2020, p.22 vs p.23), and a tail probability of
#: 6e-5 by 3%. metafuse integrates exactly; the bound covers bayesmeta's approximation.
BAYESMETA_MU: Final = {"rel": 2e-4, "abs": 1e-3}

#: The issue's bound for the exact posterior against an independent brute-force integration
#: (a 2-D trapezoid rule over mu and tau, without the analytic mu step): probabilities to 1e-3.
BRUTE_FORCE_PROBABILITY: Final = 1e-3

#: Two evaluations of the same double-precision expression: the library's, and the formula
#: written out in the test (a hand calculation, an exact identity, the same fit computed in two
#: ways, a batch against one fit at a time, Var(Q) from the k x k projection and from its factored
#: form). Only rounding in the last bits can differ.
SAME_FORMULA: Final = {"rel": 1e-12, "abs": 1e-15}

#: The batch engine against pool() row by row: the same engine code, but sums run over masked
#: zeros in a different order, so iterative estimators can stop a few ulps apart.
SAME_ENGINE: Final = {"rel": 1e-10, "abs": 1e-12}

#: An exact permutation P value is a count divided by the number of permutations (metafor's
#: permutest(exact = TRUE) as here): equal up to the rounding of one division.
EXACT_SHARE: Final = {"rel": 0.0, "abs": 1e-15}

#: bayesmeta's P(mu > 0) = 6.187343e-05 for the CRINS example (Röver 2020, p.22) is a tail of its
#: discrete normal-mixture approximation (delta = 0.01), which differs from the exact tail by
#: about 3% there (see BAYESMETA_MU); 5% covers the approximation, not our arithmetic.
BAYESMETA_TAIL: Final = {"rel": 0.05, "abs": 0.0}

#: Quantiles printed with 7 to 9 significant digits (Röver 2020, p.31, TurnerEtAlPrior): a
#: relative rounding error below 1e-7.
PRINTED_SIGNIFICANT_7: Final = {"rel": 1e-7, "abs": 0.0}

#: The Cochrane Handbook (6.5.2.2) prints the divisor 2 t(0.975, 24) as 4.128, the quantile to 3
#: decimals; a CI width rebuilt from that quantile holds to 1e-3.
HANDBOOK_T_QUANTILE: Final = {"rel": 0.0, "abs": 1e-3}

#: The weighted chi^2 tail by Imhof's (1961) inversion formula, integrated numerically (quad with
#: epsabs 1e-12 inside), against closed forms: about 1e-10 relative, 1e-13 absolute in the tail.
IMHOF_INTEGRAL: Final = {"rel": 1e-9, "abs": 1e-13}

#: metafor's hc() finds the Henmi-Copas limits with uniroot (tol 1e-13) over an integrate() at
#: its default tolerance (about 1e-4 relative to the integrand's scale): the CI limits agree to
#: about 1e-9; 1e-8 leaves a margin for that integration, not for ours.
HENMI_COPAS_LIMITS: Final = {"rel": 1e-8, "abs": 0.0}

#: REML/ML log-likelihood at our tau^2 against the best of a 20,001-point grid: our solver stops
#: within ~1e-12 of the maximum; a value 1e-9 below the grid's best would mean a different local
#: maximum (those differ by far more on the Lau 1992 steps).
GLOBAL_MAXIMUM_SLACK: Final = 1e-9
#: The generalised Q interval for tau^2 (GENQ fits): metafor finds each limit with uniroot
#: (tol 1e-13) on probabilities from CompQuadForm's Farebrother algorithm, whose default accuracy
#: is 1e-10; metafuse integrates Imhof's formula to ~1e-12 and solves with brentq. A probability
#: error of 1e-10 moves a limit by 1e-10 / density, about 1e-9 relative here.
GENERALISED_Q_INTERVAL: Final = {"rel": 1e-7, "abs": 1e-10}

#: metafor 3.8.1's confint() of a GENQ fit solves for the limits with uniroot's default tolerance,
#: .Machine$double.eps^0.25 = 1.22e-4 on tau^2 (its control tol is not passed on): its printed
#: limits are within that of the exact ones (the reference also holds them solved at 1e-13).
METAFOR_UNIROOT: Final = {"rel": 0.0, "abs": 1.25e-4}
