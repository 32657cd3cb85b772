"""RevMan 5 interchange: reviews as metafuse inputs, analyses in RevMan's CSV layout.

RevMan 5 interchange: a ``.rm5`` review as metafuse inputs (one study CSV and one analysis spec per
outcome), and a pooled analysis as a CSV in RevMan 5's own layout.

The CSV layout is that of RevMan 5's CSV export, read from real exports (``Fleiss93_CR.csv`` of
R meta, RevMan 5.0; see ``tests/fixtures/revman/README.md``): one row for the comparison, one
for the outcome with its totals, one per subgroup and one per study; numbers rounded to 8
decimals; ratios on the ratio scale except study SEs (natural log).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import tomli_w

from metafuse.exceptions import DataError
from metafuse.files import frame_to_csv, to_csv, write_text_atomic
from metafuse.pipeline.spec import RESERVED, RESERVED_PREFIXES
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


#: Longest file name stem an import writes (IDs beyond it are cut; collisions are numbered).
MAX_NAME: Final = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def spec_name(outcome: RevManOutcome) -> str:
    """Return the analysis name of an outcome: a safe slug of RevMan's ID (``CMP-001-01``).

    RevMan's ID with dots as dashes, made a safe slug: ASCII letters, digits, ``-`` and ``_``
    only, starting with a letter or digit, at most :data:`MAX_NAME` characters, never a name the
    build reserves (``outcome`` when nothing is left). The file's text never chooses a folder: no
    ``/``, no ``..``, no absolute path.
    """
    slug = _UNSAFE.sub("-", outcome.id.replace(".", "-")).lstrip("-_")[:MAX_NAME].rstrip("-_")
    if not slug or slug.lower() in RESERVED or slug.lower().startswith(RESERVED_PREFIXES):
        slug = f"outcome-{slug}".rstrip("-") if slug else "outcome"
    return slug


def _quoted(text: str) -> str:
    """``text`` as one TOML basic string (control characters escaped), for a comment."""
    return tomli_w.dumps({"x": text}).removeprefix("x = ").rstrip("\n")


def outcome_spec(outcome: RevManOutcome, data_path: str) -> str:
    """Return the analysis spec (TOML) that pools ``outcome`` as RevMan did.

    Values are serialised by tomli-w; the file's IDs appear in the comment only as escaped TOML
    strings, so no text of the file can start a line of its own.
    """
    arguments = outcome.pool_arguments()
    lines = [
        f"# Imported from RevMan 5: outcome {_quoted(outcome.id)} of comparison "
        f"{_quoted(outcome.comparison_id)},",
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
    return "\n".join(lines) + "\n" + tomli_w.dumps(values)


def _planned(outcomes: Sequence[RevManOutcome]) -> list[tuple[RevManOutcome, str]]:
    """Each outcome with studies and its unique safe name (``-2``, ``-3``...

    Each outcome with studies and its unique safe name (``-2``, ``-3``... on a collision, compared
    without case, as some file systems do); a renamed outcome is warned about.
    """
    taken: set[str] = set()
    plan = []
    for outcome in outcomes:
        if outcome.data.empty:
            warnings.warn(f"{outcome.id} ({outcome.name}): no studies, not imported", stacklevel=3)
            continue
        base = name = spec_name(outcome)
        number = 1
        while name.lower() in taken:
            number += 1
            name = f"{base[: MAX_NAME - 4]}-{number}"
        taken.add(name.lower())
        if name != outcome.id.replace(".", "-"):
            warnings.warn(f"outcome ID {outcome.id!r} imported as {name}", stacklevel=3)
        plan.append((outcome, name))
    return plan


def import_rm5(
    path: str | Path,
    out_dir: str | Path,
    *,
    root: str | Path | None = None,
    force: bool = False,
) -> list[Path]:
    """Write one study CSV and one spec per outcome of a RevMan 5 file.

    Write one study CSV (``<name>.csv``) and one spec (``<name>.toml``) per outcome of a RevMan 5
    file into ``out_dir``; subgroups are kept as a ``subgroup`` column. Names are safe slugs of
    the outcome IDs (:func:`spec_name`), unique within the import. The spec's data path is
    relative to ``root`` (default: the parent of ``out_dir``, the repository root when
    ``out_dir`` is ``analyses/``). Outcomes without studies are skipped with a warning.

    Nothing is written unless every file can be: a file that exists already is an error unless
    ``force`` (then it is replaced), as is a file with no outcome to import.
    """
    out = Path(out_dir)
    base = Path(root) if root is not None else out.resolve().parent
    outcomes = read_rm5(path)
    if not outcomes:
        raise DataError(
            "no analyses to import (no outcome under ANALYSES_AND_DATA)", source=str(path)
        )
    plan = _planned(outcomes)
    if not plan:
        raise DataError("nothing to import: no outcome has study rows", source=str(path))
    folder = out.resolve()
    targets = [folder / f"{name}{suffix}" for _, name in plan for suffix in (".csv", ".toml")]
    for target in targets:
        assert target.parent == folder  # safe names: never a folder of their own
        if not force and (target.exists() or target.is_symlink()):
            raise DataError(f"{target} exists already (--force replaces it)", source=str(path))
    written: list[Path] = []
    for outcome, name in plan:
        data = outcome_data(outcome)
        if "subgroup" in outcome.data.columns:
            data.insert(1, "subgroup", outcome.data["subgroup"].to_numpy())
        csv_path = out / f"{name}.csv"
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
