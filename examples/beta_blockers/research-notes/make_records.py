"""Transcribe dat.yusuf1985 (R's metadat, as written by dump_yusuf1985.R) into this review's
trials.csv and outcomes.csv: one report per trial and comparison, one arm-level record per trial
and outcome, every number with its source, location and the dataset row as its quote.

Run from this folder: ``python make_records.py yusuf1985.csv ../studies``. The script copies the
dataset's numbers; it computes none (a time point is entered only where the dataset names a
whole number of years, e.g. '(2 y)' -> 24 months; every other time point is left empty).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

SOURCE = "metadat-yusuf1985"
#: Yusuf 1985 table -> (comparison, outcome, what the table holds, as metadat describes it).
TABLES = {
    "6": ("short_term", "death", "total mortality from short-term trials of oral beta blockers"),
    "9": (
        "short_term",
        "death",
        "total mortality at one week from trials with an initial IV dose of a beta blocker",
    ),
    "10": (
        "long_term",
        "death",
        "total mortality from long-term trials with treatment starting late and mortality from "
        "day 8 onwards in long-term trials that began early and continued after discharge",
    ),
    "11": ("long_term", "reinfarction", "nonfatal reinfarction from long-term trials"),
    "12a": ("long_term", "sudden_death", "sudden death in long-term beta blocker trials"),
    "12b": ("long_term", "nonsudden_death", "nonsudden death in long-term beta blocker trials"),
}
SCALES = {
    "death": "deaths (all causes)",
    "reinfarction": "patients with a non-fatal reinfarction",
    "sudden_death": "sudden deaths",
    "nonsudden_death": "non-sudden deaths",
}
#: The follow-up in a table 10 trial name: 'Reynolds (1 y)' -> ('Reynolds', '1 y').
NAMED_FOLLOW_UP = re.compile(r"^(?P<name>.*?)\s*\((?P<follow>[^)]*)\)$")
WHOLE_YEARS = re.compile(r"^(?P<years>\d+) y$")
TRIALS_HEADER = [
    "report_id",
    "trial",
    "first_author",
    "year",
    "journal",
    "citation",
    "doi",
    "pmid",
    "comparison",
    "population",
    "country",
    "exp_arm",
    "ctrl_arm",
    "n_randomised_exp",
    "n_randomised_ctrl",
    "follow_up",
    "includes",
    "design",
    "source_id",
    "location",
    "quote",
    "weak",
    "notes",
    "label",
]
OUTCOMES_HEADER = [
    "record_id",
    "report_id",
    "outcome",
    "timepoint_months",
    "analysis",
    "data_type",
    "arm",
    "n",
    "mean",
    "sd",
    "events",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "direction",
    "scale",
    "primary",
    "derivation",
    "source_id",
    "location",
    "quote",
    "weak",
    "caveat",
    "primary_reason",
]
DESIGN_QUOTE = "Our aim has been not only to review the 65-odd randomized beta blocker trials"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def quote(row: dict[str, str]) -> str:
    cells = " ".join(f"{k}={row[k] or 'NA'}" for k in ("ai", "n1i", "ci", "n2i"))
    return (
        f"dat.yusuf1985 row {row['row']}: table={row['table']} id={row['id']} "
        f"trial={row['trial']} {cells}"
    )


def main(dump: Path, out: Path) -> None:
    with dump.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = {(r["id"]): r["trial"] for r in rows if r["table"] == "11"}
    follow = {}
    for r in rows:
        if r["table"] == "10":
            m = NAMED_FOLLOW_UP.match(r["trial"])
            follow[r["id"]] = m["follow"] if m else ""
    reports: dict[str, dict[str, str]] = {}
    records: list[dict[str, str]] = []
    for r in rows:
        comparison, outcome, holds = TABLES[r["table"]]
        long_term = comparison == "long_term"
        name = names.get(r["id"], r["trial"]) if long_term else r["trial"]
        padded = ".".join(f"{int(part):02d}" for part in r["id"].split("."))  # sorts 5.2 < 5.10
        report = f"y85-{'l' if long_term else 's'}{padded}-{slug(name)}"
        early = long_term and r["id"].split(".")[0] in ("2", "4")
        label = f"{name} ({r['id']}{', from day 8' if early else ''})"
        if report not in reports:
            stated = follow.get(r["id"], "") if long_term else ""
            if not long_term:
                stated = "one week" if r["table"] == "9" else "short term (not stated per trial)"
            reports[report] = {
                "report_id": report,
                "trial": f"Yusuf 1985 trial {r['id']} ({name})",
                "first_author": name,
                "year": "unknown",
                "journal": "unknown",
                "comparison": comparison,
                "population": (
                    "survivors of myocardial infarction (Yusuf 1985 tables 10 to 12: long-term "
                    "trials)"
                    if long_term
                    else f"acute myocardial infarction (Yusuf 1985 table {r['table']}: {holds})"
                ),
                "exp_arm": {
                    "6": "oral beta blocker",
                    "9": "intravenous then oral beta blocker",
                }.get(r["table"], "long-term beta blocker"),
                "ctrl_arm": "control",
                "follow_up": stated,
                "design": "RCT",
                "source_id": "yusuf1985-abstract",
                "location": "abstract",
                "quote": DESIGN_QUOTE,
                "weak": "no",
                "notes": (
                    "first_author is the 'trial name or first author' of dat.yusuf1985; year "
                    "and journal are not given there; numbers randomised not given (the "
                    "dataset's n are its 'number of patients' per group)"
                ),
                "label": label,
            }
        months, caveat = "", f"Yusuf 1985 table {r['table']}: {holds}"
        if r["table"] == "10":
            years = WHOLE_YEARS.match(follow.get(r["id"], ""))
            if years:
                months = str(12 * int(years["years"]))
                caveat += f"; follow-up as the dataset names it: '{follow[r['id']]}'"
            else:
                caveat += (
                    "; time point not stated as one time (the dataset names the follow-up "
                    f"'{follow.get(r['id']) or 'not at all'}')"
                )
        else:
            caveat += "; time point not stated"
        if not r["n1i"]:
            caveat += "; no numbers in the dataset (NA)"
        for arm, events, n in (("exp", r["ai"], r["n1i"]), ("ctrl", r["ci"], r["n2i"])):
            records.append(
                {
                    "record_id": f"{report}-{outcome}",
                    "report_id": report,
                    "outcome": outcome,
                    "timepoint_months": months,
                    "analysis": "as tabulated by Yusuf et al. 1985",
                    "data_type": "arm",
                    "arm": arm,
                    "n": n,
                    "events": events,
                    "scale": SCALES[outcome],
                    "primary": "yes",
                    "source_id": SOURCE,
                    "location": f"dat.yusuf1985 row {r['row']} (Yusuf 1985 table {r['table']})",
                    "quote": quote(r),
                    "weak": "no",
                    "caveat": caveat,
                }
            )
    write(out / "trials.csv", TRIALS_HEADER, list(reports.values()))
    write(out / "outcomes.csv", OUTCOMES_HEADER, records)


def write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
