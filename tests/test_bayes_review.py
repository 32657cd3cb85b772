"""The Bayesian analysis in the review: a footnote for analyses of few studies (k <= 4), the
primary analysis when a spec says so (imprecision then judged on the credible interval), priors
declared per outcome in review.toml, and the ``bayes`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from metafuse import bayes_pool
from metafuse.cli import main
from metafuse.exceptions import SpecError
from metafuse.pipeline.outputs import run_plan
from metafuse.pipeline.plan import make_plan
from metafuse.pipeline.tables import sof_tables
from metafuse.report.writers import render_table
from metafuse.review.records import StudiesError, load_studies
from tests.tolerances import BAYESMETA_TAU

REOPERATION = 'studies = "studies"\ncomparison = "A"\noutcome = "reoperation"\nwindow = "longest"\n'


def sof_text(project: Path, key: str) -> str:
    plan = make_plan(project / "analyses")
    table = dict(sof_tables(run_plan(plan), plan.records))[key]
    return render_table(table, "sof", "md").decode()


def test_few_studies_get_a_bayesian_footnote(project: Path) -> None:
    plan = make_plan(project / "analyses")
    analyses = {a.spec.name: a for a in run_plan(plan)}
    reop = analyses["A_reoperation_longest"]
    assert reop.result is not None
    assert reop.result.k <= 4
    assert reop.bayes is not None
    # the footnote's numbers are those of bayes_pool on the same result and prior
    again = bayes_pool(reop.result, tau_prior=reop.bayes.tau_prior)
    assert again.mu_median == reop.bayes.mu_median
    text = sof_text(project, "A")
    assert "Few studies (k = " in text
    assert "half-normal prior on tau with scale 0.5" in text
    # ODI has no declared prior: the SoF says so rather than inventing one
    assert "Bayesian analysis not done: no heterogeneity prior declared for odi" in text


def test_bayes_as_the_primary_analysis(project: Path) -> None:
    (project / "analyses" / "reoperation_bayes.toml").write_text(
        REOPERATION + 'primary = "bayes"\n', encoding="utf-8"
    )
    plan = make_plan(project / "analyses")
    analyses = {a.spec.name: a for a in run_plan(plan)}
    fit = analyses["reoperation_bayes"].bayes
    assert fit is not None
    table = dict(sof_tables(list(analyses.values()), plan.records))["A"]
    row = next(r for r in table.rows if r.outcome.startswith("Reoperation"))
    assert any(n.startswith("Primary analysis: Bayesian") for n in row.footnotes)
    import math

    assert row.relative.startswith(f"RR {math.exp(fit.mu_median):.2f}")
    imprecision = row.certainty.domains[3]
    assert "95% CrI of the RR" in imprecision.explanation


def test_primary_bayes_needs_a_prior(project: Path) -> None:
    spec = 'studies = "studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'
    (project / "analyses" / "odi_bayes.toml").write_text(
        spec + 'primary = "bayes"\n', encoding="utf-8"
    )
    with pytest.raises(SpecError, match=r"odi_bayes.toml: primary: bayes needs"):
        run_plan(make_plan(project / "analyses"))


def test_a_declared_prior_is_used_and_checked(project: Path) -> None:
    review = project / "studies" / "review.toml"
    text = review.read_text(encoding="utf-8")
    declared = (
        '\n[outcomes.odi.tau_prior]\nkind = "half-normal"\nscale = 5.0\n'
        'source = "a test prior, stated here for the test"\n'
    )
    review.write_text(text.replace("[outcomes.back_pain]", declared + "\n[outcomes.back_pain]"),
                      encoding="utf-8")  # fmt: skip
    out = load_studies(project / "studies").review.outcomes["odi"].bayes_prior()
    assert out is not None
    assert out[0].scale == 5.0
    bad = text.replace(
        "[outcomes.back_pain]",
        '\n[outcomes.odi.tau_prior]\nkind = "half-normal"\nscale = -1\nsource = "x"\n\n'
        "[outcomes.back_pain]",
    )
    review.write_text(bad, encoding="utf-8")
    with pytest.raises(
        StudiesError, match=r"outcomes\.odi\.tau_prior: tau_scale must be a positive"
    ):
        load_studies(project / "studies")


def test_bayes_command(tmp_path: Path) -> None:
    from tests.test_bayes import CRINS

    path = tmp_path / "crins.csv"
    CRINS.to_csv(path, index=False)
    runner = CliRunner()
    done = runner.invoke(
        main, ["bayes", str(path), "--measure", "OR", "--mu-prior", "normal", "--mu-sd", "4",
               "--json", "--forest", str(tmp_path / "shrink.png")]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    # Röver (2020) p.21: tau median 0.3445022 for this prior
    assert payload["tau_median"] == pytest.approx(0.3445022, **BAYESMETA_TAU)
    assert (tmp_path / "shrink.png").stat().st_size > 0
    done = runner.invoke(main, ["bayes", str(path), "--measure", "OR", "--tau-prior", "half-t",
                                "--tau-scale", "1"])  # fmt: skip
    assert done.exit_code == 1
    assert done.output.strip() == "Error: a half-t prior needs tau_df"
