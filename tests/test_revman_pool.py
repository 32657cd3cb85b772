"""RevMan 5 files round-trip: read, pool with each outcome's settings under the ``revman5``
convention, and RevMan's own stored numbers (estimate, CI, Q, I^2, tau^2, Z, P, study weights)
come back. Sources of the fixtures: tests/fixtures/revman/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from metafuse.revman import read_rm5
from metafuse.revman.pooling import compare
from tests.tolerances import REVMAN_CSV, REVMAN_P, REVMAN_RM5

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "revman"

#: Real RevMan files (full precision) and RevMan CSV exports turned into fixtures (8 decimals).
REAL = {
    "fleiss1993_mh_or_fixed.rm5": REVMAN_RM5,
    "antibiotics_mh_rr_random.rm5": REVMAN_RM5,
    "gad_md_random.rm5": REVMAN_RM5,
    "fleiss1993_md_fixed.rm5": REVMAN_CSV,
    "prp_smd_rd_random.rm5": REVMAN_CSV,
}


def targets() -> list[tuple[str, str, str | None]]:
    out = []
    for name in (*REAL, "synthetic_iv_peto_generic.rm5"):
        for o in read_rm5(FIXTURES / name):
            if (
                o.settings.get("totals") != "SUB"
                and o.stored.estimable
                and o.stored.estimate is not None
            ):
                out.append((name, o.id, None))
            for sub in o.subgroups:
                if sub.stored.estimable:
                    out.append((name, o.id, sub.name))
    return out


@pytest.mark.parametrize(("name", "outcome_id", "subgroup"), targets(), ids=str)
def test_stored_results_reproduced(name: str, outcome_id: str, subgroup: str | None) -> None:
    outcome = {o.id: o for o in read_rm5(FIXTURES / name)}[outcome_id]
    stored = (
        outcome.stored
        if subgroup is None
        else {s.name: s.stored for s in outcome.subgroups}[subgroup]
    )
    result = outcome.pool(subgroup)
    tolerance = REAL.get(name, REVMAN_RM5)
    # study weights: shares of the outcome total (of the subgroup with subtotals only)
    overall = (
        None if subgroup is None or outcome.settings.get("totals") == "SUB" else outcome.pool()
    )
    checked = compare(result, stored, overall)
    assert len(checked) >= 5
    for row in checked:
        tol = REVMAN_P if row.quantity.startswith("P(") else tolerance
        assert row.metafuse == pytest.approx(row.revman, **tol), row.quantity


def test_every_real_outcome_is_checked() -> None:
    """No estimable outcome or subgroup of the real files slips through the parametrisation."""
    checked = {(n, o) for n, o, _ in targets() if n in REAL}
    assert len(checked) >= 8


def test_subgroup_differences_reproduced() -> None:
    from metafuse.revman.pooling import subgroup_differences

    seen = 0
    for name, tolerance in REAL.items():
        for o in read_rm5(FIXTURES / name):
            estimable = [s for s in o.subgroups if s.stored.estimable]
            if len(estimable) < 2 or o.stored.q_subgroups is None:
                continue
            q, _df, p = subgroup_differences(o)
            assert q == pytest.approx(o.stored.q_subgroups, **tolerance)
            assert p == pytest.approx(o.stored.p_subgroups, **REVMAN_P)
            seen += 1
    assert seen >= 1


def test_export_reproduces_revmans_own_csv_export() -> None:
    import csv
    import io

    from metafuse.revman.interchange import REVMAN_CSV_COLUMNS, revman_csv

    text = (FIXTURES / "fleiss93_revman_export.csv").read_text(encoding="utf-8")
    real = list(csv.reader(io.StringIO(text)))
    assert tuple(real[0]) == REVMAN_CSV_COLUMNS
    mh = {o.id: o for o in read_rm5(FIXTURES / "fleiss1993_mh_or_fixed.rm5")}["CMP-001.01"]
    md = {o.id: o for o in read_rm5(FIXTURES / "fleiss1993_md_fixed.rm5")}["CMP-001.02"]
    ours = list(
        csv.reader(io.StringIO(revman_csv(mh.pool(), name=mh.name, comparison=mh.comparison,
                                          group_labels=("Aspirin", "Control"))))
    )[:]  # fmt: skip
    ours += list(
        csv.reader(io.StringIO(revman_csv(md.pool(), name=md.name, comparison=md.comparison,
                                          outcome_number=2,
                                          group_labels=("Mental Health Treatment", "Control"))))
    )[2:]  # fmt: skip
    assert len(ours) == len(real)
    skip = {"Year of study", "User defined order", "P(Qint)"}
    compared = 0
    for mine, theirs in zip(ours, real, strict=True):
        for column, a, b in zip(REVMAN_CSV_COLUMNS, mine, theirs, strict=True):
            if column in skip:
                continue
            try:
                x, y = float(a), float(b)
            except ValueError:
                assert a == b, column
                continue
            tol = REVMAN_P if column.startswith("P(") else REVMAN_CSV
            assert x == pytest.approx(y, **tol), column
            compared += 1
    assert compared > 150


def test_import_writes_specs_that_reproduce_revman(tmp_path: Path) -> None:
    """import -> metafuse analysis -> the stored numbers of the real file."""
    from click.testing import CliRunner

    from metafuse.cli import main

    out = tmp_path / "analyses"
    runner = CliRunner()
    done = runner.invoke(
        main, ["revman", "import", str(FIXTURES / "antibiotics_mh_rr_random.rm5"), "--out",
               str(out)]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == [
        "CMP-002-03.csv", "CMP-002-03.toml", "CMP-004-06.csv", "CMP-004-06.toml"
    ]  # fmt: skip
    done = runner.invoke(main, ["analysis", str(out), "--out", str(tmp_path / "results"),
                                "--quiet"])  # fmt: skip
    assert done.exit_code == 0, done.output
    import json

    stored = {o.id: o.stored for o in read_rm5(FIXTURES / "antibiotics_mh_rr_random.rm5")}
    for name, outcome_id in (("CMP-002-03", "CMP-002.03"), ("CMP-004-06", "CMP-004.06")):
        pooled = json.loads((tmp_path / "results" / name / "pooled.json").read_text())
        s = stored[outcome_id]
        assert pooled["estimate"] == pytest.approx(s.log_estimate, **REVMAN_RM5)
        assert pooled["tau2"] == pytest.approx(s.tau2, **REVMAN_RM5)
        assert pooled["Q"] == pytest.approx(s.q, **REVMAN_RM5)
    done = runner.invoke(main, ["revman", "export", "CMP-002-03", "--analyses", str(out)])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[2].split(",")[5:8] == ["MH", "RR", "Random"]


def test_check_command_and_bad_files(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from metafuse.cli import main

    runner = CliRunner()
    done = runner.invoke(main, ["revman", "check", str(FIXTURES / "gad_md_random.rm5"), "--json"])
    assert done.exit_code == 0, done.output
    import json

    rows = json.loads(done.output)
    assert rows
    assert all(r["largest_difference"] < REVMAN_P["abs"] for r in rows)
    for bad in ("not_xml.rm5", "truncated.rm5", "missing_attribute.rm5"):
        done = runner.invoke(main, ["revman", "import", str(FIXTURES / bad), "--out",
                                    str(tmp_path)])  # fmt: skip
        assert done.exit_code == 1
        assert "Traceback" not in done.output
        assert bad in done.output
        assert len(done.output.strip().splitlines()) == 1
