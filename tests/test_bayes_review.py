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

ODI_2Y = 'studies = "studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'
ODI_PRIOR = (
    '\n[outcomes.odi.tau_prior]\nkind = "half-normal"\nscale = 5.0\nmeasure = "MD"\n'
    'source = "a test prior, stated here for the test"\n'
)


def declare_odi_prior(project: Path, prior: str = ODI_PRIOR) -> None:
    review = project / "studies" / "review.toml"
    text = review.read_text(encoding="utf-8")
    review.write_text(
        text.replace("[outcomes.back_pain]", prior + "\n[outcomes.back_pain]"), encoding="utf-8"
    )


def sof_text(project: Path, key: str) -> str:
    plan = make_plan(project / "analyses")
    table = dict(sof_tables(run_plan(plan), plan.records))[key]
    return render_table(table, "sof", "md").decode()


def test_one_study_gets_no_random_effects_bayes(project: Path) -> None:
    """A between-study SD is not estimable from one study: no Bayesian random-effects model."""
    analyses = {a.spec.name: a for a in run_plan(make_plan(project / "analyses"))}
    reop = analyses["A_reoperation_longest"]
    assert reop.result is not None
    assert reop.result.k == 1
    assert (reop.bayes, reop.bayes_note) == (None, None)


def test_few_studies_get_a_bayesian_footnote(project: Path) -> None:
    # without a prior for the MD scale the SoF says so rather than inventing one
    text = sof_text(project, "B")
    assert "no heterogeneity prior declared for Oswestry Disability Index on the MD scale" in text
    declare_odi_prior(project)
    analyses = {a.spec.name: a for a in run_plan(make_plan(project / "analyses"))}
    odi = analyses["B_odi_2y"]
    assert odi.result is not None
    assert 2 <= odi.result.k <= 4
    assert odi.bayes is not None
    # the footnote's numbers are those of bayes_pool on the same result, prior and +/- MID
    again = bayes_pool(odi.result, tau_prior=odi.bayes.tau_prior, thresholds=(-10.0, 10.0))
    assert again.mu_median == odi.bayes.mu_median
    assert odi.bayes.p_thresholds == again.p_thresholds
    below, between, above = again.p_thresholds
    assert below == pytest.approx(again.mu().cdf(-10.0))
    assert below + between + above == pytest.approx(1.0)
    text = sof_text(project, "B")
    assert "Few studies (k = " in text
    assert "half-normal prior on tau with scale 5" in text
    assert "Posterior probability of an important reduction" in text


def test_bayes_as_the_primary_analysis(project: Path) -> None:
    declare_odi_prior(project)
    (project / "analyses" / "odi_bayes.toml").write_text(
        ODI_2Y + 'primary = "bayes"\n', encoding="utf-8"
    )
    plan = make_plan(project / "analyses")
    analyses = {a.spec.name: a for a in run_plan(plan)}
    fit = analyses["odi_bayes"].bayes
    assert fit is not None
    table = dict(sof_tables(list(analyses.values()), plan.records))["B"]
    row = next(r for r in table.all_rows() if r.key == "odi" and r.headline)
    assert any(n.startswith("Primary analysis: Bayesian") for n in row.all_notes())
    assert row.difference.text.startswith(f"MD {abs(fit.mu_median):.2f}")
    imprecision = row.certainty.domain("imprecision")
    assert "95% CrI" in imprecision.explanation


def test_primary_bayes_needs_a_prior_and_two_studies(project: Path) -> None:
    (project / "analyses" / "odi_bayes.toml").write_text(
        ODI_2Y + 'primary = "bayes"\n', encoding="utf-8"
    )
    with pytest.raises(SpecError, match=r"odi_bayes.toml: primary: bayes needs"):
        run_plan(make_plan(project / "analyses"))
    (project / "analyses" / "odi_bayes.toml").unlink()
    (project / "analyses" / "reop.toml").write_text(
        'studies = "studies"\ncomparison = "A"\noutcome = "reoperation"\nwindow = "longest"\n'
        'primary = "bayes"\n',
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match=r"reop.toml: primary: bayes needs at least two"):
        run_plan(make_plan(project / "analyses"))


def test_a_declared_prior_is_used_for_its_measure_only(project: Path) -> None:
    declare_odi_prior(project)
    outcome = load_studies(project / "studies").review.outcomes["odi"]
    out = outcome.bayes_prior("MD")
    assert out is not None
    assert out[0].scale == 5.0
    assert outcome.bayes_prior("SMD") is None  # a prior for one scale is not used on another
    binary = load_studies(project / "studies").review.outcomes["reoperation"]
    assert binary.bayes_prior("RR") is None  # no sourced default for log risk ratios
    assert binary.bayes_prior("OR") is not None  # half-normal(0.5) for log odds ratios
    (project / "studies" / "review.toml").write_text(
        (project / "studies" / "review.toml")
        .read_text(encoding="utf-8")
        .replace("scale = 5.0", "scale = -1"),
        encoding="utf-8",
    )
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
