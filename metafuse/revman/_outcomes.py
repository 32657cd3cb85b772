"""Reading one outcome element (``DICH_OUTCOME``, ``CONT_OUTCOME``, ``IV_OUTCOME``)."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from metafuse.exceptions import DataError
from metafuse.revman._codes import (
    CONT_MEASURES,
    CONVENTION,
    COUNT_COLUMNS,
    DATA_COLUMNS,
    DICH_MEASURES,
    KINDS,
    METHOD_MEASURES,
    METHODS,
    RATIO_MEASURES,
    STUDY_RESULT_ATTRIBUTES,
    SUBGROUP_TEST_ATTRIBUTES,
    TOTALS_ATTRIBUTES,
)
from metafuse.revman._model import RevManOutcome, RevManSubgroup, StoredResults
from metafuse.revman._xml import Element, Source, describe, text


@dataclass(frozen=True)
class _Measure:
    """What an outcome measures and how RevMan pooled it."""

    measure: str  # metafuse code
    method: str  # RevMan method
    random: bool
    ratio: bool


@dataclass(frozen=True)
class _Row:
    """One study row with the subgroup it belongs to."""

    element: Element
    subgroup: Element | None


def read_outcome(
    source: Source, outcome: Element, comparison: Element, labels: Mapping[str, str]
) -> RevManOutcome:
    """Return a :class:`RevManOutcome` from an outcome element of a supported kind."""
    prefix = outcome.tag.removesuffix("_OUTCOME")
    outcome_id = source.required(outcome, "ID")
    measure = _measure(source, outcome, prefix)
    rows = _rows(source, outcome, prefix)
    study_ids = tuple(source.required(r.element, "STUDY_ID", outcome) for r in rows)
    study = _labels(study_ids, labels)
    data = _data(source, outcome, prefix, rows, study, measure.ratio)
    subgroups = tuple(
        RevManSubgroup(
            id=source.required(sub, "ID"),
            name=text(sub.find("NAME")),
            stored=_stored(source, sub, outcome, rows, study, measure.ratio, subgroup=sub),
        )
        for sub in outcome.findall(f"{prefix}_SUBGROUP")
    )
    result = RevManOutcome(
        id=outcome_id,
        name=text(outcome.find("NAME")),
        comparison=text(comparison.find("NAME")),
        comparison_id=comparison.get("ID", ""),
        kind=KINDS[prefix],
        measure=measure.measure,
        method=measure.method,
        random=measure.random,
        ratio=measure.ratio,
        data=data,
        stored=_stored(source, outcome, outcome, rows, study, measure.ratio, subgroup=None),
        subgroups=subgroups,
        settings=MappingProxyType(_settings(source, outcome, prefix, measure)),
        study_ids=study_ids,
    )
    _check_rows(source, outcome, prefix, rows, result)
    return result


def _check_rows(
    source: Source, outcome: Element, prefix: str, rows: list[_Row], result: RevManOutcome
) -> None:
    """Every study row passes the checks of metafuse's own data.

    Every study row passes the checks of metafuse's own data (SD > 0, events within totals, numbers
    whose effect sizes do not overflow: :func:`metafuse.pooling.compute_effects` with the outcome's
    settings), and no row repeats another (same study, same numbers: counted twice). Errors name the
    row's element and attribute.
    """
    from metafuse.pooling import compute_effects
    from metafuse.revman.pooling import outcome_data

    numbers = result.data.drop(columns=["study", "subgroup"], errors="ignore")
    first: dict[tuple[Any, ...], int] = {}
    for i, values in enumerate(numbers.itertuples(index=False)):
        key = (result.study_ids[i], *values)
        if key in first:
            where = describe(rows[first[key]].element)
            raise source.error(rows[i].element, f"repeats {where} (same study, same numbers)",
                               outcome)  # fmt: skip
        first[key] = i
    if numbers.empty:
        return
    arguments = result.pool_arguments()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compute_effects(
                outcome_data(result),
                result.measure,
                convention=CONVENTION,
                ratio=bool(arguments.get("ratio")),
                method=arguments["method"],
            )
    except DataError as err:
        if err.row is None:
            return  # no study with data: the outcome is empty (import skips it)
        keys = {"yi": "EFFECT_SIZE", "sei": "SE", **dict(DATA_COLUMNS.get(prefix, ()))}
        attribute = keys.get(str(err.column), str(err.column))
        raise source.error(rows[err.row].element, f"{attribute}: {err.message}", outcome) from None


def _measure(source: Source, outcome: Element, prefix: str) -> _Measure:
    """Measure, method and model of an outcome, checked against what RevMan 5 offers."""
    random = source.flag(outcome, "RANDOM")
    if prefix == "IV":
        method = outcome.get("METHOD", "IV").strip().upper() or "IV"
        if method != "IV":
            raise source.error(outcome, f"METHOD={method!r} is not IV (inverse variance)")
        ratio = source.flag(outcome, "LOG_DATA", default=False)
        return _Measure("GEN", "IV", random, ratio)
    code = source.required(outcome, "EFFECT_MEASURE").strip().upper()
    if prefix == "CONT":
        if code not in CONT_MEASURES:
            raise source.error(outcome, f"unknown EFFECT_MEASURE={code!r} for continuous data")
        method = outcome.get("METHOD", "IV").strip().upper() or "IV"
        if method != "IV":
            raise source.error(outcome, f"METHOD={method!r} is not IV for continuous data")
        return _Measure(CONT_MEASURES[code], "IV", random, ratio=False)
    if code not in DICH_MEASURES:
        raise source.error(outcome, f"unknown EFFECT_MEASURE={code!r} for dichotomous data")
    method = source.required(outcome, "METHOD").strip().upper()
    if method not in METHODS:
        raise source.error(outcome, f"unknown METHOD={method!r}; RevMan 5 has MH, IV and PETO")
    if code not in METHOD_MEASURES[method]:
        raise source.error(outcome, f"METHOD={method} cannot pool EFFECT_MEASURE={code}")
    if method == "PETO" and random:
        raise source.error(outcome, "the Peto method has no random-effects model (RANDOM=YES)")
    return _Measure(DICH_MEASURES[code], method, random, ratio=code in RATIO_MEASURES)


def _rows(source: Source, outcome: Element, prefix: str) -> list[_Row]:
    """Study rows in file order, each with its subgroup element (``None`` without subgroups)."""
    subgroups = outcome.findall(f"{prefix}_SUBGROUP")
    direct = outcome.findall(f"{prefix}_DATA")
    if subgroups and direct:
        raise source.error(outcome, f"has both {prefix}_SUBGROUP and ungrouped {prefix}_DATA rows")
    if not subgroups:
        return [_Row(row, None) for row in direct]
    return [_Row(row, sub) for sub in subgroups for row in sub.findall(f"{prefix}_DATA")]


def _labels(study_ids: tuple[str, ...], labels: Mapping[str, str]) -> tuple[str, ...]:
    """Study labels, made unique the way metafuse's data checks do.

    A label used by several rows (a multi-arm study entered once per comparison arm) gets
    ``a``, ``b``, ... when it ends in a digit (``Feltner 2003a``, the Cochrane style) and
    `` (1)``, `` (2)``... otherwise; a generated label already taken gets a further ``'``.
    """
    names = [labels.get(sid) or fallback_label(sid) for sid in study_ids]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    taken = set(names)
    out = []
    for name in names:
        if counts[name] > 1:
            seen[name] += 1
            n = seen[name]
            letter = name[-1:].isdigit() and n <= 26
            name = f"{name}{chr(ord('a') + n - 1)}" if letter else f"{name} ({n})"
            while name in taken:
                name += "'"
            taken.add(name)
        out.append(name)
    return tuple(out)


def fallback_label(study_id: str) -> str:
    """Return a label from a ``STUDY_ID`` with no ``STUDY`` entry: ``STD-El_x002d_Daher-1991``.

    RevMan builds IDs from the study name: ``STD-`` then the name with spaces as ``-`` and other
    characters escaped as ``_xHHHH_``; this undoes both (``El-Daher 1991``).
    """
    body = study_id.removeprefix("STD-").replace("-", " ")
    parts = body.split("_x")
    out = parts[0]
    for part in parts[1:]:
        code, sep, rest = part.partition("_")
        if sep and len(code) == 4 and all(c in "0123456789abcdefABCDEF" for c in code):
            out += chr(int(code, 16)) + rest
        else:
            out += "_x" + part
    return out


def _data(
    source: Source,
    outcome: Element,
    prefix: str,
    rows: list[_Row],
    study: tuple[str, ...],
    ratio: bool,
) -> pd.DataFrame:
    """Return the study data frame in metafuse's CSV columns."""
    columns: dict[str, list[Any]] = {"study": list(study)}
    if prefix == "IV":
        columns.update(_generic_columns(source, outcome, rows, ratio))
    else:
        for name, key in DATA_COLUMNS[prefix]:
            if name in COUNT_COLUMNS:
                columns[name] = [source.count(r.element, key, outcome) for r in rows]
            else:
                columns[name] = [source.value(r.element, key, outcome) for r in rows]
    if any(r.subgroup is not None for r in rows):
        columns["subgroup"] = [
            text(r.subgroup.find("NAME")) if r.subgroup is not None else "" for r in rows
        ]
    frame = pd.DataFrame(columns)
    for name in frame.columns.drop(["study", "subgroup"], errors="ignore"):
        frame[name] = frame[name].astype("int64" if name in COUNT_COLUMNS else "float64")
    return frame


