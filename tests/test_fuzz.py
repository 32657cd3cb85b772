"""Property-based fuzzing (Hypothesis) of every entry a user's text reaches: study CSVs through
``pool`` and the CLI, the derivation parser, analysis specs and CSV output cells. The properties
are those of issue 11: a clean error (a ``MetafuseError``/``ValueError`` with a message, one line
on the command line) or a result whose numbers are finite and whose JSON is valid; never a
traceback, a silent null or an unescaped formula. Derandomised, so CI runs the same examples."""

from __future__ import annotations

import io
import json
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metafuse import pool
from metafuse.cli import main
from metafuse.data.csv import read_table
from metafuse.files import FORMULA_STARTS, csv_cell, to_json

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Cell texts a careless or hostile user might type.
NASTY = st.sampled_from(
    ["", "0", "-1", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "NA", "abc", "=1+1",
     "+cmd", "@x", "1,5", " 12 ", "3.0", "0.5", "1e5", "10", "250", "99999999999", "-0", "1/2"]
)  # fmt: skip
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True).map(repr)

COLUMNS = {
    "RR": ["events_exp", "n_exp", "events_ctrl", "n_ctrl"],
    "OR": ["events_exp", "n_exp", "events_ctrl", "n_ctrl"],
    "RD": ["events_exp", "n_exp", "events_ctrl", "n_ctrl"],
    "MD": ["mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl"],
    "SMD": ["mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl"],
    "GEN": ["yi", "sei"],
    "PLO": ["events", "n"],
    "IRR": ["events_exp", "time_exp", "events_ctrl", "time_ctrl"],
}


def plausible(column: str, n: int) -> st.SearchStrategy[str]:
    """A value that could be right for ``column`` (``n``: the arm size drawn for the row)."""
    if column.startswith("events"):
        return st.integers(min_value=0, max_value=n).map(str)
    if column.startswith("n"):
        return st.just(str(n))
    if column.startswith("time"):
        return st.integers(min_value=1, max_value=10_000).map(str)
    if column.startswith("sd") or column == "sei":
        return st.floats(min_value=0.01, max_value=50).map(lambda x: f"{x:.4g}")
    return st.floats(min_value=-100, max_value=100).map(lambda x: f"{x:.4g}")


@st.composite
def study_csv(draw) -> tuple[str, str]:
    """A study CSV: plausible rows, with about one cell in ten (and one label in ten) hostile."""
    measure = draw(st.sampled_from(sorted(COLUMNS)))
    columns = COLUMNS[measure]
    k = draw(st.integers(min_value=1, max_value=6))
    rows = [",".join(["study", *columns])]
    for i in range(k):
        hostile_label = draw(st.integers(min_value=0, max_value=9)) == 0
        label = (
            draw(st.sampled_from(["=HYPERLINK(1)", "NA", "", "A"])) if hostile_label else f"S{i}"
        )
        n = draw(st.integers(min_value=1, max_value=400))
        cells = []
        for column in columns:
            hostile = draw(st.integers(min_value=0, max_value=9)) == 0
            cell = draw(st.one_of(NASTY, ANY_FLOAT) if hostile else plausible(column, n))
            cells.append(cell.replace(",", "."))
        rows.append(",".join([label, *cells]))
    return measure, "\n".join(rows) + "\n"


def check_result(result) -> None:
    """A pooled result: its numbers are finite, its JSON valid (no NaN, no silent null)."""
    for name in ("estimate", "se", "ci_low", "ci_high"):
        value = getattr(result, name)
        assert value is not None, name
        assert math.isfinite(value), name
    json.loads(to_json(result.to_dict()))


@FUZZ
@given(study_csv(), st.sampled_from(["FE", "DL", "REML", "PM", "MH"]))
def test_pool_gives_a_result_or_a_clean_error(tmp_path_factory, case, method) -> None:
    measure, text = case
    path = tmp_path_factory.mktemp("fuzz") / "d.csv"
    path.write_text(text, encoding="utf-8")
    try:
        table = read_table(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pool(table.frame, measure, method)
    except ValueError as err:  # DataError and SpecError are ValueErrors
        message = str(err)
    else:
        check_result(result)
        return
    assert message.strip()
    assert "\n" not in message


@settings(FUZZ, max_examples=25)
@given(study_csv())
def test_cli_pool_never_shows_a_traceback(tmp_path_factory, case) -> None:
    measure, text = case
    path = tmp_path_factory.mktemp("cli") / "d.csv"
    path.write_text(text, encoding="utf-8")
    done = CliRunner().invoke(main, ["pool", str(path), "--measure", measure, "--json"])
    assert done.exit_code in (0, 1), done.output
    assert "Traceback" not in done.output
    if done.exit_code == 0:
        payload = json.loads(done.stdout)
        assert payload["estimate"] is not None
    else:
        errors = [x for x in done.output.splitlines() if x.startswith("Error:")]
        assert len(errors) == 1


@FUZZ
@given(st.text(max_size=200))
def test_derivation_parser_is_total(text: str) -> None:
    from metafuse.review.derivations import parse_derivation

    try:
        name, arguments = parse_derivation(text)
    except ValueError as err:
        message = str(err)
    else:
        assert isinstance(name, str)
        assert isinstance(arguments, dict)
        return
    assert message.strip()


SPEC_KEYS = ["title", "method", "hksj", "convention", "level", "prediction", "q_from", "data",
             "measure", "studies", "comparison", "outcome", "window", "exclude", "subgroup",
             "primary", "grade", "colour", "add", "to", "drop00", "weighted", "correct", "tau2",
             "tau2_start"]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(
        [
            '"RR"',
            '"REML"',
            '"examples/bcg.csv"',
            '"studies"',
            '"B"',
            '"odi"',
            '"2y"',
            "true",
            "0.9",
            "95",
            "nan",
            "-1",
            "[]",
            '["A"]',
            "{}",
            '"bayes"',
            '"mh"',
            '"t(k-2)"',
            '"only0"',
            '"metafor"',
        ]
    ),
    st.integers().map(str),
)


@FUZZ
@given(st.dictionaries(st.sampled_from(SPEC_KEYS), VALUES, max_size=7))
def test_spec_reader_is_total(project_dir, raw: dict) -> None:
    from metafuse.exceptions import SpecError
    from metafuse.pipeline.spec import read_spec

    path = project_dir / "analyses" / "fuzzed.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in raw.items()), encoding="utf-8")
    try:
        read_spec(path, project_dir)
    except SpecError as err:
        message = str(err)
    else:
        return
    assert str(path) in message


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory) -> Path:
    import shutil

    from tests.conftest import FIXTURE_REVIEW

    root = tmp_path_factory.mktemp("project")
    for folder in ("analyses", "studies", "examples"):
        shutil.copytree(FIXTURE_REVIEW / folder, root / folder)
    return root


@FUZZ
@given(st.text(max_size=50))
def test_csv_cells_never_start_a_formula(text: str) -> None:
    cell = csv_cell(text)
    if cell.startswith(FORMULA_STARTS):
        float(cell)  # a number such as -1.5 or +2 stays as it is


@FUZZ
@given(st.lists(st.text(max_size=20), min_size=1, max_size=5))
def test_frame_to_csv_round_trips_text(values: list[str]) -> None:
    from metafuse.files import frame_to_csv

    text = frame_to_csv(pd.DataFrame({"label": values}))
    back = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=str)["label"].tolist()
    for original, read in zip(values, back, strict=True):
        assert (
            read in (original, "'" + original) or original.strip() != original or "\r" in original
        )
