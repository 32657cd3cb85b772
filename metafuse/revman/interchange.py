"""RevMan 5 interchange: reviews as metafuse inputs, analyses in RevMan's CSV layout.

RevMan 5 interchange: a ``.rm5`` review as metafuse inputs (one study CSV and one analysis spec per
outcome), and a pooled analysis as a CSV in RevMan 5's own layout.

The CSV layout is that of RevMan 5's CSV export, read from real exports (``Fleiss93_CR.csv`` of
R meta, RevMan 5.0; see ``tests/fixtures/revman/README.md``): one row for the comparison, one
for the outcome with its totals, one per subgroup and one per study; numbers rounded to 8
decimals; ratios on the ratio scale except study SEs (natural log).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from metafuse.files import frame_to_csv, to_csv, write_text_atomic
from metafuse.results import PooledResult
from metafuse.revman._model import RevManOutcome
from metafuse.revman.pooling import outcome_data
from metafuse.revman.reader import read_rm5

#: Columns of RevMan 5's CSV export, in its order (header as RevMan writes it).
REVMAN_CSV_COLUMNS: Final = (
    "Comparison Number", "Outcome Number", "Subgroup Number", "Name", "Data Type",
    "Statistical Method", "Effect Measure", "Analysis Model", "Events 1", "Mean 1", "SD 1",
    "Total 1", "Events 2", "Mean 2", "SD 2", "Total 2", "Effect Estimate", "SE", "CI Start",
    "CI End", "Weight", "Q", "P(Q)", "I²(Q)", "Tau²", "Z", "P(Z)", "Qint", "P(Qint)", "I²(Qint)",
    "df", "Group Label 1", "Group Label 2", "Left Graph Label", "Right Graph Label",
    "Year of study", "User defined order",
)  # fmt: skip

DICHOTOMOUS: Final = ("RR", "OR", "RD")
CONTINUOUS: Final = ("MD", "SMD")


def spec_name(outcome: RevManOutcome) -> str:
    """Return the analysis name of an outcome: RevMan's ID with dots as dashes (``CMP-001-01``)."""
    return outcome.id.replace(".", "-")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def outcome_spec(outcome: RevManOutcome, data_path: str) -> str:
    """Return the analysis spec (TOML) that pools ``outcome`` as RevMan did."""
    arguments = outcome.pool_arguments()
    lines = [
        f"# Imported from RevMan 5: outcome {outcome.id} of comparison {outcome.comparison_id},",
        "# pooled with the outcome's RevMan settings.",
    ]
    if arguments.pop("swap_events", False):
        lines.append("# RevMan analysed non-events (SWAP_EVENTS): the data's events are those.")
    if outcome.settings.get("totals") == "SUB":
        lines.append("# RevMan showed subtotals only; metafuse also pools the total.")
    values: dict[str, Any] = {"title": f"{outcome.comparison}: {outcome.name}", "data": data_path}
    values.update(arguments)
    if "subgroup" in outcome.data.columns:
        values["subgroup"] = "subgroup"
    if values.get("method") == "DL":
        values["hksj"] = False
    lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def import_rm5(
    path: str | Path, out_dir: str | Path, *, root: str | Path | None = None
) -> list[Path]:
    """Write one study CSV and one spec per outcome of a RevMan 5 file.

    Write one study CSV (``<name>.csv``) and one spec (``<name>.toml``) per outcome of a RevMan 5
    file into ``out_dir``; subgroups are kept as a ``subgroup`` column. The spec's data path is
    relative to ``root`` (default: the parent of ``out_dir``, the repository root when ``out_dir``
    is ``analyses/``). Outcomes without studies are skipped with a warning.
    """
    out = Path(out_dir)
    base = Path(root) if root is not None else out.resolve().parent
    written: list[Path] = []
    for outcome in read_rm5(path):
        if outcome.data.empty:
            warnings.warn(f"{outcome.id} ({outcome.name}): no studies, not imported", stacklevel=2)
            continue
        name = spec_name(outcome)
        csv_path = out / f"{name}.csv"
        data = outcome_data(outcome)
        if "subgroup" in outcome.data.columns:
            data.insert(1, "subgroup", outcome.data["subgroup"].to_numpy())
        written.append(write_text_atomic(csv_path, frame_to_csv(data)))
        relative = Path(csv_path.resolve()).relative_to(base.resolve())
        spec = outcome_spec(outcome, relative.as_posix())
        written.append(write_text_atomic(out / f"{name}.toml", spec))
    return written


def _number(value: float | None) -> str:
    """Return a number as RevMan's export writes it: rounded to 8 decimals, no trailing zeros."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    text = f"{round(float(value), 8):.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _codes(result: PooledResult) -> tuple[str, str, str, str]:
    """Return the data type, statistical method, effect measure and model in RevMan's codes."""
    measure = result.measure
    if measure not in DICHOTOMOUS + CONTINUOUS:
        raise ValueError(
            f"RevMan's CSV layout holds dichotomous (RR, OR, RD) and continuous (MD, SMD) "
            f"outcomes, not {measure}"
            + (
                " (this analysis pools contrasts: generic inverse variance)"
                if measure == "GEN"
                else ""
            )
        )
    kind = "DIC" if measure in DICHOTOMOUS else "CON"
    random = result.method not in ("FE", "EE", "MH", "PETO")
    if random and result.method != "DL":
        warnings.warn(
            f"RevMan 5 pools random effects by DerSimonian-Laird only; these numbers use "
            f"{result.method}",
            stacklevel=3,
        )
    method = {"MH": "MH", "PETO": "PETO"}.get(result.method, "IV")
    if random and result.options.get("q_from") == "mh":
        method = "MH"
    effect = "PETO_OR" if result.method == "PETO" else measure
    return kind, method, effect, "Random" if random else "Fixed"


