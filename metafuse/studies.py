"""Curated study records: loading, validation, derivations and the data of one analysis.

A studies folder holds four CSV files (layout: ``studies/README.md``):

``sources.csv``       one row per source (citation, address, kind, strength)
``trials.csv``        one row per trial report (registry)
``outcomes.csv``      one row per report x outcome x time point x arm, or per contrast
``risk_of_bias.csv``  RoB 2 judgements per report x outcome x domain, each with its rationale

:func:`validate_studies` checks the schema (with pandera), types and ranges, cross-file links and
that every number names its source, and returns every problem at once as ``file:line: column:
message``. It never modifies the files. :func:`load_studies` returns the validated records, with
derived numbers computed by :mod:`metafuse.conversions`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from metafuse import conversions
from metafuse.exceptions import DataError, MetafuseError
from metafuse.io import read_table

FILES = ("sources", "trials", "outcomes", "risk_of_bias")
#: Outcomes of the review (key -> label).
OUTCOMES = {
    "odi": "Oswestry Disability Index",
    "back_pain": "Back pain (VAS/NRS)",
    "leg_pain": "Leg pain (VAS/NRS)",
    "complications": "Complications",
    "reoperation": "Reoperation / additional surgery",
    "odi_responder": "ODI reduction of at least 30%",
}
#: The outcomes every comparison is expected to report (the gaps report lists each).
CORE_OUTCOMES = ("odi", "back_pain", "leg_pain", "complications", "reoperation")
BINARY_OUTCOMES = frozenset({"complications", "reoperation", "odi_responder"})
COMPARISONS = {
    "A": "Decompression alone (control) vs decompression plus fusion (experimental)",
    "B": "Conservative care (control) vs lumbar fusion (experimental)",
}
#: Follow-up windows (months, inclusive); "longest" is each trial's longest time point.
WINDOWS = {"2y": (12.0, 30.0), "5y": (48.0, 72.0)}
WINDOW_LABELS = {"2y": "about 2 years (12-30 months)", "5y": "about 5 years (48-72 months)",
                 "longest": "longest follow-up"}  # fmt: skip
DESIGNS = ("RCT", "quasi-randomised", "randomisation not verified",
           "not verified (no source found)")  # fmt: skip
DOMAINS = ("D1 randomisation process", "D2 deviations from intended interventions",
           "D3 missing outcome data", "D4 measurement of the outcome",
           "D5 selection of the reported result", "overall")  # fmt: skip
JUDGEMENTS = ("low", "some concerns", "high", "not assessed")
YES_NO = ("yes", "no")
CONTRAST_MEASURES = ("MD", "SMD", "RR", "OR", "RD")
RATIO = frozenset({"RR", "OR"})


def _text(nullable: bool = False, **kw) -> pa.Column:
    return pa.Column(str, nullable=nullable, coerce=True, **kw)


def _number(nullable: bool = True, *checks: pa.Check) -> pa.Column:
    return pa.Column(float, list(checks), nullable=nullable, coerce=True)


def _choice(values: Iterable[str], nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.isin(list(values)), nullable=nullable, coerce=True)


SCHEMAS = {
    "sources": pa.DataFrameSchema(
        {
            "source_id": _text(unique=True),
            "citation": _text(),
            "url": _text(nullable=True),
            "kind": _text(),
            "strength": _choice(("primary", "secondary", "weak")),
            "note": _text(nullable=True),
        },
        strict=True,
    ),
    "trials": pa.DataFrameSchema(
        {
            "report_id": _text(unique=True),
            "trial": _text(),
            "first_author": _text(),
            "year": _number(False, pa.Check.in_range(1950, 2100)),
            "journal": _text(),
            "citation": _text(nullable=True),
            "doi": _text(nullable=True),
            "pmid": _text(nullable=True),
            "comparison": _choice(COMPARISONS),
            "population": _text(),
            "country": _text(nullable=True),
            "exp_arm": _text(),
            "ctrl_arm": _text(),
            "n_randomised_exp": _number(True, pa.Check.gt(0)),
            "n_randomised_ctrl": _number(True, pa.Check.gt(0)),
            "follow_up": _text(nullable=True),
            "includes": _text(nullable=True),
            "design": _choice(DESIGNS),
            "source_id": _text(nullable=True),
            "location": _text(nullable=True),
            "quote": _text(nullable=True),
            "weak": _choice(YES_NO),
            "notes": _text(nullable=True),
        },
        strict=True,
    ),
    "outcomes": pa.DataFrameSchema(
        {
            "record_id": _text(),
            "report_id": _text(),
            "outcome": _choice(OUTCOMES),
            "timepoint_months": _number(True, pa.Check.ge(0)),
            "analysis": _text(),
            "data_type": _choice(("arm", "contrast")),
            "arm": _choice(("exp", "ctrl"), nullable=True),
            "n": _number(True, pa.Check.gt(0)),
            "mean": _number(True),
            "sd": _number(True, pa.Check.gt(0)),
            "events": _number(True, pa.Check.ge(0)),
            "measure": _choice(CONTRAST_MEASURES, nullable=True),
            "estimate": _number(True),
            "ci_low": _number(True),
            "ci_high": _number(True),
            "direction": _choice(("exp-ctrl", "ctrl-exp"), nullable=True),
            "scale": _text(),
            "primary": _choice(YES_NO),
            "derivation": _text(nullable=True),
            "source_id": _text(),
            "location": _text(),
            "quote": _text(),
            "weak": _choice(YES_NO),
            "caveat": _text(nullable=True),
        },
        strict=True,
    ),
    "risk_of_bias": pa.DataFrameSchema(
        {
            "report_id": _text(),
            "outcome": _text(),
            "domain": _choice(DOMAINS),
            "judgement": _choice(JUDGEMENTS),
            "rationale": _text(nullable=True),
            "source_id": _text(nullable=True),
            "quote": _text(nullable=True),
        },
        strict=True,
    ),
}


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a studies file: ``file:line: column: message``."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line else self.file
        return ": ".join(p for p in (loc, self.column, self.message) if p)


class StudiesError(MetafuseError):
    """The studies folder has problems; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class StudyRecords:
    """Validated study records (one DataFrame per file; outcomes with derived columns added)."""

    directory: Path
    sources: pd.DataFrame
    trials: pd.DataFrame
    outcomes: pd.DataFrame
    risk_of_bias: pd.DataFrame
    #: Line number in its file of each row, per file.
    lines: dict[str, list[int]] = field(default_factory=dict)