def _generic_columns(
    source: Source, outcome: Element, rows: list[_Row], ratio: bool
) -> dict[str, list[float]]:
    """``yi`` and ``sei`` of generic inverse-variance rows on the analysis scale.

    RevMan stores ``EFFECT_SIZE`` on the display scale (a ratio when ``LOG_DATA="YES"``) and
    ``SE`` on the analysis scale; rows it marks ``ESTIMABLE="NO"`` hold zeros, read as missing.
    """
    yi: list[float] = []
    sei: list[float] = []
    for row in rows:
        element = row.element
        if not source.flag(element, "ESTIMABLE", default=True):
            yi.append(math.nan)
            sei.append(math.nan)
            continue
        effect = source.value(element, "EFFECT_SIZE", outcome)
        se = source.value(element, "SE", outcome)
        if ratio:
            if not effect > 0:
                raise source.error(element, f"EFFECT_SIZE={effect!r} is not a ratio", outcome)
            effect = math.log(effect)
        yi.append(effect)
        sei.append(se)
    return {"yi": yi, "sei": sei}


def _stored(
    source: Source,
    element: Element,
    outcome: Element,
    rows: list[_Row],
    study: tuple[str, ...],
    ratio: bool,
    *,
    subgroup: Element | None,
) -> StoredResults:
    """RevMan's stored totals of an outcome or subgroup, with its per-study results."""
    values = {name: source.number(element, key) for name, key in TOTALS_ATTRIBUTES.items()}
    for name, key in SUBGROUP_TEST_ATTRIBUTES.items():
        values[name] = None if subgroup is not None else source.number(element, key)
    keep = [i for i, r in enumerate(rows) if subgroup is None or r.subgroup is subgroup]
    table: dict[str, list[Any]] = {"study": [study[i] for i in keep]}
    for name, key in STUDY_RESULT_ATTRIBUTES.items():
        column = [source.number(rows[i].element, key, outcome) for i in keep]
        table[name] = [np.nan if v is None else v for v in column]
    table["estimable"] = [source.flag(rows[i].element, "ESTIMABLE", default=True) for i in keep]
    n_studies = source.number(element, "STUDIES")
    return StoredResults(
        ratio=ratio,
        studies=pd.DataFrame(table),
        n_studies=None if n_studies is None else int(n_studies),
        estimable=source.flag(element, "ESTIMABLE", default=True),
        **values,
    )


