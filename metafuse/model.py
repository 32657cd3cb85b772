"""The model specification: what to fit and how, as one typed, frozen :class:`Model`.

Every option of a meta-analysis model (measure and method, the HKSJ adjustment, interval level and
prediction interval, zero-cell rules, the heterogeneity statistic of RevMan's "M-H, Random", the
tau^2 options, unweighted fits, the Mantel-Haenszel continuity correction), and every list of the
values an option takes, is defined in this module and nowhere else. :func:`metafuse.pool`,
:func:`metafuse.refit`, the toolbox, :func:`metafuse.bayes_pool`, analysis specs, review
outcomes, RevMan import and the command line build or read a :class:`Model`; its fields generate
the spec keys and the command-line options. A model is checked once, where it is built
(:class:`~metafuse.exceptions.ModelError` names the field; :mod:`metafuse.model_options` holds the
checks); an option not given takes the default of the model's convention
(:mod:`metafuse.conventions`).

What describes the data rather than the model (whether generic estimates are ratios, the name and
unit of the scale, per-study user weights) stays with the data: :func:`metafuse.pool` takes it
beside the model.

Codes follow metafor's (Viechtbauer 2010, J Stat Softw 36(3)), so users can move between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from metafuse.exceptions import ModelError

if TYPE_CHECKING:
    from metafuse.conventions import Convention

# --- the vocabularies -----------------------------------------------------------------------

#: Effect measures: two-arm binary (RR, OR, RD), continuous (MD, SMD), generic (GEN), single-arm
#: proportions (PLO, PFT), incidence rates (IRR, IRD; IRLN for one group), single-group pre-post
#: change (MC, SMCC, SMCR, SMCRH) and Peto's log odds ratio as an effect size (PETO).
Measure = Literal[
    "RR", "OR", "RD", "MD", "SMD", "GEN", "PLO", "PFT", "IRR", "IRD", "IRLN",
    "MC", "SMCC", "SMCR", "SMCRH", "PETO",
]  # fmt: skip
#: Two-arm binary outcomes: events and totals per arm.
BINARY_MEASURES: Final = ("RR", "OR", "RD")
#: Binary measures compared on the ratio scale (log scale for analysis).
RATIO_MEASURES: Final = ("RR", "OR")
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

#: Pooling methods: fixed effect (FE; metafor's EE), Mantel-Haenszel and Peto, or a random-effects
#: model named by its tau^2 estimator.
Method = Literal[
    "FE", "EE", "MH", "PETO", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS", "HSK", "DL2",
    "CA2", "PMM", "GENQ", "GENQM",
]  # fmt: skip
#: Inverse-variance fixed (common) effect. "EE" is metafor's name for the same model.
FIXED_METHODS: Final = ("FE", "EE")
#: Mantel-Haenszel and Peto fixed-effect methods for 2x2 tables (raw counts).
TABLE_METHODS: Final = ("MH", "PETO")
#: Random-effects models, named by their tau^2 estimator.
RANDOM_METHODS: Final = (
    "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS", "HSK", "DL2", "CA2", "PMM", "GENQ", "GENQM",
)  # fmt: skip
METHODS: Final = FIXED_METHODS + TABLE_METHODS + RANDOM_METHODS
#: Generalised-Q estimators: they need weights, and their tau^2 CI is the generalised Q interval.
GENERALISED_Q_METHODS: Final = ("GENQ", "GENQM")
#: Which measures each 2x2-table method can pool.
TABLE_METHOD_MEASURES: Final = {"MH": ("RR", "OR", "RD", "IRR", "IRD"), "PETO": ("OR",)}

#: Prediction interval: t with k - 2 df (Higgins et al. 2009; metafuse), z (metafor), t with
#: k - 1 df (RevMan Web), or none (RevMan 5).
PredictionKind = Literal["t(k-2)", "z", "t(k-1)", "none"]
PREDICTION_KINDS: Final = get_args(PredictionKind)
#: Which 2x2 tables get the continuity correction: those with a zero cell, all, all when any has
#: a zero cell, or none.
ZeroCellRule = Literal["only0", "all", "if0all", "none"]
ZERO_CELL_RULES: Final = get_args(ZeroCellRule)
#: The heterogeneity statistic tau^2 comes from: inverse variance, or Mantel-Haenszel (RevMan).
QFrom = Literal["iv", "mh"]
Q_FROM: Final = get_args(QFrom)
#: Whose defaults a model takes (:mod:`metafuse.conventions`).
ConventionName = Literal["metafuse", "metafor", "revman5", "revman-web"]
CONVENTION_NAMES: Final = get_args(ConventionName)
#: Small-sample correction of the SMD: exact (Hedges 1981; metafor) or approximate (RevMan).
SmdCorrection = Literal["exact", "approximate"]
SMD_CORRECTIONS: Final = get_args(SmdCorrection)
#: Priors on the heterogeneity tau of a Bayesian model, by name (:mod:`metafuse.bayes.priors`).
TauPriorKind = Literal["half-normal", "half-cauchy", "half-t", "log-normal", "turner", "rhodes"]
TAU_PRIORS: Final = get_args(TauPriorKind)
#: Priors on the overall effect mu of a Bayesian model.
MuPriorKind = Literal["flat", "normal"]
MU_PRIORS: Final = get_args(MuPriorKind)


#: ``tau2_options`` keys (the engine's names) and the fields of :class:`Model` that hold them.
TAU2_OPTION_FIELDS: Final = {"tau2": "tau2", "start": "tau2_start", "weights": "tau2_weights"}


def _meta(
    text: str, *, spec: bool = True, cli: bool = True, off: str | None = None
) -> dict[str, Any]:
    """Return the metadata of an option's field.

    The help text, whether the option is a spec key and a command-line option, and for a flag the
    name that turns it off.
    """
    return {"help": text, "spec": spec, "cli": cli, "off": off}


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True, init=False, repr=False)
class Model:
    """A meta-analysis model: what is pooled, how, and with which intervals.

    Frozen and checked when built; every option not given takes the default of ``convention``
    (the defaults of metafuse, metafor, RevMan 5 or RevMan Web; :mod:`metafuse.conventions`).
    :func:`metafuse.pool` fits it and the result carries it (``result.model``).

    Parameters
    ----------
    measure : str, optional
        The effect measure (:data:`MEASURES`); optional until data are pooled (effect sizes
        carry their own).
    method : str, optional
        ``FE`` (alias ``EE``), ``MH``, ``PETO`` or a random-effects tau^2 estimator
        (:data:`RANDOM_METHODS`). Default: the convention's (REML; DL for RevMan 5).
    hksj : bool, optional
        Hartung-Knapp-Sidik-Jonkman adjustment (inverse-variance models). Default: the
        convention's (on for RevMan Web random effects).
    convention : str, optional
        ``metafuse`` (default), ``metafor``, ``revman5`` or ``revman-web``.
    level : float, optional
        Coverage of the confidence and prediction intervals (0.95; 95 is read as 0.95).
    prediction : str, optional
        Prediction interval: ``t(k-2)`` (metafuse), ``z`` (metafor), ``t(k-1)`` or ``none``.
    add : float, optional
        Continuity correction added to the cells of 2x2 tables with a zero cell (0.5).
    to : str, optional
        Which tables get it: ``only0`` (default), ``all``, ``if0all`` or ``none``.
    drop00 : bool, optional
        Whether studies without events (or with events in everyone) in both arms are left out.
        Default: the convention's rule for the measure and method.
    q_from : str, optional
        ``iv`` (default) or ``mh``: a DerSimonian-Laird model of 2x2 tables takes tau^2 from the
        heterogeneity statistic around the Mantel-Haenszel estimate (RevMan's "M-H, Random").
    weighted : bool, optional
        False pools the unweighted mean (metafor's ``weighted=FALSE``).
    correct : bool, optional
        Continuity correction of the Cochran-Mantel-Haenszel and Cochran tests of a
        Mantel-Haenszel fit (metafor's ``rma.mh(correct=)``; default True).
    tau2 : float, optional
        A tau^2 fixed in advance (metafor's ``rma(tau2=)``).
    tau2_start : float, optional
        Start value of the Sidik-Jonkman estimator.
    tau2_weights : sequence of float, optional
        Weights of the generalised-Q estimators (GENQ, GENQM), one per study.
    tau2_options : mapping, optional
        The three tau^2 options by the engine's names: ``tau2``, ``start``, ``weights``.

    Raises
    ------
    ModelError
        An option unknown, out of range or that does not apply (``field`` names it).

    Examples
    --------
    >>> from metafuse import Model
    >>> Model("RR", hksj=True).method
    'REML'
    >>> Model.from_convention("revman5", method="DL").prediction
    'none'
    """

    measure: Measure | None = field(metadata=_meta("Effect measure.", spec=False))
    method: Method = field(
        metadata=_meta(
            "FE/EE, MH, PETO, or a random-effects tau^2 estimator "
            "(default: the convention's, REML)."
        )
    )
    hksj: bool = field(
        metadata=_meta("Hartung-Knapp-Sidik-Jonkman adjustment (inverse-variance models).")
    )
    convention: ConventionName = field(
        metadata=_meta("Defaults of another tool (default metafuse; README: conventions).")
    )
    level: float = field(metadata=_meta("Coverage of intervals, e.g. 0.95 or 90."))
    prediction: PredictionKind = field(
        metadata=_meta("Prediction interval (default: the convention's).")
    )
    add: float = field(metadata=_meta("Continuity correction added to 2x2 cells (default 0.5)."))
    to: ZeroCellRule = field(metadata=_meta("Which 2x2 tables get the correction (default only0)."))
    drop00: bool | None = field(
        metadata=_meta(
            "Drop double-zero studies (default: yes for RR/OR, no for RD).", off="--keep00"
        )
    )
    q_from: QFrom = field(
        metadata=_meta(
            "mh: DerSimonian-Laird tau^2 from the Mantel-Haenszel Q (RevMan's M-H, Random)."
        )
    )
    weighted: bool = field(
        metadata=_meta(
            "Inverse-variance weights (--unweighted: the unweighted mean).", off="--unweighted"
        )
    )
    correct: bool = field(
        metadata=_meta(
            "Continuity correction of the CMH and Cochran tests of a Mantel-Haenszel fit.",
            off="--no-correct",
        )
    )
    tau2: float | None = field(metadata=_meta("A tau^2 fixed in advance (metafor's rma(tau2=))."))
    tau2_start: float | None = field(
        metadata=_meta("Start value of the Sidik-Jonkman tau^2 estimator.")
    )
    tau2_weights: tuple[float, ...] | None = field(
        metadata=_meta("Weights of the GENQ/GENQM estimators.", spec=False, cli=False)
    )
    _given: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __init__(
        self,
        measure: str | None = None,
        method: str | None = None,
        hksj: bool | None = None,
        *,
        convention: str | None = None,
        level: float | None = None,
        prediction: str | None = None,
        add: float | None = None,
        to: str | None = None,
        drop00: bool | None = None,
        q_from: str | None = None,
        weighted: bool | None = None,
        correct: bool | None = None,
        tau2: float | None = None,
        tau2_start: float | None = None,
        tau2_weights: Any = None,
        tau2_options: Mapping[str, Any] | None = None,
    ) -> None:
        raw = {
            "measure": measure, "method": method, "hksj": hksj, "convention": convention,
            "level": level, "prediction": prediction, "add": add, "to": to, "drop00": drop00,
            "q_from": q_from, "weighted": weighted, "correct": correct, "tau2": tau2,
            "tau2_start": tau2_start, "tau2_weights": tau2_weights,
        }  # fmt: skip
        from metafuse.model_options import resolve, tau2_fields

        given = {name: value for name, value in raw.items() if value is not None}
        if tau2_options is not None:
            given.update(tau2_fields(tau2_options, given))
        for name, value in resolve(given).items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_given", frozenset(given))

    @classmethod
    def from_convention(cls, name: str, **options: Any) -> Model:
        """Return the model with the defaults of another tool, and ``options`` changed.

        Parameters
        ----------
        name : str
            ``metafuse``, ``metafor``, ``revman5`` or ``revman-web``.
        **options
            Other options of the model (its fields).

        Returns
        -------
        Model
            The model.
        """
        return cls(convention=name, **options)

    @property
    def given(self) -> frozenset[str]:
        """The options given when the model was built (the others are the convention's)."""
        return self._given

    @property
    def preset(self) -> Convention:
        """The convention's preset (its rules beyond the options: SMD correction, ...)."""
        from metafuse.conventions import get_convention

        return get_convention(self.convention)

    @property
    def is_random(self) -> bool:
        """True for a random-effects model."""
        return self.method in RANDOM_METHODS

    @property
    def tau2_options(self) -> dict[str, Any]:
        """The tau^2 options by the engine's names (``tau2``, ``start``, ``weights``), if set."""
        out = {key: getattr(self, name) for key, name in TAU2_OPTION_FIELDS.items()}
        return {key: value for key, value in out.items() if value is not None}

    def replace(self, **changes: Any) -> Model:
        """Return the model with some options changed; options given as None are left as they are.

        Options given when the model was built keep their values; the others follow the
        convention (a new one when ``convention`` changes).

        Parameters
        ----------
        **changes
            Options (fields of the model, or ``tau2_options``).

        Returns
        -------
        Model
            The new model.
        """
        unknown = sorted(set(changes) - {*OPTION_NAMES, "tau2_options"})
        if unknown:
            raise TypeError(
                f"unknown model option {unknown[0]!r}; the options are {', '.join(OPTION_NAMES)}"
            )
        kept = {name: getattr(self, name) for name in self._given}
        for key in changes.get("tau2_options") or {}:
            kept.pop(TAU2_OPTION_FIELDS.get(key, key), None)
        return Model(**{**kept, **{k: v for k, v in changes.items() if v is not None}})

    def arguments(self) -> dict[str, Any]:
        """Return the options given when the model was built, by name, in field order.

        The keyword arguments of :func:`metafuse.pool` that rebuild the model (the others are
        the convention's defaults).

        Returns
        -------
        dict
            Option name to value.
        """
        return {name: getattr(self, name) for name in OPTION_NAMES if name in self._given}

    def effect_options(self) -> dict[str, Any]:
        """Return the effect-size options (zero cells, SMD correction) for the model's measure.

        Returns
        -------
        dict
            ``add, to, drop00, smd, rd_uncorrected``.
        """
        if self.measure is None:
            raise ModelError("measure", "give the measure of the data")
        preset = self.preset
        return {
            "add": self.add,
            "to": self.to,
            "drop00": self.drop00,
            "smd": preset.smd,
            "rd_uncorrected": preset.rd_uncorrected,
        }

    def fit_options(self) -> dict[str, Any]:
        """Return the keyword arguments of :func:`metafuse.fit_inverse_variance` the model sets.

        Returns
        -------
        dict
            ``level, prediction, weighted, tau2_options``.
        """
        return {
            "level": self.level,
            "prediction": self.prediction,
            "weighted": self.weighted,
            "tau2_options": self.tau2_options or None,
        }

    def result_options(self) -> dict[str, Any]:
        """Return the options a pooled result lists (``PooledResult.options``).

        Returns
        -------
        dict
            ``level, prediction, convention, weighted, tau2_options, q_from, correct``.
        """
        return {
            "level": self.level,
            "prediction": self.prediction,
            "convention": self.convention,
            "weighted": self.weighted,
            "tau2_options": self.tau2_options,
            "q_from": self.q_from,
            "correct": self.correct,
        }

    def __repr__(self) -> str:
        """Return the model as the call that builds it: the main options, then those given."""
        shown = ["measure", "method", "hksj", "convention", "level", "prediction"]
        shown += [name for name in OPTION_NAMES if name in self._given and name not in shown]
        return f"Model({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})"


#: The options of a model, in field order.
OPTION_NAMES: Final = tuple(f.name for f in fields(Model) if f.init)