def _display(result: PooledResult, value: float | None) -> float | None:
    if value is None:
        return None
    return math.exp(value) if result.is_ratio else value


def _totals(result: PooledResult, weight: float, q_int: tuple[float, float, float]) -> list[str]:
    events = _sums(result)
    return [
        *events,
        _number(_display(result, result.estimate)),
        "",
        _number(_display(result, result.ci_low)),
        _number(_display(result, result.ci_high)),
        _number(weight),
        _number(result.Q),
        _number(result.Q_pval if result.k > 1 else 1.0),
        _number(result.I2 or 0.0),
        _number(result.tau2),
        _number(abs(result.statistic) if result.statistic is not None else None),
        _number(result.pval),
        *(_number(x) for x in q_int),
        str(result.k - 1),
    ]


def _sums(result: PooledResult) -> list[str]:
    def total(column: str) -> str:
        return _number(sum(float(s.data.get(column, 0.0)) for s in result.studies))

    if result.measure in DICHOTOMOUS:
        return [total("events_exp"), "", "", total("n_exp"), total("events_ctrl"), "", "",
                total("n_ctrl")]  # fmt: skip
    return ["0", "", "", total("n_exp"), "0", "", "", total("n_ctrl")]


def _study_cells(result: PooledResult, index: int, weight: float) -> list[str]:
    study = result.studies[index]
    d = study.data
    if result.measure in DICHOTOMOUS:
        arms = [d["events_exp"], 0, 0, d["n_exp"], d["events_ctrl"], 0, 0, d["n_ctrl"]]
    else:
        arms = [0, d["mean_exp"], d["sd_exp"], d["n_exp"], 0, d["mean_ctrl"], d["sd_ctrl"],
                d["n_ctrl"]]  # fmt: skip
    level_z = _z(result)
    yi, sei = study.yi, study.sei
    lo = None if yi is None or sei is None else yi - level_z * sei
    hi = None if yi is None or sei is None else yi + level_z * sei
    return [
        *(_number(x) for x in arms),
        _number(_display(result, yi)),
        _number(sei),
        _number(_display(result, lo)),
        _number(_display(result, hi)),
        _number(weight),
        *[""] * 16,
    ]


def _z(result: PooledResult) -> float:
    from scipy import special

    return float(special.ndtri(0.5 + float(result.options.get("level", 0.95)) / 2))


def revman_csv(
    result: PooledResult,
    *,
    name: str,
    comparison: str = "Comparison",
    comparison_number: int = 1,
    outcome_number: int = 1,
    subgroups: Sequence[tuple[str, PooledResult]] = (),
    group_labels: tuple[str, str] = ("Experimental", "Control"),
    graph_labels: tuple[str, str] = ("Favours experimental", "Favours control"),
    subgroup_test: Mapping[str, float] | None = None,
) -> str:
    """Return a pooled analysis as CSV in RevMan 5's export layout (:data:`REVMAN_CSV_COLUMNS`).

    ``subgroups`` are (name, result) pairs of the same model fitted to each subgroup; their
    studies are listed under their subgroup row, with weights in percent of the total (RevMan's
    convention). ``subgroup_test`` holds ``Q``, ``P`` and ``I2`` of the test for subgroup
    differences.
    """
    kind, method, effect, model = _codes(result)
    lead = [str(comparison_number), str(outcome_number)]
    q_int = (0.0, 1.0, 0.0)
    if subgroup_test is not None:
        q_int = (subgroup_test["Q"], subgroup_test["P"], subgroup_test["I2"])
    rows: list[list[str]] = [[str(comparison_number), "0", "0", comparison] + [""] * 33]
    outcome_row = [*lead, "0", name, kind, method, effect, model]
    outcome_row += _totals(result, 100.0, q_int)
    outcome_row += [*group_labels, *graph_labels, "", ""]
    rows.append(outcome_row)
    weights = {s.study: s.weight_percent for s in result.studies}
    if not subgroups:
        rows += _study_rows(result, lead, "0", weights)
    for number, (group, fit) in enumerate(subgroups, start=1):
        share = sum(weights.get(s.study, 0.0) for s in fit.studies)
        sub = [*lead, str(number), group, "", "", "", ""]
        rows.append(sub + _totals(fit, share, (0.0, 1.0, 0.0)) + [""] * 6)
        rows += _study_rows(fit, lead, str(number), weights)
    return to_csv(REVMAN_CSV_COLUMNS, rows)


def _study_rows(
    fit: PooledResult, lead: list[str], number: str, weights: Mapping[str, float]
) -> list[list[str]]:
    """Study rows; weights are percentages of the whole analysis, also inside a subgroup."""
    return [
        [*lead, number, s.study, "", "", "", "", *_study_cells(fit, i, weights.get(s.study, 0.0))]
        for i, s in enumerate(fit.studies)
    ]
