"""A small document model written as Markdown and as a standalone HTML page.

A small document model (headings, paragraphs, lists, tables, figures) written as Markdown and as a
standalone HTML page from the same blocks, so both say the same thing byte for byte each run.

Inline markup is one form only: ``**text**`` for emphasis (bold in both formats). Text is escaped
for its format: HTML entities in HTML; in Markdown, ``|`` in table cells, and everywhere what a
Markdown renderer would turn into live HTML or a link (:func:`escape_markdown`), since labels,
quotes and comments come from files.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

_BOLD = re.compile(r"\*\*(.+?)\*\*")
#: What starts raw HTML in Markdown (CommonMark 6.6: a tag, closing tag, comment, declaration,
#: processing instruction or autolink all begin with "<" and one of these).
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
#: An entity or character reference (CommonMark 2.5), which a renderer would decode.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
#: A closing bracket that would make a link, image or link reference definition:
#: ``[x](url)``, ``[x][ref]``, ``[ref]: url``.
_LINK_CLOSE = re.compile(r"\](?=[(\[:])")


def escape_markdown(text: str) -> str:
    """``text`` made inert for a Markdown renderer: no raw HTML (``<script>``, ``<img onerror>``.

    ``text`` made inert for a Markdown renderer: no raw HTML (``<script>``, ``<img onerror>``: the
    ``<`` becomes ``&lt;``), no entity decoded, no link or image (``]`` before ``(``, ``[`` or ``:``
    is escaped). Other text, ``**bold**`` included, is left as it is, so a value with none of these
    reads the same.
    """
    text = _ENTITY.sub("&amp;", text)
    text = _TAG_START.sub("&lt;", text)
    return _LINK_CLOSE.sub(r"\\]", text)


@dataclass(frozen=True)
class Heading:
    """A heading; ``level`` 1 is the page title."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table with a header row."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figure:
    """An image, by its path relative to the page, with its alternative text."""

    path: str
    alt: str


Block = Heading | Paragraph | Bullets | Table | Figure


def md_cell(text: str) -> str:
    """Escape ``text`` for a Markdown table cell: :func:`escape_markdown`, ``|``, line breaks."""
    return escape_markdown(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    """Return the blocks as Markdown (GitHub tables), one blank line between blocks."""
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append("#" * b.level + " " + escape_markdown(b.text))
        elif isinstance(b, Paragraph):
            parts.append(escape_markdown(b.text))
        elif isinstance(b, Bullets):
            parts.append("\n".join(f"- {escape_markdown(item)}" for item in b.items))
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(md_cell(h) for h in b.header) + " |"]
            lines.append("|" + "---|" * len(b.header))
            lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in b.rows]
            parts.append("\n".join(lines))
        else:
            parts.append(f"![{escape_markdown(b.alt)}]({b.path})")
    return "\n\n".join(parts) + "\n"


def _inline(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", html.escape(text))


def to_html(title: str, blocks: Sequence[Block]) -> str:
    """Return the blocks as a standalone HTML page (no scripts, no external files but figures)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10pt;max-width:90em}"
        "table{border-collapse:collapse;margin:0.5em 0}th,td{border:1px solid #777;padding:4px;"
        "vertical-align:top}th{background:#e8eef4}img{max-width:100%}</style></head><body>",
    ]
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{_inline(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            parts.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            alt = html.escape(b.alt, quote=True)
            parts.append(f'<p><img src="{html.escape(b.path, quote=True)}" alt="{alt}"></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
