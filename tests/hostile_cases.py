"""Hostile and careless inputs of issue 24, one :class:`Case` per bullet of the issue, each with
the outcome it must have: a clean error (exit 1, one line naming the file and where), or a result
that a check confirms (nothing written outside ``--out``, every imported spec parsing back to what
the file said, formula cells kept inert, ...).

The same cases run two ways: in-process as tests (``tests/test_hostile.py``, the fast ones) and as
separate processes with a timeout and a memory cap by ``bench/hostile.py``, which counts the
outcomes on any checkout (main's code before the fixes, this branch after) and writes
``bench/hostile_report.json``. A case is built in an empty folder ``<case>/work`` (the working
directory of its commands); ``<case>/outside`` is the world beyond the review, which no case may
change.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "review"
BINARY = (
    "study,events_exp,n_exp,events_ctrl,n_ctrl\nA,4,123,11,139\nB,6,306,29,303\nC,3,231,11,220\n"
)
CONTINUOUS = (
    "study,mean_exp,sd_exp,n_exp,mean_ctrl,sd_ctrl,n_ctrl\n"
    "A,5,4.7,13,6.5,3.8,13\nB,4.9,1.71,30,6.1,2.3,50\nC,22.5,3.44,35,24.9,10.65,35\n"
)
#: Keys an imported spec may hold (what metafuse.revman.interchange writes), nothing else.
SPEC_KEYS = frozenset(
    {"title", "data", "measure", "method", "convention", "hksj", "level", "subgroup", "ratio",
     "q_from"}
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """What a command did: ``kind`` is ok, error (clean), internal, hang or resource."""

    kind: str
    code: int | None
    output: str
    seconds: float = 0.0
    peak_mb: float | None = None


@dataclass(frozen=True)
class Case:
    """One hostile input.

    ``steps`` are command lines (run in ``<case>/work``); a step may be a pair (arguments,
    signal name) whose process gets that signal after ``signal_after`` seconds. ``api`` names a
    Python function of :data:`API` run instead of a command. ``expect`` is ``error`` (a clean
    error), ``ok`` (exit 0) or ``either``; ``check`` returns what is wrong with the outcome (or
    None) and runs whatever the exit.
    """

    name: str
    group: str
    build: Callable[[Path], None]
    steps: tuple[Any, ...] = ()
    api: str | None = None
    expect: str = "error"
    check: Callable[[Path, Outcome], str | None] | None = None
    timeout: float = 60.0
    fast: bool = True
    signal_after: float = 3.0
    note: str = ""
    owner: str = field(default="sec")


# --- builders ---------------------------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def review(folder: Path, *, studies: bool = True) -> None:
    """The fixture review (analyses/, studies/, examples/) in ``folder``."""
    for name in ("analyses", "examples", *(("studies",) if studies else ())):
        shutil.copytree(FIXTURE / name, folder / name)
    if not studies:
        for spec in (folder / "analyses").glob("*.toml"):
            if spec.name != "example_bcg.toml":
                spec.unlink()


def data_review(folder: Path) -> None:
    """A review with one data spec (examples/bcg.csv) and no studies: builds in seconds."""
    review(folder, studies=False)


STUDY_ROWS = (("STD-A", "Adams 2001"), ("STD-B", "Brown 2002"), ("STD-C", "Clark 2003"))
CONT_VALUES = (
    ("5", "4.7", "13", "6.5", "3.8", "13"),
    ("4.9", "1.71", "30", "6.1", "2.3", "50"),
    ("22.5", "3.44", "35", "24.9", "10.65", "35"),
)


def cont_data(values: tuple[tuple[str, ...], ...] = CONT_VALUES, ids: tuple[str, ...] = ()) -> str:
    ids = ids or tuple(s for s, _ in STUDY_ROWS)
    keys = ("MEAN_1", "SD_1", "TOTAL_1", "MEAN_2", "SD_2", "TOTAL_2")
    return "".join(
        "<CONT_DATA " + " ".join(f'{k}="{v}"' for k, v in zip(keys, row, strict=True))
        + f' STUDY_ID="{sid}"/>'
        for sid, row in zip(ids, values, strict=True)
    )  # fmt: skip


def outcome(
    oid: str = "CMP-001.01",
    data: str | None = None,
    attrs: str = 'CI_TOTAL="95" CI_STUDY="95"',
    name: str = "Pain",
) -> str:
    rows = cont_data() if data is None else data
    return (
        f'<CONT_OUTCOME ID="{oid}" EFFECT_MEASURE="MD" RANDOM="NO" {attrs}>'
        f"<NAME>{name}</NAME>{rows}</CONT_OUTCOME>"
    )


def comparison(outcomes: str, cid: str = "CMP-001", name: str = "Drug vs placebo") -> str:
    return f'<COMPARISON ID="{cid}"><NAME>{name}</NAME>{outcomes}</COMPARISON>'


def rm5(body: str | None = None, *, prolog: str = "", studies: str | None = None) -> str:
    """A RevMan 5 file: ``body`` inside ANALYSES_AND_DATA (default: one valid outcome)."""
    body = comparison(outcome()) if body is None else body
    studies = (
        "".join(f'<STUDY ID="{sid}" NAME="{name}" YEAR="2001"/>' for sid, name in STUDY_ROWS)
        if studies is None
        else studies
    )
    analyses = "" if body == "" else f"<ANALYSES_AND_DATA>{body}</ANALYSES_AND_DATA>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<COCHRANE_REVIEW TYPE="INTERVENTION">'
        f"<STUDIES_AND_REFERENCES><STUDIES>{studies}</STUDIES></STUDIES_AND_REFERENCES>"
        f"{analyses}</COCHRANE_REVIEW>\n"
    )


def rm5_file(text: str | Callable[[Path], str]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / "analyses").mkdir()
        write(folder, "pyproject.toml", "[project]\nname = 'mine'\n")
        write(folder, "studies/outcomes.csv", "curated\n")
        write(folder, "review.rm5", text(folder) if callable(text) else text)

    return build


def fifo(name: str, base: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        if base is not None:
            base(folder)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.mkfifo(path)

    return build


def files(contents: dict[str, str], base: Callable[[Path], None] | None = None) -> Any:
    """A builder: ``base`` (if any), then each file of ``contents`` (relative path -> text)."""

    def build(folder: Path) -> None:
        if base is not None:
            base(folder)
        for name, text in contents.items():
            write(folder, name, text)

    return build


# --- checks -----------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (symlinks as their target text), by relative path."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def import_check(out: str = "analyses", expected_level: float | None = None) -> Any:
    """Nothing outside ``out`` changed; every file written into ``out`` directly, with a plain
    name; every spec parses back to the keys an import writes, its data inside ``out``."""

    def check(folder: Path, outcome: Outcome) -> str | None:
        base = folder / "work"
        before = BEFORE.get(str(folder), {})
        now = snapshot(folder)
        for rel in sorted(set(before) | set(now)):
            if rel.startswith(f"work/{out}/"):
                continue
            if before.get(rel) != now.get(rel):
                return f"{rel} changed outside --out"
        for path in (base / out).rglob("*"):
            if path.parent != base / out:
                return f"wrote into a subfolder: {path.relative_to(base)}"
            if not path.name[:1].isalnum():
                return f"hidden or unnamed file {path.name!r}"
        for spec in (base / out).glob("*.toml"):
            try:
                raw = tomllib.loads(spec.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
                return f"{spec.name} does not parse: {err}"
            extra = set(raw) - SPEC_KEYS
            if extra:
                return f"{spec.name}: keys the file did not hold: {sorted(extra)}"
            if raw.get("level") != expected_level:
                return f"{spec.name}: level = {raw.get('level')!r}"
            data = (base / str(raw.get("data", ""))).resolve()
            if data.parent != (base / out).resolve() or not data.is_file():
                return f"{spec.name}: data = {raw.get('data')!r}"
        return None

    return check


#: Files of each case folder before its commands ran (filled by the runners).
BEFORE: dict[str, dict[str, bytes]] = {}


def unchanged(*names: str) -> Any:
    """The named files (relative to work/) hold the bytes they held before the commands."""

    def check(folder: Path, outcome: Outcome) -> str | None:
        before = BEFORE.get(str(folder), {})
        now = snapshot(folder)
        for name in names:
            name = f"work/{name}"
            prefix = name.rstrip("/") + "/"
            keys = [k for k in set(before) | set(now) if k == name or k.startswith(prefix)]
            for key in keys:
                if before.get(key) != now.get(key):
                    return f"{key} changed"
        return None

    return check


def mentions(*words: str) -> Any:
    def check(folder: Path, outcome: Outcome) -> str | None:
        missing = [w for w in words if w not in outcome.output]
        return f"the message does not name {missing}" if missing else None

    return check


def both(*checks: Any) -> Any:
    def check(folder: Path, outcome: Outcome) -> str | None:
        for one in checks:
            found = one(folder, outcome)
            if found:
                return str(found)
        return None

    return check


def no_staging(folder: Path, outcome: Outcome) -> str | None:
    left = [p.name for p in (folder / "work").iterdir() if p.name.startswith(".results.")]
    return f"left {left}" if left else None


def markdown_inert(folder: Path, outcome: Outcome) -> str | None:
    """No Markdown output holds a raw tag or a link that came from a file."""
    pages = list((folder / "work" / "results").rglob("*.md"))
    if not pages:
        return "no Markdown written"
    import re

    live = re.compile(r"<(script|img)|(?<!\\)\]\(javascript", re.IGNORECASE)
    for page in pages:
        found = live.search(page.read_text(encoding="utf-8"))
        if found:
            return f"{page.name} holds {found.group(0)!r}"
    for page in (folder / "work" / "results").rglob("*.html"):
        if "<script>alert" in page.read_text(encoding="utf-8"):
            return f"{page.name} holds a live script"
    return None


def merged_cells_inert(folder: Path, outcome: Outcome) -> str | None:
    text = (folder / "work" / "studies" / "outcomes.csv").read_text(encoding="utf-8")
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell.startswith(("=", "+", "@")) or (cell.startswith("-") and cell[1:2].isalpha()):
                return f"live formula cell {cell!r} in outcomes.csv"
    return None


# --- the review's records and a filled gap template ------------------------------------------

TRIAL = (
    "example2030,Example,Example,2030,Test J,1:1-9,,,B,chronic low back pain,Nowhere,fusion,"
    "rehabilitation,40,41,2 years,,RCT,example2030,Methods,40 were assigned to fusion and 41 "
    "to rehabilitation,no,\n"
)
SOURCE = "example2030,Example A et al. Test J 2030;1:1-9,https://example.org,full text,primary,\n"
TEMPLATE_ROW = {
    "record_id": "example2030-odi-24", "report_id": "example2030", "outcome": "odi",
    "timepoint_months": "24", "analysis": "intention to treat", "data_type": "arm",
    "scale": "ODI 0-100 (lower is better)", "primary": "yes", "source_id": "example2030",
    "location": "Table 2", "quote": "ODI at 2 years 30.0 (18.0) 33.0 (19.0)", "weak": "no",
}  # fmt: skip


def studies_with_trial(folder: Path, author: str = "Example") -> None:
    """The fixture review with a fictional trial (Example 2030, comparison B) and its source."""
    review(folder)
    studies = folder / "studies"
    with (studies / "sources.csv").open("a", encoding="utf-8") as fh:
        fh.write(SOURCE)
    trial = TRIAL.replace(",Example,Example,", f",Example,{_csv(author)},", 1)
    with (studies / "trials.csv").open("a", encoding="utf-8") as fh:
        fh.write(trial)


def _csv(text: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


def template(*rows: dict[str, str], raw: bool = False) -> Callable[[Path], None]:
    """A filled template (the outcomes.csv header) with ``rows`` over :data:`TEMPLATE_ROW`;
    cells are written as the template writer does (formula-looking text behind ``'``) unless
    ``raw``."""

    def build(folder: Path) -> None:
        studies_with_trial(folder)
        header = (folder / "studies" / "outcomes.csv").read_text(encoding="utf-8")
        columns = next(csv.reader(io.StringIO(header)))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            full = {**TEMPLATE_ROW, **row}
            cells = [full.get(c, "") for c in columns]
            writer.writerow(cells if raw else [_escape(c) for c in cells])
        write(folder, "template.csv", buffer.getvalue())

    return build


def _escape(cell: str) -> str:
    """As metafuse.files.csv_cell writes a template cell (formula-looking text made inert)."""
    if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
        try:
            float(cell)
        except ValueError:
            return "'" + cell
    return cell


def arms(**values: str) -> tuple[dict[str, str], dict[str, str]]:
    """An exp and a ctrl row with ``values`` (``x_exp``/``x_ctrl`` for one arm only)."""
    exp = {"arm": "exp", "n": "38", "mean": "30.0", "sd": "18.0"}
    ctrl = {"arm": "ctrl", "n": "39", "mean": "33.0", "sd": "19.0"}
    for key, value in values.items():
        name, _, arm = key.rpartition("_")
        if arm in ("exp", "ctrl"):
            (exp if arm == "exp" else ctrl)[name] = value
        else:
            exp[key] = ctrl[key] = value
    return exp, ctrl


def merge_case(name: str, group: str, *rows: dict[str, str], **kw: Any) -> Case:
    kw.setdefault("check", unchanged("studies/outcomes.csv"))
    return Case(name, group, template(*rows), (("merge", "template.csv", "studies"),), **kw)


# --- the cases ----------------------------------------------------------------------------------

IMPORT = ("revman", "import", "review.rm5", "--out", "analyses")
CHECK = ("revman", "check", "review.rm5")
SECURITY, WRONG, INTERNAL, ABSURD = "security", "silently wrong", "internal error", "absurd value"
RESOURCES, BOUNDS = "resources", "bounds"


def _import_case(name: str, text: str | Callable[[Path], str], **kw: Any) -> Case:
    kw.setdefault("check", import_check())
    kw.setdefault("expect", "either")
    return Case(name, kw.pop("group", SECURITY), rm5_file(text), (IMPORT,), **kw)


def _bad_rm5(name: str, text: str, *, group: str = WRONG, **kw: Any) -> list[Case]:
    """A file that import and check must both refuse (nothing written)."""
    return [
        Case(f"{name}/import", group, rm5_file(text), (IMPORT,), check=import_check(), **kw),
        Case(f"{name}/check", group, rm5_file(text), (CHECK,), **kw),
    ]


def _values(**changes: str) -> str:
    """The default continuous rows with attribute values changed for the first study."""
    keys = ("MEAN_1", "SD_1", "TOTAL_1", "MEAN_2", "SD_2", "TOTAL_2")
    first = tuple(changes.get(k, v) for k, v in zip(keys, CONT_VALUES[0], strict=True))
    return rm5(comparison(outcome(data=cont_data((first, *CONT_VALUES[1:])))))


def _outside_absolute(folder: Path) -> str:
    return rm5(comparison(outcome(oid=str(folder.parent / "outside" / "pwned"))))


def _dich(events: str = "4", total: str = "123") -> str:
    rows = "".join(
        f'<DICH_DATA EVENTS_1="{e1}" TOTAL_1="{t1}" EVENTS_2="11" TOTAL_2="139" STUDY_ID="{s}"/>'
        for s, e1, t1 in (("STD-A", events, total), ("STD-B", "6", "306"), ("STD-C", "3", "231"))
    )
    return rm5(
        comparison(
            '<DICH_OUTCOME ID="CMP-001.01" EFFECT_MEASURE="RR" METHOD="MH" RANDOM="NO" '
            f'CI_TOTAL="95"><NAME>Death</NAME>{rows}</DICH_OUTCOME>'
        )
    )


def _generic(se: str = "0.2", effect: str = "0.5") -> str:
    rows = "".join(
        f'<IV_DATA EFFECT_SIZE="{e}" SE="{s}" STUDY_ID="{sid}"/>'
        for sid, e, s in (("STD-A", effect, se), ("STD-B", "0.3", "0.1"), ("STD-C", "0.1", "0.3"))
    )
    return rm5(
        comparison(
            '<IV_OUTCOME ID="CMP-001.01" RANDOM="NO" CI_TOTAL="95"><NAME>Score</NAME>'
            f"<EFFECT_MEASURE>Mean Difference</EFFECT_MEASURE>{rows}</IV_OUTCOME>"
        )
    )


_existing = files({"analyses/CMP-001-01.csv": "k\n"}, rm5_file(rm5()))


def _both_imported(folder: Path, outcome: Outcome) -> str | None:
    specs = list((folder / "work" / "analyses").glob("*.toml"))
    ok = outcome.kind == "error" or len(specs) == 2
    return None if ok else "an outcome overwrote another"


NESTED = "<INS>" * 100_000 + "x" + "</INS>" * 100_000
LAUGHS = (
    '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
    + "".join(
        f'<!ENTITY {b} "{("&" + a + ";") * 16}">'
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "]>\n"
)
EXTERNAL = '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'

REVMAN_SECURITY = [
    _import_case("import/absolute-id", _outside_absolute),
    _import_case("import/dotdot-id", rm5(comparison(outcome(oid="../pyproject")))),
    _import_case("import/dotdot-studies", rm5(comparison(outcome(oid="../studies/outcomes")))),
    _import_case("import/slash-id", rm5(comparison(outcome(oid="a/b/c")))),
    _import_case("import/newline-comparison-id",
                 rm5(comparison(outcome(), cid="CMP-001&#10;level = 0.5"))),
    _import_case("import/newline-outcome-id", rm5(comparison(outcome(oid="X&#10;level = 0.5")))),
    _import_case("import/carriage-return-id", rm5(comparison(outcome(oid="X&#13;level = 0.5")))),
    _import_case("import/quote-in-names", rm5(comparison(
        outcome(name='Pain "quoted" \\ back'), name='a"b&#10;level = 0.5'))),
    _import_case("import/empty-id", rm5(comparison(outcome(oid="")))),
    _import_case("import/dot-id", rm5(comparison(outcome(oid=".")))),
    _import_case("import/unicode-id", rm5(comparison(outcome(oid="CMP-001.01é∂")))),
    _import_case("import/long-id", rm5(comparison(outcome(oid="X" * 400)))),
    _import_case("import/colliding-ids", rm5(comparison(
        outcome() + outcome(oid="CMP-001-01", name="Other"))),
        check=both(import_check(), _both_imported)),
    Case("import/existing-file", SECURITY, _existing,
         (IMPORT,), check=unchanged("analyses/CMP-001-01.csv")),
    Case("import/existing-file-force", SECURITY, _existing, ((*IMPORT, "--force"),), expect="ok",
         check=import_check()),
    _import_case("import/level-from-file", rm5(comparison(outcome(
        attrs='CI_TOTAL="90" CI_STUDY="95"'))), expect="ok", check=import_check(
        expected_level=0.9), group="handled"),
    *_bad_rm5("rm5/billion-laughs", rm5(prolog=LAUGHS, body=comparison(
        outcome(name="&i;"))), group=SECURITY),
    *_bad_rm5("rm5/external-entity", rm5(prolog=EXTERNAL, body=comparison(
        outcome(name="&x;"))), group=SECURITY),
    *_bad_rm5("rm5/nested-100000", rm5(comparison(outcome(name=NESTED))), group=INTERNAL),
    Case("rm5/fifo/import", SECURITY, fifo("review.rm5", lambda f: (f / "analyses").mkdir()),
         (IMPORT,), timeout=20),
    Case("rm5/fifo/check", SECURITY, fifo("review.rm5"), (CHECK,), timeout=20),
    Case("rm5/dev-zero", SECURITY, lambda f: None, (("revman", "check", "/dev/zero"),),
         timeout=20),
]  # fmt: skip

REVMAN_VALUES = [
    *_bad_rm5("rm5/negative-sd", _values(SD_1="-4.7")),
    *_bad_rm5("rm5/zero-sd", _values(SD_2="0")),
    *_bad_rm5("rm5/infinite-mean", _values(MEAN_1="Infinity")),
    *_bad_rm5("rm5/nan-mean", _values(MEAN_2="NaN")),
    *_bad_rm5("rm5/overflowing-means", _values(MEAN_1="1e308", MEAN_2="-1e308")),
    *_bad_rm5("rm5/total-1e308", _values(TOTAL_1="1e308"), group=INTERNAL),
    *_bad_rm5("rm5/events-over-total", _dich(events="200")),
    *_bad_rm5("rm5/negative-se", _generic(se="-0.2")),
    *_bad_rm5("rm5/zero-se", _generic(se="0")),
    *_bad_rm5("rm5/infinite-effect", _generic(effect="Infinity")),
    *_bad_rm5("rm5/ci-total-150", rm5(comparison(outcome(attrs='CI_TOTAL="150" CI_STUDY="95"')))),
    *_bad_rm5("rm5/ci-total-0", rm5(comparison(outcome(attrs='CI_TOTAL="0" CI_STUDY="95"')))),
    *_bad_rm5("rm5/ci-total-nan", rm5(comparison(outcome(attrs='CI_TOTAL="NaN"')))),
    *_bad_rm5("rm5/ci-study-150", rm5(comparison(outcome(attrs='CI_TOTAL="95" CI_STUDY="150"')))),
    *_bad_rm5("rm5/duplicate-study-row", rm5(comparison(outcome(data=cont_data(
        (*CONT_VALUES, CONT_VALUES[0]), ids=("STD-A", "STD-B", "STD-C", "STD-A")))))),
    *_bad_rm5("rm5/duplicate-study-entry", rm5(studies='<STUDY ID="STD-A" NAME="Adams 2001"/>'
        '<STUDY ID="STD-A" NAME="Other 1999"/><STUDY ID="STD-B" NAME="B"/>'
        '<STUDY ID="STD-C" NAME="C"/>')),
    *_bad_rm5("rm5/no-analyses", rm5(body="")),
    *_bad_rm5("rm5/no-outcomes", rm5(body=comparison(""))),
    *_bad_rm5("rm5/only-empty-outcomes", rm5(body=comparison(outcome(data="")))),
    *_bad_rm5("rm5/underscore-number", _values(TOTAL_1="1_3")),
    *_bad_rm5("rm5/full-width-number", _values(MEAN_1="５")),
    *_bad_rm5("rm5/arabic-indic-number", _values(SD_1="٤.٧")),
]  # fmt: skip

_DUPLICATE = {
    "record_id": "fairbank2005-odi-24-copy", "report_id": "fairbank2005", "primary": "no",
    "analysis": "available cases", "scale": "ODI 0-100 (lower is better)",
    "source_id": "fairbank2005-table4", "location": "Table 4", "quote": "34.0 (21.1) 36.1 (20.6)",
}  # fmt: skip
_DUPLICATES = (
    {**_DUPLICATE, "arm": "exp", "n": "138", "mean": "34.0", "sd": "21.1"},
    {**_DUPLICATE, "arm": "ctrl", "n": "146", "mean": "36.1", "sd": "20.6"},
)

MERGE = [
    merge_case("merge/nan-n", WRONG, *arms(n_exp="nan")),
    merge_case("merge/nan-mean", WRONG, *arms(mean_ctrl="NaN")),
    merge_case("merge/infinite-sd", WRONG, *arms(sd_exp="inf")),
    merge_case("merge/mean-without-sd", WRONG, *arms(sd_exp="")),
    merge_case("merge/sd-without-mean", WRONG, *arms(mean_ctrl="")),
    merge_case("merge/duplicate-of-existing", WRONG, *_DUPLICATES),
    merge_case("merge/underscore-number", WRONG, *arms(n_exp="3_8")),
    merge_case("merge/full-width-number", WRONG, *arms(n_exp="３８")),
    merge_case("merge/arabic-indic-number", WRONG, *arms(mean_ctrl="٣٣")),
    merge_case("merge/all-or-nothing", WRONG, *arms(), {**arms(n_exp="-5")[0],
               "record_id": "example2030-odi-24b"}),
    merge_case("merge/formula-quote", SECURITY, *arms(quote="=cmd|' /C calc'!A0"),
               expect="ok", check=merged_cells_inert),
    merge_case("merge/formula-location", SECURITY, *arms(location="+SUM(A1:A9)"),
               expect="ok", check=merged_cells_inert),
    merge_case("merge/formula-caveat", SECURITY, *arms(caveat="@HYPERLINK(1)"),
               expect="ok", check=merged_cells_inert),
    Case("merge/fifo-template", SECURITY, fifo("template.csv", studies_with_trial),
         (("merge", "template.csv", "studies"),), timeout=20),
]  # fmt: skip


def _reconcile(value: str) -> Callable[[Path], None]:
    head = "record_id,arm,n,mean\n"
    return files({"a.csv": f"{head}r1,exp,123,30\n", "b.csv": f"{head}r1,exp,{value},30\n"})


def _pool_csv(text: str) -> Callable[[Path], None]:
    return files({"data.csv": text})


def _outcomes_cell(old: str, new: str, name: str = "outcomes") -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        review(folder)
        path = folder / "studies" / f"{name}.csv"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return build


def _numbers(tag: str, value: str, year: str) -> list[Case]:
    pooled = BINARY.replace("A,4,123,", f"A,4,{value},")
    return [
        Case(f"numbers/{tag}/pool", WRONG, _pool_csv(pooled),
             (("pool", "data.csv", "--measure", "RR"),), check=mentions("data.csv:2", "n_exp")),
        Case(f"numbers/{tag}/bayes", WRONG, _pool_csv(pooled),
             (("bayes", "data.csv", "--measure", "RR"),), check=mentions("data.csv:2", "n_exp")),
        Case(f"numbers/{tag}/validate", WRONG, _outcomes_cell(",138,34.0,", f",{value},34.0,"),
             (("validate", "studies"),), check=mentions("outcomes.csv:2", "n")),
        Case(f"numbers/{tag}/validate-trials", WRONG, _outcomes_cell(
             "Försth,2016,", f"Försth,{year},", "trials"), (("validate", "studies"),),
             check=mentions("trials.csv:2", "year")),
        Case(f"numbers/{tag}/reconcile", WRONG, _reconcile(value),
             (("reconcile", "a.csv", "b.csv"),), check=mentions("b.csv:2", "n")),
    ]  # fmt: skip


NUMBERS = [
    *_numbers("underscore", "1_23", "2_016"),
    *_numbers("full-width", "１２３", "２０１６"),
    *_numbers("arabic-indic", "١٢٣", "٢٠١٦"),
    *_numbers("devanagari", "१२३", "२०१६"),
    Case("numbers/exponent-is-a-number", "handled",
         _pool_csv(BINARY.replace(",123,", ",1.23e2,")), (("pool", "data.csv", "--measure", "RR"),),
         expect="ok"),
    Case("numbers/dup-row/pool", WRONG, _pool_csv(BINARY + "A,4,123,11,139\n"),
         (("pool", "data.csv", "--measure", "RR"),), check=mentions("data.csv:5")),
    Case("numbers/dup-row/leave-one-out", WRONG,
         _pool_csv(CONTINUOUS + "B,4.9,1.71,30,6.1,2.3,50\n"),
         (("leave-one-out", "data.csv", "--measure", "MD"),), check=mentions("data.csv:5")),
    Case("numbers/same-label-other-numbers", "handled", _pool_csv(BINARY + "A,5,100,10,100\n"),
         (("pool", "data.csv", "--measure", "RR"),), expect="ok"),
]  # fmt: skip


def _outside_data(folder: Path) -> None:
    data_review(folder)
    write(folder.parent, "outside/data.csv", (FIXTURE / "examples" / "bcg.csv").read_text())


def _spec(text: str | Callable[[Path], str], base: Callable[[Path], None] = _outside_data) -> Any:
    def build(folder: Path) -> None:
        base(folder)
        write(folder, "analyses/hostile.toml", text(folder) if callable(text) else text)

    return build


def _symlinked_data(folder: Path) -> str:
    (folder / "examples" / "link.csv").symlink_to(folder.parent / "outside" / "data.csv")
    return 'data = "examples/link.csv"\nmeasure = "RR"\n'


def _outside_studies(folder: Path) -> str:
    shutil.copytree(FIXTURE / "studies", folder.parent / "outside" / "studies")
    return 'studies = "../outside/studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'


ANALYSIS = ("analysis", "analyses", "--out", "results", "--quiet")
VERIFY = ("verify", "--analyses", "analyses", "--results", "results")


#: Builders that need a build run it in-process (tests) or as a process of the code under test
#: (the bench, which may run another checkout's code).
BUILD_IN_PROCESS = False


def _built(then: Callable[[Path], None]) -> Callable[[Path], None]:
    """A data review built by ``metafuse analysis``, then changed."""

    def build(folder: Path) -> None:
        import subprocess
        import sys

        data_review(folder)
        if BUILD_IN_PROCESS:
            from metafuse.pipeline.outputs import run_all

            run_all(folder / "analyses", folder / "results")
        else:
            subprocess.run([sys.executable, "-m", "metafuse", *ANALYSIS], cwd=folder,
                           check=True, capture_output=True)  # fmt: skip
        then(folder)

    return build


def _swap_for_symlink(relative: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        path = folder / relative
        outside = folder.parent / "outside" / path.name
        outside.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, outside)
        path.unlink()
        path.symlink_to(outside)

    return change


def _results_elsewhere(folder: Path) -> None:
    shutil.move(folder / "results", folder.parent / "outside" / "results")
    (folder / "results").symlink_to(folder.parent / "outside" / "results")


SPECS = [
    Case("spec/data-absolute", SECURITY, _spec(lambda f: f'data = "{f.parent}/outside/data.csv"'
         '\nmeasure = "RR"\n'), (ANALYSIS,), check=mentions("hostile.toml", "data")),
    Case("spec/data-etc-passwd", SECURITY, _spec('data = "/etc/passwd"\nmeasure = "RR"\n'),
         (ANALYSIS,), check=mentions("hostile.toml", "data")),
    Case("spec/data-dotdot", SECURITY, _spec('data = "../outside/data.csv"\nmeasure = "RR"\n'),
         (ANALYSIS,), check=mentions("hostile.toml", "data")),
    Case("spec/data-symlink-out", SECURITY, _spec(_symlinked_data), (ANALYSIS,),
         check=mentions("hostile.toml", "data")),
    Case("spec/studies-outside", SECURITY, _spec(_outside_studies), (ANALYSIS,),
         check=mentions("hostile.toml", "studies")),
    Case("spec/level-1.5", ABSURD, _spec('data = "examples/bcg.csv"\nmeasure = "RR"\n'
         "level = 1.5\n"), (ANALYSIS,), check=mentions("hostile.toml", "level")),
    Case("spec/level-150", "handled", _spec('data = "examples/bcg.csv"\nmeasure = "RR"\n'
         "level = 150\n"), (ANALYSIS,), check=mentions("hostile.toml", "level")),
    Case("spec/level-90-percent", "handled", _spec('data = "examples/bcg.csv"\nmeasure = "RR"\n'
         "level = 90\n"), (ANALYSIS,), expect="ok"),
    Case("spec/fifo-spec", SECURITY, fifo("analyses/hostile.toml", data_review), (ANALYSIS,),
         timeout=20),
    Case("spec/fifo-review-toml", SECURITY, fifo("studies/review.toml", review), (ANALYSIS,),
         timeout=20),
    Case("validate/fifo-review-toml", SECURITY, fifo("studies/review.toml", review),
         (("validate", "studies"),), timeout=20),
    Case("spec/fifo-data", "handled", fifo("examples/bcg.csv", data_review), (ANALYSIS,),
         timeout=20),
    Case("verify/fifo-manifest", SECURITY, fifo("results/manifest.json", data_review), (VERIFY,),
         timeout=20),
    Case("verify/output-symlinked-out", SECURITY, _built(_swap_for_symlink(
         "results/example_bcg/pooled.json")), (VERIFY,), check=mentions("pooled.json")),
    Case("verify/results-symlinked-out", SECURITY, _built(_results_elsewhere), (VERIFY,),
         check=mentions("results")),
    Case("verify/input-symlinked-out", SECURITY, _built(_swap_for_symlink("examples/bcg.csv")),
         (VERIFY,), check=mentions("bcg.csv")),
    Case("verify/spec-symlinked-out", SECURITY, _built(_swap_for_symlink(
         "analyses/example_bcg.toml")), (VERIFY,), check=mentions("example_bcg.toml")),
]  # fmt: skip


def _previous_results(folder: Path) -> None:
    (folder / "analyses").mkdir()
    write(folder, "results/index.html", "<p>the previous build</p>\n")
    write(folder, "results/manifest.json", "{}\n")


def _stale_staging(folder: Path) -> None:
    data_review(folder)
    write(folder, ".results.staging-dead0001/pooled.json", "{}\n")
    write(folder, ".results.old-dead0002/pooled.json", "{}\n")


BUILDS = [
    Case(
        "build/empty-spec-folder", WRONG, _previous_results, (ANALYSIS,), check=unchanged("results")
    ),
    Case(
        "build/sigterm",
        WRONG,
        review,
        ((ANALYSIS, "SIGTERM"),),
        expect="either",
        check=no_staging,
        fast=False,
        signal_after=8.0,
    ),
    Case(
        "build/sigint",
        "handled",
        review,
        ((ANALYSIS, "SIGINT"),),
        expect="either",
        check=no_staging,
        fast=False,
        signal_after=8.0,
    ),
    Case(
        "build/sigkill-then-build",
        WRONG,
        review,
        ((ANALYSIS, "SIGKILL"), ANALYSIS),
        expect="ok",
        check=no_staging,
        signal_after=8.0,
        fast=False,
        timeout=120,
    ),
    Case("build/stale-staging", WRONG, _stale_staging, (ANALYSIS,), expect="ok", check=no_staging),
]


def _markdown(author: str, grade: str = "", reason: str = "") -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        studies_with_trial(folder, author)
        with (folder / "studies" / "outcomes.csv").open("a", encoding="utf-8") as fh:
            for arm, n, mean, sd in (("exp", 38, 30.0, 18.0), ("ctrl", 39, 33.0, 19.0)):
                fh.write(
                    f"example2030-odi-24,example2030,odi,24,intention to treat,arm,{arm},{n},"
                    f"{mean},{sd},,,,,,,ODI 0-100,yes,,example2030,Table 2,ODI at 2 years,"
                    "no,\n"
                )
        spec = 'studies = "studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'
        if reason:
            write(folder, "analyses/B_odi_2y_sensitivity.toml",
                  spec + f"exclude_weak_sources = {_toml(reason)}\n")  # fmt: skip
        if grade:
            write(folder, "analyses/B_odi_2y.toml", spec + f"[grade]\ncomment = {_toml(grade)}\n")

    return build


def _toml(text: str) -> str:
    import json

    return json.dumps(text)


MARKDOWN = [
    Case("markdown/script-label", SECURITY, _markdown("<script>alert(1)</script>"), (ANALYSIS,),
         expect="ok", check=markdown_inert, fast=False, timeout=120),
    Case("markdown/img-onerror-label", SECURITY, _markdown("<img src=x onerror=alert(1)>"),
         (ANALYSIS,), expect="ok", check=markdown_inert, fast=False, timeout=120),
    Case("markdown/javascript-link-label", SECURITY, _markdown("[x](javascript:alert(1))"),
         (ANALYSIS,), expect="ok", check=markdown_inert, fast=False, timeout=120),
    Case("markdown/grade-comment-and-reason", SECURITY, _markdown(
         "Example", "<script>alert(1)</script>", "[x](javascript:alert(1))"), (ANALYSIS,),
         expect="ok", check=markdown_inert, fast=False, timeout=120),
]  # fmt: skip


def _bayes(name: str, group: str, *options: str) -> Case:
    return Case(f"bayes/{name}", group, _pool_csv(BINARY),
                (("bayes", "data.csv", "--measure", "OR", *options),))  # fmt: skip


BAYES = [
    _bayes("tau-df-0.001", INTERNAL, "--tau-prior", "half-t", "--tau-scale", "0.5",
           "--tau-df", "0.001"),
    _bayes("log-normal-mean-1e300", INTERNAL, "--tau-prior", "log-normal", "--log-tau2-mean",
           "1e300", "--log-tau2-sd", "1"),
    _bayes("log-normal-mean-100", INTERNAL, "--tau-prior", "log-normal", "--log-tau2-mean",
           "100", "--log-tau2-sd", "1"),
    _bayes("mu-sd-1e-300", INTERNAL, "--mu-prior", "normal", "--mu-sd", "1e-300"),
    _bayes("mu-mean-1e300", INTERNAL, "--mu-prior", "normal", "--mu-sd", "1", "--mu-mean",
           "1e300"),
    _bayes("mu-mean-1000", INTERNAL, "--mu-prior", "normal", "--mu-sd", "1", "--mu-mean", "1000"),
    _bayes("mu-sd-1e300", ABSURD, "--mu-prior", "normal", "--mu-sd", "1e300"),
    _bayes("log-tau2-sd-1e300", ABSURD, "--tau-prior", "log-normal", "--log-tau2-mean", "-2",
           "--log-tau2-sd", "1e300"),
    _bayes("tau-scale-1e300", ABSURD, "--tau-prior", "half-normal", "--tau-scale", "1e300"),
    _bayes("tau-scale-1e10", WRONG, "--tau-prior", "half-normal", "--tau-scale", "1e10"),
    _bayes("tau-scale-1e-300", "handled", "--tau-prior", "half-normal", "--tau-scale", "1e-300"),
    _bayes("mid-1e308", ABSURD, "--mid", "1e308"),
    _bayes("level-1.5", ABSURD, "--level", "1.5"),
    _bayes("level-150", "handled", "--level", "150"),
]  # fmt: skip


def _generic_rows(k: int) -> Callable[[Path], None]:
    """``k`` studies of generic effects (yi, sei), deterministic."""

    def build(folder: Path) -> None:
        lines = ["study,yi,sei"]
        lines += [f"S{i},{((i * 7919) % 1000) / 1000 - 0.5:.3f},{0.1 + (i % 17) / 40:.3f}"
                  for i in range(k)]  # fmt: skip
        write(folder, "data.csv", "\n".join(lines) + "\n")

    return build


TOOLS = [
    Case("gosh/k-200", RESOURCES, _generic_rows(200), (("gosh", "data.csv", "--measure", "GEN"),),
         expect="either", timeout=120, fast=False),
    Case("gosh/k-1000", INTERNAL, _generic_rows(1000),
         (("gosh", "data.csv", "--measure", "GEN"),), expect="either", timeout=120, fast=False),
    Case("gosh/k-5000", INTERNAL, _generic_rows(5000),
         (("gosh", "data.csv", "--measure", "GEN"),), expect="either", timeout=120, fast=False),
    Case("permutest/iterations-1e7", RESOURCES, _generic_rows(25),
         (("permutest", "data.csv", "--measure", "GEN", "--iterations", "10000000"),),
         expect="error", check=mentions("iterations"), timeout=120),
    Case("permutest/moderator-iterations-1e7", RESOURCES, files({"data.csv": "study,yi,sei,x\n"
         + "".join(f"S{i},{i % 5 / 10},{0.1 + i % 3 / 10},{i % 4}\n" for i in range(25))}),
         (("permutest", "data.csv", "--measure", "GEN", "--moderator", "x", "--iterations",
           "10000000"),), expect="error", check=mentions("iterations"), timeout=120),
]  # fmt: skip


def api_pool_many(yi: Any, vi: Any, method: str = "REML", mask: Any = None) -> None:
    import numpy as np

    from metafuse import pool_many

    fit = pool_many(yi, vi, method, mask=mask)
    estimate = np.asarray(fit.estimate, dtype=float)
    if not np.all(np.isfinite(estimate)):
        raise AssertionError(f"non-finite estimates without an error: {estimate}")


def _pool_many_cases() -> list[Case]:
    cases = {
        "subnormal-variances": ("[[0.1, 0.2, 0.3]]", "[[1e-320, 0.1, 0.1]]", "REML", None),
        "tiny-variances": ("[[0.1, 0.2, 0.3]]", "[[1e-300, 1e-300, 0.1]]", "REML", None),
        "overflowing-variances": ("[[0.1, 0.2, 0.3]]", "[[1e308, 1e308, 0.1]]", "DL", None),
        "wrong-shapes": ("[[0.1, 0.2, 0.3]]", "[[0.1, 0.2]]", "REML", None),
        "empty-mask": ("[[0.1, 0.2, 0.3]]", "[[0.1, 0.1, 0.1]]", "REML", "[[False] * 3]"),
        "strings": ("[['a', 'b', 'c']]", "[[0.1, 0.1, 0.1]]", "REML", None),
        "unknown-method": ("[[0.1, 0.2, 0.3]]", "[[0.1, 0.1, 0.1]]", "XYZ", None),
    }
    return [
        Case(f"pool_many/{name}", "pool_many", lambda f: None,
             api=f"api_pool_many({y}, {v}, {m!r}, {mask})",
             owner="sec")
        for name, (y, v, m, mask) in cases.items()
    ]  # fmt: skip


POOL_MANY = _pool_many_cases()

CASES: tuple[Case, ...] = (
    *REVMAN_SECURITY, *REVMAN_VALUES, *MERGE, *NUMBERS, *SPECS, *BUILDS, *MARKDOWN, *BAYES,
    *TOOLS, *POOL_MANY,
)  # fmt: skip


# --- outcomes -----------------------------------------------------------------------------------

VERDICTS = ("clean error", "handled", "silently wrong", "internal error", "hang", "resources",
            "refused valid input")  # fmt: skip


def classify(code: int | None, output: str) -> str:
    """ok, error (one clean message) or internal (a traceback, an internal error)."""
    if "Traceback" in output or "unexpected internal error" in output or "MemoryError" in output:
        return "resource" if "MemoryError" in output else "internal"
    if code == 0:
        return "ok"
    if code is not None and code < 0:
        return "resource"
    return "error"


def verdict(case: Case, folder: Path, outcome: Outcome) -> tuple[str, str | None]:
    """The outcome against what the case must give: one of :data:`VERDICTS`, and why."""
    if outcome.kind == "internal":
        return "internal error", outcome.output.strip().splitlines()[-1][:200]
    if outcome.kind in ("hang", "resource"):
        return {"hang": "hang", "resource": "resources"}[outcome.kind], None
    problem = case.check(folder, outcome) if case.check is not None else None
    if outcome.kind == "error":
        if case.expect == "ok":
            return "refused valid input", outcome.output.strip()[-200:]
        return ("silently wrong", problem) if problem else ("clean error", None)
    if case.expect == "error":
        return "silently wrong", problem or "accepted"
    return ("silently wrong", problem) if problem else ("handled", None)


def run_api(expression: str) -> None:
    """Evaluate an API case (``api_...(...)``) as the bench runs it in a subprocess."""
    eval(expression, {**globals()})  # the expressions are this module's own