# --- reading and schema checks ------------------------------------------------------------------


def _schema_problems(
    name: str, frame: pd.DataFrame, path: str
) -> tuple[pd.DataFrame, list[Problem]]:
    lines = frame.attrs.get("lines", [])
    try:
        return SCHEMAS[name].validate(frame, lazy=True), []
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    problems: set[Problem] = set()
    bad_cells: set[tuple[str, object]] = set()
    for case in cases.itertuples(index=False):
        check, column, value, index = str(case.check), case.column, case.failure_case, case.index
        row = None if index is None or pd.isna(index) else int(index)
        line = lines[row] if row is not None and row < len(lines) else 0
        col = (
            ""
            if column is None or (isinstance(column, float) and math.isnan(column))
            else str(column)
        )
        if check == "column_in_dataframe":
            problems.add(Problem(path, 1, str(value), "missing required column"))
            continue
        if check == "column_in_schema":
            problems.add(Problem(path, 1, str(value), "unknown column"))
            continue
        if check.startswith("dtype(") or (row is None and "Error(" in str(value)):
            continue  # follows from a failed conversion reported on its own
        if check.startswith("coerce_dtype"):
            message = f"not a number: {value!r}"
            bad_cells.add((col, row))
        elif check == "not_nullable":
            message = "missing value"
        elif check == "field_uniqueness" or check.startswith("unique"):
            message = f"duplicated value {value!r}"
        elif check.startswith("isin"):
            allowed = check[len("isin(") : -1]
            message = f"{value!r} is not one of {allowed}"
        elif check.startswith(("greater_than", "in_range")):
            bound = check[check.index("(") + 1 : -1].replace(", ", " to ")
            relation = {"greater_than(": "> ", "greater_than_or_equal_to(": ">= "}.get(
                check[: check.index("(") + 1], "within "
            )
            message = f"must be {relation}{bound}, got {value!r}"
        else:
            message = f"{value!r} fails {check}"
        problems.add(Problem(path, line, col, message))
    return frame, sorted(problems)


