"""The harms a review declares in ``review.toml`` (``[harms]``).

The harms a review declares in ``review.toml`` (``[harms]``): the vocabulary of ``harms.csv`` and
the name and title of the harms profile page.

::

    [harms]
    page = "harms"                        # output name of the profile (default "harms")
    title = "Harms profile"               # its heading (default: "Harms profile: <review title>")

    [harms.bleeding]                      # a harm key: the values of harms.csv's `harm` column
    label = "Major bleeding"              # the section title (required)
    unit = "patients with a major bleed"  # what a figure counts, shown with the section
    grouping = "window"                   # which single-study counts are pooled together

``grouping`` is ``window`` (the default: counts of the harm with the same ``per`` unit and a follow-
up in the same bounded window of ``[windows]``), ``all`` (counts with the same ``per`` unit whatever
their follow-up, for a harm counted over one fixed period such as a hospital stay) or ``none``
(every count stands alone, e.g. the two arms of one trial). Harms appear in the profile in the order
declared. Errors name the file and key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from metafuse.exceptions import SpecError

Grouping = Literal["window", "all", "none"]
GROUPINGS: Final = ("window", "all", "none")
#: A page or harm key is a plain name: it names an output file.
PLAIN_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
DEFAULT_PAGE: Final = "harms"
HARM_KEYS: Final = frozenset({"label", "unit", "grouping"})


@dataclass(frozen=True)
class Harm:
    """One declared harm: its key in harms.csv, section title, unit and pooling rule."""

    key: str
    label: str
    unit: str = ""
    grouping: Grouping = "window"


@dataclass(frozen=True)
class HarmsDeclaration:
    """The harms of a review (in declared order) and the name and title of their page."""

    harms: Mapping[str, Harm]
    page: str
    title: str


def _fail(path: Path, key: str, message: str) -> SpecError:
    return SpecError(f"{path}: {key}: {message}")


def _harm(key: str, raw: Any, path: Path) -> Harm:
    where = f"harms.{key}"
    if not PLAIN_NAME.match(key):
        raise _fail(path, where, "a harm key is a plain name (letters, digits, _ and -)")
    unknown = sorted(set(raw) - HARM_KEYS)
    if unknown:
        raise _fail(path, f"{where}.{unknown[0]}", "unknown key")
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _fail(path, f"{where}.label", "needs a text value (the section title)")
    unit = raw.get("unit", "")
    if not isinstance(unit, str):
        raise _fail(path, f"{where}.unit", "must be text")
    grouping = raw.get("grouping", "window")
    if grouping not in GROUPINGS:
        raise _fail(path, f"{where}.grouping", f"must be one of {', '.join(GROUPINGS)}")
    return Harm(key, label.strip(), unit.strip(), grouping)


def read_harms_declaration(raw: Any, path: Path, review_title: str) -> HarmsDeclaration:
    """Read the ``[harms]`` table of review.toml (absent: no harm declared, default page names)."""
    default_title = f"Harms profile: {review_title}" if review_title else "Harms profile"
    if raw is None:
        return HarmsDeclaration({}, DEFAULT_PAGE, default_title)
    if not isinstance(raw, dict):
        raise _fail(path, "harms", "must be a table ([harms.<key>] tables, page, title)")
    page = raw.get("page", DEFAULT_PAGE)
    if not isinstance(page, str) or not PLAIN_NAME.match(page):
        raise _fail(path, "harms.page", "must be a plain name (letters, digits, _ and -)")
    title = raw.get("title", default_title)
    if not isinstance(title, str) or not title.strip():
        raise _fail(path, "harms.title", "must be text")
    harms = {}
    for key, value in raw.items():
        if key in ("page", "title"):
            continue
        if not isinstance(value, dict):
            raise _fail(path, f"harms.{key}", "unknown key (a harm is a [harms.<key>] table)")
        harms[key] = _harm(key, value, path)
    return HarmsDeclaration(harms, page, title.strip())
