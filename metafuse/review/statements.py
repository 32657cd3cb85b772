"""Words for a panel.

Words for a panel: informative statements (GRADE guidance 26; the wording of Core GRADE 6 box 1) and
the SoF table's legend.

An informative statement joins the certainty of the evidence with the target of the rating (Core
GRADE 2): against the minimal important difference "an important reduction/increase" or "little to
no important effect"; against no effect (no MID declared) "reduces/increases". The certainty gives
the qualifier: high none, moderate "probably", low "may", very low "the effect ... is very
uncertain".

References
----------
Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative statements to communicate
    the findings of systematic reviews of interventions. J Clin Epidemiol 2020;119:126-135.
Guyatt G, et al. Core GRADE 6: presenting the evidence in summary of findings tables. BMJ
    2025;389:e083866 (box 1: standardised plain language summaries).
GRADE Handbook (Schünemann H, Brożek J, Guyatt G, Oxman A, eds, 2013), table 5.1: the four
    certainty definitions.
"""

from __future__ import annotations

from typing import Final

#: Qualifier by certainty level (Core GRADE 6 box 1).
_QUALIFIER: Final = {"high": "", "moderate": "probably ", "low": "may "}

GRADE_DEFINITIONS: Final = (
    "High certainty: we are very confident that the true effect lies close to that of the "
    "estimate of the effect.",
    "Moderate certainty: we are moderately confident in the effect estimate: the true effect "
    "is likely to be close to the estimate of the effect, but there is a possibility that it "
    "is substantially different.",
    "Low certainty: our confidence in the effect estimate is limited: the true effect may be "
    "substantially different from the estimate of the effect.",
    "Very low certainty: we have very little confidence in the effect estimate: the true effect "
    "is likely to be substantially different from the estimate of effect.",
)
ABSOLUTE_EFFECT_NOTE: Final = (
    "*The risk in the intervention group (and its 95% confidence interval) is based on the "
    "assumed risk in the comparison group and the relative effect of the intervention (and its "
    "95% CI). For continuous outcomes, the intervention mean is the comparator mean plus the "
    "mean difference."
)
ABBREVIATIONS: Final = {
    "CI": "confidence interval",
    "CrI": "credible interval",
    "MD": "mean difference",
    "RR": "risk ratio",
    "OR": "odds ratio",
    "RD": "risk difference",
    "SMD": "standardised mean difference",
    "MID": "minimal important difference",
    "RCT": "randomised controlled trial",
}


def in_sentence(name: str) -> str:
    """Return a name as it reads mid-sentence.

    A name as it reads mid-sentence: 'Early physiotherapy' -> 'early physiotherapy' (acronyms such
    as 'BCG' stay).
    """
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def informative_statement(
    level: str, target: str, decreases: bool, intervention: str, comparator: str, outcome: str
) -> str:
    """Return the plain-language statement for one outcome (Core GRADE 6 box 1).

    ``target`` is the imprecision target ('little or no difference', 'an important benefit', 'a
    benefit', ...); ``decreases`` says whether the point estimate lowers the outcome (an MD below 0,
    a ratio below 1).
    """
    versus = f" compared with {in_sentence(comparator)}"
    if level == "very low":
        return f"The effect of {in_sentence(intervention)} on {outcome}{versus} is very uncertain."
    qualifier = _QUALIFIER[level]
    subject = intervention[:1].upper() + intervention[1:]
    direction = "reduction" if decreases else "increase"
    modal = bool(qualifier.strip()) and qualifier != "probably "
    if target == "little or no difference":
        verb = "have" if modal else "has"
        return f"{subject} {qualifier}{verb} little to no important effect on {outcome}{versus}."
    if target.startswith("an important"):
        verb = "result" if modal else "results"
        return f"{subject} {qualifier}{verb} in an important {direction} in {outcome}{versus}."
    base = "reduce" if decreases else "increase"
    verb = base if modal else base + "s"
    return f"{subject} {qualifier}{verb} {outcome}{versus}."


def abbreviations(texts: list[str]) -> str:
    """'CI: confidence interval; MD: mean difference; …' for the abbreviations used."""
    used = [
        f"{abbr}: {words}"
        for abbr, words in ABBREVIATIONS.items()
        if any(f"{abbr} " in t or f"({abbr}" in t or f" {abbr})" in t for t in texts)
    ]
    return "; ".join(used)