def _read(directory: Path, name: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    path = directory / f"{name}.csv"
    try:
        frame = read_table(path)
    except DataError as err:
        return None, [Problem(str(path), err.line() or 0, "", err.message)]
    validated, problems = _schema_problems(name, frame, str(path))
    if problems:
        return None, problems
    validated.attrs = frame.attrs
    return validated, []


# --- derivations --------------------------------------------------------------------------------


def parse_derivation(text: str) -> tuple[str, dict[str, float]]:
    """Parse ``name`` or ``name(key=number, ...)`` (a call of :mod:`metafuse.conversions`)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"cannot read derivation {text!r}") from None
    if isinstance(node, ast.Name):
        name, kwargs = node.id, {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        name = node.func.id
        kwargs = {}
        for kw in node.keywords:
            value = kw.value
            if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
                value = ast.Constant(-value.operand.value)  # type: ignore[attr-defined]
            if (
                kw.arg is None
                or not isinstance(value, ast.Constant)
                or isinstance(value.value, bool)
                or not isinstance(value.value, int | float)
            ):
                raise ValueError(f"derivation {text!r}: arguments must be key=number")
            kwargs[kw.arg] = float(value.value)
    else:
        raise ValueError(f"cannot read derivation {text!r}")
    if name not in ARM_DERIVATIONS and name != "flip_contrast":
        known = ", ".join(sorted({*ARM_DERIVATIONS, "flip_contrast"}))
        raise ValueError(f"unknown derivation {name!r}; known: {known}")
    return name, kwargs


#: Derivations for arm rows: which column they fill, from the row's n and the given inputs.
ARM_DERIVATIONS = {
    "sd_from_se": ("sd", lambda n, kw: conversions.sd_from_se(kw["se"], n)),
    "sd_from_ci": ("sd", lambda n, kw: conversions.sd_from_ci(kw["ci_low"], kw["ci_high"], n)),
    "count_from_percent": ("events", lambda n, kw: conversions.count_from_percent(
        kw["percent"], n).value),
}  # fmt: skip


def _apply_derivations(out: pd.DataFrame, path: str, lines: list[int]) -> list[Problem]:
    """Fill derived values in place (never typed in by hand); report unusable derivations."""
    problems = []
    out["approximate"] = False
    for i, row in enumerate(out.itertuples(index=False)):
        if row.derivation is None or (
            isinstance(row.derivation, float) and np.isnan(row.derivation)
        ):
            if row.data_type == "contrast" and row.direction == "ctrl-exp":
                problems.append(
                    Problem(
                        path,
                        lines[i],
                        "derivation",
                        "a ctrl-exp contrast needs derivation flip_contrast",
                    )
                )
            continue
        try:
            name, kwargs = parse_derivation(str(row.derivation))
            if name == "flip_contrast":
                if row.data_type != "contrast" or row.direction != "ctrl-exp":
                    raise ValueError(
                        "flip_contrast applies to contrast rows with direction ctrl-exp"
                    )
                est, lo, hi = conversions.flip_contrast(
                    row.estimate, row.ci_low, row.ci_high, ratio=row.measure in RATIO
                )
                out.iloc[i, out.columns.get_loc("estimate")] = est
                out.iloc[i, out.columns.get_loc("ci_low")] = lo
                out.iloc[i, out.columns.get_loc("ci_high")] = hi
                out.iloc[i, out.columns.get_loc("direction")] = "exp-ctrl"
                continue
            target, fn = ARM_DERIVATIONS[name]
            if row.data_type != "arm" or pd.isna(row.n):
                raise ValueError(f"{name} needs an arm row with n")
            if not pd.isna(getattr(row, target)):
                raise ValueError(f"{name} fills {target}, which must then be left empty")
            out.iloc[i, out.columns.get_loc(target)] = fn(row.n, kwargs)
            out.iloc[i, out.columns.get_loc("approximate")] = name == "count_from_percent"
        except (ValueError, KeyError, TypeError) as err:
            problems.append(Problem(path, lines[i], "derivation", str(err).strip("'")))
    return problems


# --- row and cross-file checks ------------------------------------------------------------------


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x))


def _outcome_problems(o: pd.DataFrame, path: str, lines: list[int]) -> list[Problem]:
    problems = []

    def add(i: int, col: str, msg: str) -> None:
        problems.append(Problem(path, lines[i], col, msg))

    for i, r in enumerate(o.itertuples(index=False)):
        if r.data_type == "arm":
            if _missing(r.arm):
                add(i, "arm", "arm rows need arm exp or ctrl")
            for col in ("measure", "estimate", "ci_low", "ci_high", "direction"):
                if not _missing(getattr(r, col)):
                    add(i, col, "belongs to contrast rows, not arm rows")
            for col in ("n", "events"):
                v = getattr(r, col)
                if not _missing(v) and v != math.floor(v):
                    add(i, col, f"count must be a whole number, got {v:g}")
            if not _missing(r.events) and not _missing(r.n) and r.events > r.n:
                add(i, "events", f"events ({r.events:g}) exceed n ({r.n:g})")
            if r.outcome in BINARY_OUTCOMES and not _missing(r.mean):
                add(i, "mean", f"{r.outcome} is binary: give events and n, not a mean")
        else:
            if not _missing(r.arm):
                add(i, "arm", "contrast rows have no arm")
            for col in ("measure", "estimate", "ci_low", "ci_high", "direction"):
                if _missing(getattr(r, col)):
                    add(i, col, "missing value (required for a contrast)")
            if not any(_missing(getattr(r, c)) for c in ("estimate", "ci_low", "ci_high")):
                if not r.ci_low < r.ci_high:
                    add(i, "ci_low", f"ci_low ({r.ci_low:g}) must be below ci_high ({r.ci_high:g})")
                elif not r.ci_low <= r.estimate <= r.ci_high:
                    add(i, "estimate", f"estimate {r.estimate:g} lies outside its CI "
                                       f"[{r.ci_low:g}, {r.ci_high:g}]")  # fmt: skip
                if r.measure in RATIO and min(r.estimate, r.ci_low) <= 0:
                    add(i, "ci_low", "ratio estimates and CIs must be positive")
    # one record = two arm rows (exp and ctrl) or one contrast row, with the same description
    for record, rows in o.groupby("record_id", sort=False):
        idx = [int(k) for k in rows.index]
        first = idx[0]
        for col in ("report_id", "outcome", "timepoint_months", "data_type", "primary", "analysis"):
            if rows[col].astype(str).nunique() > 1:
                add(idx[1], col, f"differs from the other rows of record {record!r}")
        kind = rows["data_type"].iloc[0]
        if kind == "contrast" and len(idx) != 1:
            add(idx[1], "record_id", f"contrast record {record!r} must be a single row")
        if kind == "arm" and sorted(rows["arm"].fillna("?")) != ["ctrl", "exp"]:
            add(first, "arm", f"record {record!r} needs exactly one exp and one ctrl row")
    dup = o.drop(columns=["approximate"], errors="ignore").astype(str).duplicated()
    for i in np.flatnonzero(dup.to_numpy()):
        add(int(i), "", "duplicated row")
    # at most one primary record per report x outcome x time point
    prim = o[o["primary"] == "yes"].drop_duplicates("record_id")
    key = (
        prim[["report_id", "outcome"]].astype(str).agg("/".join, axis=1)
        + "/"
        + prim["timepoint_months"].astype(str)
    )
    for i in np.flatnonzero(key.duplicated().to_numpy()):
        row = int(prim.index[i])
        add(row, "primary", "a second primary record for the same report, outcome and time point")
    return problems


def _cross_problems(tables: dict[str, pd.DataFrame], paths: dict[str, str]) -> list[Problem]:
    problems = []
    sources = set(tables["sources"]["source_id"])
    reports = set(tables["trials"]["report_id"])
    for name in ("trials", "outcomes", "risk_of_bias"):
        frame, lines = tables[name], tables[name].attrs["lines"]
        for i, sid in enumerate(frame["source_id"]):
            if not _missing(sid) and sid not in sources:
                problems.append(
                    Problem(
                        paths[name],
                        lines[i],
                        "source_id",
                        f"unknown source {sid!r} (not in sources.csv)",
                    )
                )
        if name != "trials":
            for i, rid in enumerate(frame["report_id"]):
                if rid not in reports:
                    problems.append(
                        Problem(
                            paths[name],
                            lines[i],
                            "report_id",
                            f"unknown report {rid!r} (not in trials.csv)",
                        )
                    )
    t = tables["trials"]
    names = set(t["trial"])
    for i, r in enumerate(t.itertuples(index=False)):
        for part in [] if _missing(r.includes) else str(r.includes).split(";"):
            if part.strip() not in names:
                problems.append(
                    Problem(
                        paths["trials"],
                        t.attrs["lines"][i],
                        "includes",
                        f"unknown trial {part.strip()!r} (not a trial in trials.csv)",
                    )
                )
    for i, r in enumerate(t.itertuples(index=False)):
        has_numbers = not (_missing(r.n_randomised_exp) and _missing(r.n_randomised_ctrl))
        if has_numbers and (_missing(r.source_id) or _missing(r.quote)):
            problems.append(
                Problem(
                    paths["trials"],
                    t.attrs["lines"][i],
                    "source_id",
                    "numbers randomised need a source_id and a quote",
                )
            )
    rob = tables["risk_of_bias"]
    for i, r in enumerate(rob.itertuples(index=False)):
        judged = r.judgement in ("low", "some concerns", "high") and r.domain != "overall"
        if judged and (_missing(r.rationale) or _missing(r.source_id) or _missing(r.quote)):
            problems.append(
                Problem(
                    paths["risk_of_bias"],
                    rob.attrs["lines"][i],
                    "rationale",
                    "a domain judgement needs a rationale, source_id and quote",
                )
            )
    # analysed <= randomised
    o = tables["outcomes"]
    randomised = t.set_index("report_id")
    for i, r in enumerate(o.itertuples(index=False)):
        if r.data_type != "arm" or _missing(r.n) or r.report_id not in randomised.index:
            continue
        limit = randomised.at[r.report_id, f"n_randomised_{r.arm}"]
        if not _missing(limit) and r.n > limit:
            problems.append(Problem(paths["outcomes"], o.attrs["lines"][i], "n",
                                    f"analysed ({r.n:g}) exceeds randomised ({limit:g}) in "
                                    f"{r.report_id} ({r.arm})"))  # fmt: skip
    return problems


def _check(directory: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    paths = {name: str(directory / f"{name}.csv") for name in FILES}
    if not directory.is_dir():
        return {}, [Problem(str(directory), 0, "", "not a folder")]
    for name in FILES:
        frame, found = _read(directory, name)
        problems += found
        if frame is not None:
            tables[name] = frame
    if "outcomes" in tables:
        o = tables["outcomes"].reset_index(drop=True)
        o.attrs = tables["outcomes"].attrs
        problems += _apply_derivations(o, paths["outcomes"], o.attrs["lines"])
        problems += _outcome_problems(o, paths["outcomes"], o.attrs["lines"])
        tables["outcomes"] = o
    if len(tables) == len(FILES):
        problems += _cross_problems(tables, paths)
    return tables, problems


def validate_studies(directory: str | Path) -> list[Problem]:
    """Every problem in a studies folder (empty when it is valid). Never modifies the files."""
    return sorted(_check(Path(directory))[1])


def load_studies(directory: str | Path) -> StudyRecords:
    """Validated records; raises :class:`StudiesError` listing every problem."""
    directory = Path(directory)
    tables, problems = _check(directory)
    if problems:
        raise StudiesError(problems)
    return StudyRecords(
        directory=directory,
        lines={name: list(tables[name].attrs["lines"]) for name in FILES},
        **{name: tables[name] for name in FILES},
    )
