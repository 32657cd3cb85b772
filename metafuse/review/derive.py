"""Applying the derivations that ``outcomes.csv`` rows name when the records are loaded.

Applying the derivations that ``outcomes.csv`` rows name (their ``derivation`` column) when the
records are loaded, so that no derived number is ever typed in.

Order: first each row by itself (a contrast reversed, or the CI of a mean difference from its P
value or t statistic; an arm's SD from its SE, CI or a change-score correlation; events from a
percentage of a stated denominator; mean and SD from a median), then the derivations named on
both arm rows of a record (their common SD from the P value or t statistic of the difference of
their means), then SDs borrowed from another trial's record (a borrowed SD is never lent on).
Every problem names the row and the ``derivation`` column; a derivation that does not apply fills
nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from metafuse.review import derivations as dv
from metafuse.review.checks import missing
from metafuse.review.schema import RATIO, Problem

Add = Callable[[int, str], None]
Parsed = dict[int, tuple[str, dict[str, float | str]]]


def _set(out: pd.DataFrame, i: int, **values: Any) -> None:
    for col, value in values.items():
        out.iloc[i, out.columns.get_loc(col)] = value


def _states(text: object, value: float) -> bool:
    """Return True if ``text`` prints ``value`` (thousands separators allowed: 1,290 for 1290)."""
    plain = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", str(text))
    number = str(int(value)) if float(value).is_integer() else repr(float(value))
    return re.search(rf"(?<![\d.]){re.escape(number)}(?!\d|\.\d)", plain) is not None


def _contrast(out: pd.DataFrame, i: int, row: Any, name: str, kw: dv.Arguments) -> None:
    if row.data_type != "contrast":
        raise ValueError(f"{name} applies to contrast rows")
    if name == "flip_contrast":
        if row.direction != "ctrl-exp":
            raise ValueError("flip_contrast applies to contrast rows with direction ctrl-exp")
        est, lo, hi = dv.flip_contrast(
            row.estimate, row.ci_low, row.ci_high, ratio=row.measure in RATIO
        )
        _set(out, i, estimate=est, ci_low=lo, ci_high=hi, direction="exp-ctrl")
        return
    if row.measure != "MD" or row.direction != "exp-ctrl":
        raise ValueError(f"{name} applies to MD contrasts given as exp-ctrl")
    if missing(row.estimate) or not (missing(row.ci_low) and missing(row.ci_high)):
        raise ValueError(
            f"{name} needs the estimate and fills ci_low and ci_high (leave them empty)"
        )
    if name == "ci_from_p":
        n_total = dv.number_of(kw, "n_total") if "n_total" in kw else None
        se = dv.se_from_p(row.estimate, dv.number_of(kw, "p"), n_total=n_total)
    else:
        se = dv.se_from_t(row.estimate, dv.number_of(kw, "t"))
    lo, hi = dv.ci_from_se(row.estimate, se)
    _set(out, i, ci_low=lo, ci_high=hi)


def _arm(out: pd.DataFrame, i: int, row: Any, name: str, kw: dv.Arguments) -> None:
    if row.data_type != "arm" or missing(row.n):
        raise ValueError(f"{name} needs an arm row with n")
    if name in dv.MEAN_SD_DERIVATIONS:
        if not (missing(row.mean) and missing(row.sd)):
            raise ValueError(f"{name} fills mean and sd, which must then be left empty")
        mean, sd = dv.MEAN_SD_DERIVATIONS[name](float(row.n), kw)
        _set(out, i, mean=mean, sd=sd, approximate=True)
        return
    target, fn = dv.ARM_DERIVATIONS[name]
    if not missing(getattr(row, target)):
        raise ValueError(f"{name} fills {target}, which must then be left empty")
    if name == "count_from_percent":
        for what, value in (
            ("denominator n", float(row.n)),
            ("percentage", dv.number_of(kw, "percent")),
        ):
            if not _states(row.quote, value):
                raise ValueError(
                    f"count_from_percent: the quote does not state the {what} ({value:g}); a "
                    "count from a percentage needs both as the source prints them"
                )
    value = float(fn(float(row.n), kw))
    if not (math.isfinite(value) and value >= 0) or (target == "sd" and value == 0):
        raise ValueError(f"{name} gives {target} = {value:g}, not a usable value")
    _set(out, i, **{target: value, "approximate": name in dv.APPROXIMATE})


def _pairs(out: pd.DataFrame, parsed: Parsed, add: Callable[..., None]) -> None:
    """Derive the common SD of both arms from the P value or t statistic of their difference."""
    mine = {i: v for i, v in parsed.items() if v[0] in dv.PAIR_DERIVATIONS}
    for _record, rows in out.loc[list(mine)].groupby("record_id", sort=False):
        idx = [int(k) for k in rows.index]
        record = out[out["record_id"] == _record]
        arms = record[record["data_type"] == "arm"]
        if sorted(arms["arm"].fillna("?")) != ["ctrl", "exp"] or len(idx) != 2:
            add(idx[0], "derivation", f"{mine[idx[0]][0]} must be named on both arm rows")
            continue
        if mine[idx[0]] != mine[idx[1]]:
            add(idx[1], "derivation", "both arm rows must name the same derivation and inputs")
            continue
        name, kw = mine[idx[0]]
        e = int(arms.index[arms["arm"] == "exp"][0])
        c = int(arms.index[arms["arm"] == "ctrl"][0])
        cells = out.loc[[e, c], ["n", "mean", "sd"]]
        if cells[["n", "mean"]].isna().any().any() or cells["sd"].notna().any():
            add(idx[0], "derivation", f"{name} needs n and mean on both arm rows and fills sd")
            continue
        try:
            md = float(out.at[e, "mean"] - out.at[c, "mean"])
            sd = dv.PAIR_DERIVATIONS[name](md, float(out.at[e, "n"]), float(out.at[c, "n"]), kw)
        except ValueError as err:
            add(idx[0], "derivation", str(err))
            continue
        out.loc[[e, c], "sd"] = sd


def _scale(text: object) -> str:
    return " ".join(str(text).lower().split())


def _borrowed(out: pd.DataFrame, parsed: Parsed, add: Callable[..., None]) -> None:
    """Return an SD borrowed from another trial's record of the same outcome on the same scale."""
    for i, (name, kw) in parsed.items():
        if name not in dv.BORROW_DERIVATIONS:
            continue
        row = out.iloc[i]
        record, arm = str(kw["record"]), str(kw.get("arm", row["arm"]))
        lender = out[(out["record_id"] == record) & (out["arm"] == arm)]
        problem = None
        if row["data_type"] != "arm" or not missing(row["sd"]):
            problem = "sd_borrowed needs an arm row whose sd is left empty"
        elif lender.empty:
            problem = f"sd_borrowed: no {arm} row of record {record!r} to borrow from"
        elif lender["report_id"].iloc[0] == row["report_id"]:
            problem = "sd_borrowed: borrow from another trial's record, not the same report"
        elif lender["outcome"].iloc[0] != row["outcome"]:
            problem = f"sd_borrowed: record {record!r} is another outcome"
        elif _scale(lender["scale"].iloc[0]) != _scale(row["scale"]):
            problem = (
                f"sd_borrowed: record {record!r} is on another scale "
                f"({lender['scale'].iloc[0]!r}, not {row['scale']!r})"
            )
        elif dv.derivation_name(lender["derivation"].iloc[0]) in dv.BORROW_DERIVATIONS:
            problem = f"sd_borrowed: the SD of record {record!r} is itself borrowed"
        elif missing(lender["sd"].iloc[0]):
            problem = f"sd_borrowed: record {record!r} has no SD for arm {arm}"
        if problem is not None:
            add(i, "derivation", problem)
            continue
        sd = dv.sd_borrowed(float(lender["sd"].iloc[0]))
        _set(out, i, sd=sd.value, approximate=sd.approximate)