def _settings(source: Source, outcome: Element, prefix: str, measure: _Measure) -> dict[str, Any]:
    """Return the outcome's statistical settings as read from its attributes."""
    name = text(outcome.find("EFFECT_MEASURE")) if prefix == "IV" else ""
    return {
        "data_type": prefix,
        "effect_measure": outcome.get("EFFECT_MEASURE") or name or None,
        "effect_measure_name": name or None,
        "method": outcome.get("METHOD"),
        "random": measure.random,
        "ci_study": _level(source, outcome, "CI_STUDY"),
        "ci_total": _level(source, outcome, "CI_TOTAL"),
        "totals": outcome.get("TOTALS"),
        "subgroups": source.flag(outcome, "SUBGROUPS", default=False),
        "subgroup_test": source.flag(outcome, "SUBGROUP_TEST", default=False),
        "swap_events": source.flag(outcome, "SWAP_EVENTS", default=False),
        "log_data": source.flag(outcome, "LOG_DATA") if outcome.get("LOG_DATA") else None,
        "estimable": source.flag(outcome, "ESTIMABLE", default=True),
        "scale": source.number(outcome, "SCALE"),
        "sort_by": outcome.get("SORT_BY"),
        "units": outcome.get("UNITS"),
        "group_labels": (text(outcome.find("GROUP_LABEL_1")), text(outcome.find("GROUP_LABEL_2"))),
        "graph_labels": (text(outcome.find("GRAPH_LABEL_1")), text(outcome.find("GRAPH_LABEL_2"))),
    }


def _level(source: Source, outcome: Element, key: str) -> float | None:
    """Return a confidence level in percent (``CI_STUDY``, ``CI_TOTAL``).

    A confidence level in percent (``CI_STUDY``, ``CI_TOTAL``): RevMan 5 offers 90, 95 and 99;
    anything outside [50, 100) is refused rather than read as a 1.5% or a 150% interval.
    """
    value = source.number(outcome, key)
    if value is not None and not (math.isfinite(value) and 50 <= value < 100):
        raise source.error(
            outcome, f"{key}={outcome.get(key)!r} is not a confidence level in percent (50 to 100)"
        )
    return value
