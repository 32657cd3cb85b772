"""Loading a RevMan 5 file and reading its attributes, with one-line errors naming the element.

RevMan 5 is a Java program: numbers are written with Java's ``Double.toString`` (shortest decimal
that round-trips a double, exponent as ``E-7``), a value not computed is an empty string, and
``NaN``/``Infinity`` may appear. Every error is a :class:`~metafuse.exceptions.DataError` whose
message names the XML element and its ID (or ``STUDY_ID``) attribute.

The file is untrusted: it is read only if it is a regular file within the size limit
(:func:`metafuse.files.read_regular_bytes`), parsed by lxml with entity expansion, DTD loading
and network access off and libxml2's default limits (nesting depth 256, 10 MB per text node);
a document with a ``<!DOCTYPE>`` (RevMan writes none; it is how entities are declared) is
refused.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Final

from lxml import etree

from metafuse.data.numbers import parse_number
from metafuse.data.validate import MAX_COUNT
from metafuse.exceptions import DataError
from metafuse.files import read_regular_bytes

Element = Any  # lxml.etree._Element (lxml has no type stubs)

#: Java's names of the non-finite doubles (RevMan writes them for numbers it could not compute).
JAVA_NON_FINITE: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

_BLANK_TAIL = re.compile(r"\s*\n\s*")


def describe(element: Element, parent: Element | None = None) -> str:
    """``TAG ID="..."`` (or ``STUDY_ID``), plus ``in <parent>`` when given."""
    text = element.tag
    for key in ("ID", "STUDY_ID"):
        value = element.get(key)
        if value:
            text += f' {key}="{value}"'
            break
    if parent is not None:
        text += f" in {describe(parent)}"
    return text


class Source:
    """A loaded file: its path (for error messages) and its root element."""

    def __init__(self, path: Path, root: Element) -> None:
        self.path = path
        self.root = root

    def error(self, element: Element, message: str, parent: Element | None = None) -> DataError:
        """Return a DataError naming this file and ``element`` (with ``parent`` for study rows)."""
        return DataError(f"{describe(element, parent)}: {message}", source=str(self.path))

    def required(self, element: Element, key: str, parent: Element | None = None) -> str:
        """Return an attribute that must be present (it may be empty)."""
        value = element.get(key)
        if value is None:
            raise self.error(element, f"no {key} attribute", parent)
        return value

    def number(self, element: Element, key: str, parent: Element | None = None) -> float | None:
        """Return a numeric attribute; ``None`` when absent or empty (RevMan did not compute it)."""
        raw = element.get(key)
        if raw is None or not raw.strip():
            return None
        return self._parse(element, key, raw, parent)

    def value(self, element: Element, key: str, parent: Element | None = None) -> float:
        """Return a numeric attribute that must be present, not empty and finite (study data)."""
        raw = self.required(element, key, parent)
        if not raw.strip():
            raise self.error(element, f"{key} is empty", parent)
        value = self._parse(element, key, raw, parent)
        if not math.isfinite(value):
            raise self.error(element, f"{key}={raw!r} is not a finite number", parent)
        return value

    def _parse(self, element: Element, key: str, raw: str, parent: Element | None) -> float:
        """Return a number as a spreadsheet reads it.

        A number as a spreadsheet reads it (:func:`metafuse.data.numbers.parse_number`), or one of
        Java's ``NaN``/``Infinity``.
        """
        text = raw.strip()
        if text in JAVA_NON_FINITE:
            return JAVA_NON_FINITE[text]
        try:
            return parse_number(text)
        except ValueError as err:
            reason = str(err).removeprefix(f"not a number: {text!r}").strip()
            what = "is not a finite number" if "finite" in str(err) else "is not a number"
            raise self.error(
                element, f"{key}={raw!r} {what}{' ' + reason if reason else ''}", parent
            ) from None

    def count(self, element: Element, key: str, parent: Element | None = None) -> int:
        """Return a required whole, non-negative number (events, group sizes).

        At most :data:`~metafuse.data.validate.MAX_COUNT`.
        """
        value = self.value(element, key, parent)
        if value < 0 or value != int(value):
            raise self.error(element, f"{key}={element.get(key)!r} is not a whole count", parent)
        if value > MAX_COUNT:
            raise self.error(
                element,
                f"{key}={element.get(key)!r} is implausibly large (more than {MAX_COUNT:g})",
                parent,
            )
        return int(value)

    def flag(self, element: Element, key: str, default: bool | None = None) -> bool:
        """Return a ``YES``/``NO`` attribute.

        Absent gives ``default`` (an error when there is none).
        """
        raw = element.get(key)
        if raw is None:
            if default is None:
                raise self.error(element, f"no {key} attribute")
            return default
        value = raw.strip().upper()
        if value not in ("YES", "NO"):
            raise self.error(element, f"{key}={raw!r} is neither YES nor NO")
        return value == "YES"


def load(path: str | Path) -> Source:
    """Parse ``path`` safely.

    Parse ``path`` safely (see the module) and check that it is a RevMan 5 intervention review.
    """
    path = Path(path)
    try:
        data = read_regular_bytes(path)
    except DataError as err:
        raise DataError(err.message.replace("cannot read file", "cannot read the file"),
                        source=str(path)) from None  # fmt: skip
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        reason = (exc.msg or str(exc)).split(", line ")[0]
        raise DataError(
            f"not a RevMan 5 file: malformed XML at line {line}, column {column} ({reason})",
            source=str(path),
        ) from None
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.externalDTD is not None or info.doctype:
        raise DataError(
            "not a RevMan 5 file: it declares a <!DOCTYPE> (RevMan writes none; entities and "
            "DTDs are not read)",
            source=str(path),
        )
    if root.tag != "COCHRANE_REVIEW":
        raise DataError(
            f"not a RevMan 5 file: the root element is <{root.tag}>, not <COCHRANE_REVIEW>",
            source=str(path),
        )
    review_type = root.get("TYPE", "INTERVENTION").strip().upper()
    if review_type != "INTERVENTION":
        raise DataError(
            f'COCHRANE_REVIEW TYPE="{root.get("TYPE")}": only intervention reviews are supported',
            source=str(path),
        )
    return Source(path, root)


def text(element: Element | None) -> str:
    """Visible text of an element: tracked insertions kept, tracked deletions (``DEL``) dropped.

    RevMan writes each tracked-change run (``<INS>``) on its own line; the line breaks between
    runs are layout, not spaces, so whitespace containing a line break is removed and other runs
    of whitespace are collapsed to one space.
    """
    if element is None:
        return ""
    parts: list[str] = []

    def walk(node: Element) -> None:
        parts.append(node.text or "")
        for child in node:
            if child.tag != "DEL":
                walk(child)
            parts.append(child.tail or "")

    walk(element)
    joined = "".join(_BLANK_TAIL.sub("", part) if not part.strip() else part for part in parts)
    return " ".join(_BLANK_TAIL.sub(" ", joined).split())
