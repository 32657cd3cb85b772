"""Words for a panel: informative statements (GRADE guidance 26) and the SoF table's legend.

An informative statement joins the certainty of the evidence with the size of the effect: the
target of the certainty rating (inside ±MID "little or no difference", beyond it an important
effect; Core GRADE 2) decides the verb, the certainty its qualifier ("results in", "probably",
"may", "the evidence is very uncertain").

References
----------
Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative statements to communicate
    the findings of systematic reviews of interventions. J Clin Epidemiol 2020;119:126-135.
Schünemann HJ, Higgins JPT, Vist GE, et al. Cochrane Handbook version 6.4, chapter 14 (the GRADE
    Working Group grades of evidence in SoF tables).
"""

from __future__ import annotations

from typing import Final

#: Verb phrases by certainty level: (important effect, little or no difference).
_QUALIFIED: Final = {
    "high": ("{verb}", "results in little to no difference in"),
    "moderate": ("probably {verb}", "probably results in little to no difference in"),
    "low": ("may {verb}", "may result in little to no difference in"),
}
_VERBS: Final = {
    # (level is "high": third person; otherwise the bare verb after a modal)
    ("reduce", True): "reduces",
    ("reduce", False): "reduce",
    ("increase", True): "increases",
    ("increase", False): "increase",
}

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
    """A name as it reads mid-sentence: 'Decompression plus fusion' -> 'decompression plus
    fusion' (acronyms such as 'BCG' stay)."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def informative_statement(
    level: str, target: str, decreases: bool, intervention: str, comparator: str, outcome: str
) -> str:
    """The GRADE 26 statement for one outcome.

    ``target`` is the imprecision target ('little or no difference', 'an important benefit',
    ...); ``decreases`` says whether the point estimate lowers the outcome (an MD below 0, a
    ratio below 1)."""
    versus = f"compared with {in_sentence(comparator)}"
    if level == "very low":
        return (
            f"The evidence is very uncertain about the effect of {in_sentence(intervention)} "
            f"on {outcome} {versus}."
        )
    important, none = _QUALIFIED[level]
    subject = intervention[:1].upper() + intervention[1:]
    if target == "little or no difference":
        return f"{subject} {none} {outcome} {versus}."
    verb = _VERBS[("reduce" if decreases else "increase", level == "high")]
    return f"{subject} {important.format(verb=verb)} {outcome} {versus}."


def abbreviations(texts: list[str]) -> str:
    """'CI: confidence interval; MD: mean difference; …' for the abbreviations used."""
    used = [
        f"{abbr}: {words}"
        for abbr, words in ABBREVIATIONS.items()
        if any(f"{abbr} " in t or f"({abbr}" in t or f" {abbr})" in t for t in texts)
    ]
    return "; ".join(used)