def apply_derivations(out: pd.DataFrame, path: str, lines: tuple[int, ...]) -> list[Problem]:
    """Fill derived values in place (never typed in by hand); report unusable derivations."""
    problems: list[Problem] = []

    def add(i: int, col: str, msg: str) -> None:
        problems.append(Problem(path, lines[i], col, msg))

    out["approximate"] = False
    parsed: Parsed = {}
    for i, row in enumerate(out.itertuples(index=False)):
        if missing(row.derivation):
            if row.data_type == "contrast" and row.direction == "ctrl-exp":
                add(i, "derivation", "a ctrl-exp contrast needs derivation flip_contrast")
            continue
        try:
            name, kw = dv.parse_derivation(str(row.derivation))
            parsed[i] = (name, kw)
            if name in dv.CONTRAST_DERIVATIONS:
                _contrast(out, i, row, name, kw)
            elif name in dv.ARM_DERIVATIONS or name in dv.MEAN_SD_DERIVATIONS:
                _arm(out, i, row, name, kw)
            elif name in dv.PUBLISHED_DERIVATIONS:
                raise ValueError(f"{name} applies to published_estimates.csv rows")
        except (ValueError, KeyError, TypeError) as err:
            parsed.pop(i, None)
            add(i, "derivation", str(err).strip("'"))
    _pairs(out, parsed, add)
    _borrowed(out, parsed, add)
    return problems
