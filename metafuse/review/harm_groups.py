"""Which published harm figures may be pooled together, and their pooled proportion.

The grouping rule (:data:`GROUPING_RULE`): a figure enters a pool only when it is a single-study
count (``figure`` = count, ``events`` and ``n`` given, a single-study design: RCT, RCT arm,
cohort or registry). Counts are pooled together only when they measure the same thing: the same
``harm``, the same unit (``per``) and a comparable follow-up, meaning that the follow-up stated in
``follow_up`` ('2 years', 'mean 3.9 years', '24 months', '1 to 2 years') lies within one bounded
follow-up window of the review (``review.toml``). A count whose follow-up is not stated, is an
open bound ('at least 12 months') or lies in no window forms a group of its own (nothing pooled).
A harm declared with ``grouping = "all"`` pools its counts of the same unit whatever their
follow-up; with ``grouping = "none"`` every count stands alone
(:mod:`metafuse.review.harm_declarations`).
Published pooled estimates, percentages without a count, published comparisons and crude totals
over several studies are shown as published and never pooled: re-pooling a meta-analysis with its
own inputs counts patients twice.

Pooling: logit-transformed proportions (``PLO``) with inverse-variance random effects and REML
tau^2, as metafor's ``rma(measure = "PLO")`` does by default (Viechtbauer 2005, J Educ Behav Stat
30:261-293), back-transformed with the inverse logit. The logit is preferred to the Freeman-Tukey
double arcsine, whose back-transformation can mislead (Schwarzer et al. 2019, Res Synth Methods
10:476-483).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pandas as pd

from metafuse.pooling import pool
from metafuse.results import PooledResult
from metafuse.review.harm_declarations import Harm
from metafuse.review.harms import design_kind, is_single_study
from metafuse.review.vocabulary import Window

#: The documented default: logit proportions, REML (metafor's rma(measure = "PLO") default).
POOL_MEASURE: Final = "PLO"
POOL_METHOD: Final = "REML"
GROUPING_RULE: Final = (
    "Only single-study counts (events of n from one study or arm) are pooled. Counts are pooled "
    "together only when they have the same harm, the same unit (per patient or per "
    "patient-year) and a comparable follow-up: the follow-up stated in the source lies within "
    "one follow-up window of the review ({windows}). A count whose follow-up is not stated or "
    "lies in no window stands alone (nothing pooled). Published pooled estimates, percentages "
    "without a count, published comparisons and crude totals over several studies are shown as "
    "published and never pooled."
)
_AMOUNT = re.compile(
    r"(?P<low>\d+(?:\.\d+)?)(?:\s*(?:to|-|–)\s*(?P<high>\d+(?:\.\d+)?))?\s*(?P<unit>year|month)s?\b"
)
_OPEN_BOUND = re.compile(r"\b(at least|minimum|up to|over|more than|beyond)\b")


@dataclass(frozen=True)
class HarmGroup:
    """Single-study counts of one harm that may be pooled together (or one count alone)."""

    #: File-safe name: '<harm>_<per>_<window>', '<harm>_<per>_all' or '<harm>_<harm_id>' for a
    #: count alone.
    key: str
    harm: str
    per: str
    #: The follow-up window shared by the members; None for a count that stands alone and for
    #: a group of a harm pooled whatever the follow-up.
    window: Window | None
    harm_ids: tuple[str, ...]
    #: The follow-up as stated, for a count that stands alone.
    follow_up: str | None = None
    #: The harm's section title (review.toml); default: its key.
    label: str = ""
    #: Why a count stands alone when its harm is never pooled (grouping "none").
    alone_reason: str | None = None
    #: True for the group of a harm pooled whatever the follow-up (grouping "all").
    any_follow_up: bool = False

    @property
    def name(self) -> str:
        """The harm as the review names it."""
        return self.label or self.harm

    @property
    def short_title(self) -> str:
        """For a figure: 'Bleeding per patient, about 2 years (12-30 months)', or '….

        For a figure: 'Bleeding per patient, about 2 years (12-30 months)', or '…: one count,
        nothing pooled'.
        """
        what = f"{self.name} per {self.per}"
        if self.any_follow_up:
            return f"{what}, any follow-up"
        if self.window is None:
            return f"{what}: one count, nothing pooled"
        return f"{what}, {self.window.label}"

    @property
    def title(self) -> str:
        """'Bleeding, per patient, follow-up about 2 years.

        'Bleeding, per patient, follow-up about 2 years (12-30 months)', or for a count alone
        'Bleeding, per patient: smith2020-count alone (follow-up '…' in no window)'.
        """
        if self.window is not None:
            return f"{self.name}, per {self.per}, follow-up {self.window.label}"
        if self.any_follow_up:
            return f"{self.name}, per {self.per}, any follow-up (the review pools them all)"
        why = self.alone_reason or (
            f"follow-up '{self.follow_up or 'not given'}' lies in no window"
        )
        return f"{self.name}, per {self.per}: {self.harm_ids[0]} alone ({why})"


def follow_up_months(text: str | None) -> tuple[float, float] | None:
    """Return the follow-up stated in ``text`` as (low, high) months, or None.

    The follow-up stated in ``text`` as (low, high) months, or None when it is not stated as exactly
    one amount or range ('2 years', 'mean 3.9 years', '1 to 2 years', '24 months') or is an open
    bound ('at least 12 months').
    """
    if text is None or _OPEN_BOUND.search(text.lower()):
        return None
    found = list(_AMOUNT.finditer(text.lower()))
    if len(found) != 1:
        return None
    m = found[0]
    factor = 12.0 if m["unit"] == "year" else 1.0
    low = float(m["low"]) * factor
    high = float(m["high"]) * factor if m["high"] else low
    return (low, high) if low <= high else None


def follow_up_window(text: str | None, windows: list[Window]) -> Window | None:
    """Return the bounded window that holds the whole stated follow-up, if any."""
    months = follow_up_months(text)
    if months is None:
        return None
    for window in windows:
        if not window.is_longest and window.contains(months[0]) and window.contains(months[1]):
            return window
    return None


def not_poolable_reason(row: pd.Series) -> str | None:
    """Why a figure is shown but not pooled (None when it is a poolable single-study count)."""
    figure = row["figure"]
    if figure == "pooled":
        return "a published pooled estimate: shown as published, never re-pooled"
    if figure == "difference":
        return "a published comparison: shown as published"
    if figure == "percent":
        if not pd.isna(row["n"]):
            return "a percentage of n without its count (a count is never derived from a percent)"
        return "a percentage without a count: shown as printed"
    if not is_single_study(str(row["design"])):
        kind = design_kind(str(row["design"]))
        return f"a crude total over several studies ({kind}): never pooled with single studies"
    if pd.isna(row["n"]):
        return "no denominator printed: the count cannot be pooled"
    return None


def group_counts(
    harms: pd.DataFrame, declared: Mapping[str, Harm], windows: list[Window]
) -> list[HarmGroup]:
    """Return the pooling groups of the poolable counts.

    The pooling groups of the poolable counts, in the order of the declared harms and the review's
    windows; a count that stands alone follows the groups of its harm, in file order.
    """
    groups: list[HarmGroup] = []
    for harm in declared.values():
        rows = harms[harms["harm"] == harm.key]
        poolable = [r for _, r in rows.iterrows() if not_poolable_reason(r) is None]
        for per in sorted({str(r["per"]) for r in poolable}):
            same = [r for r in poolable if r["per"] == per]
            groups += _groups_of(harm, per, same, windows)
    return groups


def _groups_of(
    harm: Harm, per: str, same: list[pd.Series], windows: list[Window]
) -> list[HarmGroup]:
    """Return the groups of one harm's poolable counts of one unit, by the harm's grouping rule."""
    ids = [str(r["harm_id"]) for r in same]
    if harm.grouping == "all":
        key = f"{harm.key}_{per}_all"
        return [
            HarmGroup(key, harm.key, per, None, tuple(ids), label=harm.label, any_follow_up=True)
        ]
    if harm.grouping == "none":
        reason = "the review never pools this harm's counts (grouping none)"
        return [
            HarmGroup(f"{harm.key}_{h}", harm.key, per, None, (h,), None, harm.label, reason)
            for h in ids
        ]
    out = []
    placed = {str(r["harm_id"]): follow_up_window(r["follow_up"], windows) for r in same}
    for window in windows:
        members = tuple(h for h in ids if placed[h] == window)
        if members:
            key = f"{harm.key}_{per}_{window.key}"
            out.append(HarmGroup(key, harm.key, per, window, members, label=harm.label))
    for r in same:
        hid = str(r["harm_id"])
        if placed[hid] is None:
            follow_up = r["follow_up"] if isinstance(r["follow_up"], str) else None
            out.append(
                HarmGroup(f"{harm.key}_{hid}", harm.key, per, None, (hid,), follow_up, harm.label)
            )
    return out


def pool_group(
    group: HarmGroup,
    harms: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    method: str = POOL_METHOD,
) -> PooledResult:
    """Pool the group's counts as logit proportions.

    The group's counts pooled as logit proportions, REML by default (one study: its own logit CI);
    zero or all-event counts get metafor's 0.5 correction.

    ``labels`` maps ``harm_id`` to the study label shown (default: the ``harm_id``); a label
    given to two members falls back to their ``harm_id``.
    """
    rows = harms.set_index("harm_id").loc[list(group.harm_ids)]
    names = [(labels or {}).get(h, h) for h in group.harm_ids]
    names = [n if names.count(n) == 1 else h for n, h in zip(names, group.harm_ids, strict=True)]
    frame = pd.DataFrame(
        {
            "study": names,
            "events": rows["events"].astype(float).to_numpy(),
            "n": rows["n"].astype(float).to_numpy(),
        }
    )
    return pool(frame, POOL_MEASURE, method, warn_excluded=False)
