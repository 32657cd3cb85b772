"""Where each pooled number comes from.

Where each pooled number comes from: per study of an analysis, the numbers of its record, the source
(citation, link, location, verbatim quote), the analysis population, the derivation the library
applied, why the record is primary, and its caveat — so a reader can trace every number of a forest
plot or SoF row to a sentence or table of a publication.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from metafuse.review.records import StudyRecords
from metafuse.review.selection import Selection


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _number(value: Any) -> str:
    return "" if pd.isna(value) else f"{float(value):g}"


def record_numbers(rows: pd.DataFrame) -> str:
    """'exp: n 138, mean 34, SD 21.1; ctrl: n 146, ...' or 'MD -4.1 (-8.1 to -0.1), exp-ctrl'."""
    first = rows.iloc[0]
    if first["data_type"] == "contrast":
        return (
            f"{first['measure']} {_number(first['estimate'])} ({_number(first['ci_low'])} to "
            f"{_number(first['ci_high'])}), {first['direction']}"
        )
    parts = []
    for r in rows.itertuples(index=False):
        values = [
            f"{name} {_number(getattr(r, col))}"
            for col, name in (("n", "n"), ("events", "events"), ("mean", "mean"), ("sd", "SD"))
            if not pd.isna(getattr(r, col))
        ]
        parts.append(f"{r.arm}: " + (", ".join(values) if values else "no numbers"))
    return "; ".join(parts)


def _source(records: StudyRecords, source_id: str) -> tuple[str, str, str]:
    s = records.sources
    row = s[s["source_id"] == source_id]
    if row.empty:
        return source_id, "", ""
    first = row.iloc[0]
    url = _text(first["url"]).strip()
    if not url.lower().startswith(("https://", "http://")):
        url = ""  # only web addresses become links (never javascript: or file paths)
    return _text(first["citation"]), url, _text(first["strength"])


def study_sources(selection: Selection, records: StudyRecords) -> list[dict[str, str]]:
    """One entry per pooled study.

    One entry per pooled study (in the selection's order), then one per trial that could not be
    pooled: label, record, numbers, time point, population analysed, source citation, link,
    location, quote, derivation, why primary, caveat, weak flag.
    """
    o = records.outcomes
    out = []
    used = list(selection.records.items())
    for label, record in used:
        rows = o[o["record_id"] == record]
        first = rows.iloc[0]
        citation, url, strength = _source(records, str(first["source_id"]))
        months = first["timepoint_months"]
        out.append(
            {
                "study": label,
                "status": "pooled",
                "record": record,
                "numbers": record_numbers(rows),
                "months": "not stated" if pd.isna(months) else f"{float(months):g}",
                "analysis": _text(first["analysis"]),
                "citation": citation,
                "url": url,
                "strength": strength,
                "location": _text(first["location"]),
                "quote": _text(first["quote"]),
                "derivation": "; ".join(
                    dict.fromkeys(_text(d) for d in rows["derivation"] if _text(d))
                ),
                "primary_reason": _text(first.get("primary_reason")),
                "caveat": _text(first["caveat"]),
                "weak": "yes" if (rows["weak"] == "yes").any() else "no",
            }
        )
    for label, reason in selection.incomplete:
        out.append({"study": label, "status": f"not pooled: {reason}"})
    return out
