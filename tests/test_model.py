"""The model specification (issue 22 item 1): one typed, frozen ``metafuse.Model``, checked where
it is built, built directly or from a convention preset, carried by every pooled result and
consumed by refit, the toolbox, the Bayesian model, specs, RevMan import and the command line.

The numbers are the same whichever way a model is given: these tests compare a fit through a
``Model`` with the same fit through keyword options (the metafor reference suites pin the
numbers themselves)."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import metafuse
from metafuse import Model, ModelError, pool, refit
from metafuse.conventions import CONVENTIONS, Convention
from metafuse.model import (
    CONVENTION_NAMES,
    MEASURES,
    METHODS,
    OPTION_NAMES,
    Measure,
    Method,
)
from metafuse.model_options import option_infos


def test_model_is_typed_and_frozen() -> None:
    model = Model("rr", "reml")
    assert (model.measure, model.method) == ("RR", "REML")
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.method = "DL"  # type: ignore[misc]
    hints = typing.get_type_hints(Model)
    assert hints["method"] is Method
    assert typing.get_args(hints["measure"])[0] is Measure
    # the Literal codes are the vocabularies, in the same order
    assert typing.get_args(Measure) == MEASURES
    assert typing.get_args(Method) == METHODS
    assert tuple(CONVENTIONS) == CONVENTION_NAMES


def test_defaults_come_from_the_convention() -> None:
    """RevMan 5 pools by DerSimonian-Laird without a prediction interval; RevMan Web by REML with
    HKSJ and a t(k-1) prediction interval; metafor keeps double-zero studies except in
    Mantel-Haenszel fits (conventions.py cites the sources)."""
    revman5 = Model.from_convention("revman5", method="DL")
    assert (revman5.method, revman5.hksj, revman5.prediction) == ("DL", False, "none")
    assert Model.from_convention("revman5") == revman5
    web = Model(convention="revman-web")
    assert (web.method, web.hksj, web.prediction) == ("REML", True, "t(k-1)")
    assert Model("RR", "MH", convention="revman-web").hksj is False  # HKSJ is for IV models
    assert Model("RR", convention="metafor").drop00 is False
    assert Model("RR", "MH", convention="metafor").drop00 is True
    assert Model("RD").drop00 is False
    assert Model().measure is None
    assert Model().drop00 is None  # a rule for the measure, which is not known yet


def test_replace_keeps_what_was_given_and_follows_the_convention_for_the_rest() -> None:
    model = Model("RR", level=0.9)
    other = model.replace(convention="revman5")
    assert (other.method, other.level, other.prediction) == ("DL", 0.9, "none")
    assert model.replace(method=None) == model  # None: not given
    assert model.replace(method="DL").given == {"measure", "level", "method"}
    assert model.arguments() == {"measure": "RR", "level": 0.9}
    with pytest.raises(TypeError, match="unknown model option 'colour'"):
        model.replace(colour="red")
    with pytest.raises(TypeError):
        Model(colour="red")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("field", "options"),
    [
        ("measure", {"measure": "HR"}),
        ("method", {"method": "XYZ"}),
        ("method", {"measure": "RR", "method": "PETO"}),
        ("hksj", {"measure": "RR", "method": "MH", "hksj": True}),
        ("hksj", {"hksj": "yes"}),
        ("convention", {"convention": "stata"}),
        ("level", {"level": 0}),
        ("level", {"level": "0.9"}),
        ("prediction", {"prediction": "t"}),
        ("add", {"add": -1}),
        ("add", {"add": True}),
        ("to", {"to": "sometimes"}),
        ("drop00", {"drop00": 1}),
        ("q_from", {"q_from": "xy"}),
        ("q_from", {"q_from": "mh", "method": "REML"}),
        ("q_from", {"q_from": "mh", "method": "DL", "measure": "MD"}),
        ("weighted", {"weighted": None, "correct": "no"}),
        ("tau2", {"tau2": float("nan")}),
        ("tau2_start", {"tau2_start": -1.0}),
        ("tau2_options", {"tau2_options": {"shape": 1}}),
        ("tau2_start", {"tau2_start": 0.1, "tau2_options": {"start": 0.2}}),
    ],
)
def test_an_option_is_checked_where_the_model_is_built(field: str, options: dict) -> None:
    expected = "correct" if options.get("correct") == "no" else field
    with pytest.raises(ModelError) as info:
        Model(**options)
    assert info.value.field == expected
    assert isinstance(info.value, ValueError)


def test_pool_with_a_model_equals_pool_with_keywords(bcg: pd.DataFrame) -> None:
    model = Model("RR", "PM", hksj=True, level=0.9, prediction="z")
    by_model = pool(bcg, model)
    by_keywords = pool(bcg, "RR", "PM", hksj=True, level=0.9, prediction="z")
    assert by_model.to_dict() == by_keywords.to_dict()
    assert by_model.model == by_keywords.model == model
    assert pool(bcg, model=model).to_dict() == by_model.to_dict()
    # keywords change the model's options
    changed = pool(bcg, model, level=0.95)
    assert changed.model == model.replace(level=0.95)
    assert changed.to_dict() == pool(bcg, "RR", "PM", hksj=True, prediction="z").to_dict()
    revman = pool(bcg, Model.from_convention("revman5", measure="RR"))
    assert revman.to_dict() == pool(bcg, "RR", convention="revman5").to_dict()


def test_the_result_carries_its_model(bcg: pd.DataFrame) -> None:
    res = pool(bcg, "OR", "MH", correct=False)
    assert res.model == Model("OR", "MH", correct=False)
    assert (res.method, res.hksj, res.level) == (res.model.method, res.model.hksj, 0.95)
    assert res.options["correct"] is False  # the options mapping is the model's, as before
    sub = refit(res, [True] * 5 + [False] * 8)
    assert sub.model == res.model
    fe = refit(pool(bcg, "RR", "REML", hksj=True), method="MH")
    assert (fe.method, fe.hksj) == ("MH", False)


def test_effect_sizes_keep_the_options_they_were_computed_with(bcg: pd.DataFrame) -> None:
    effects = metafuse.compute_effects(bcg, "RR", add=0.25, to="all")
    res = pool(effects, method="DL")
    assert (res.model.add, res.model.to, res.model.measure) == (0.25, "all", "RR")
    with pytest.raises(ModelError, match=r"computed with add=0\.25") as info:
        pool(effects, add=0.5)
    assert info.value.field == "add"
    with pytest.raises(ModelError, match="the effect sizes are RR"):
        pool(effects, "OR")


def test_command_line_options_are_the_model_fields(bcg: pd.DataFrame, tmp_path: Path) -> None:
    from metafuse.cli import main

    names = {info.name for info in option_infos("cli")}
    assert names == set(OPTION_NAMES) - {"tau2_weights"}
    path = tmp_path / "bcg.csv"
    bcg.to_csv(path, index=False)
    runner = CliRunner()
    usage = runner.invoke(main, ["pool", "--help"]).output
    for name in names:
        assert f"--{name.replace('_', '-')}" in usage
    args = ["pool", str(path), "--measure", "RR", "--to", "all", "--add", "0.25", "--unweighted"]
    out = runner.invoke(main, [*args, "--json"])
    assert out.exit_code == 0, out.output
    expected = pool(bcg, "RR", to="all", add=0.25, weighted=False).to_dict()
    assert json.loads(out.output)["estimate"] == expected["estimate"]
    bad = runner.invoke(main, ["pool", str(path), "--measure", "RR", "--q-from", "mh"])
    assert bad.exit_code == 1
    assert "q_from='mh'" in bad.output


def test_spec_keys_are_the_model_fields(project: Path, bcg: pd.DataFrame) -> None:
    from metafuse.exceptions import SpecError
    from metafuse.pipeline.spec import MODEL_KEYS, read_spec

    assert {info.name for info in option_infos("spec")} == MODEL_KEYS
    assert {"method", "hksj", "convention", "level", "prediction", "q_from"} <= MODEL_KEYS
    path = project / "analyses" / "zero_cells.toml"
    path.write_text(
        'data = "examples/bcg.csv"\nmeasure = "RR"\nto = "all"\nadd = 0.25\nlevel = 90\n',
        encoding="utf-8",
    )
    spec = read_spec(path, project)
    assert (spec.method, spec.hksj) == ("REML", False)
    assert spec.pool_options() == {"level": 0.9, "add": 0.25, "to": "all"}
    assert spec.model("RR") == Model("RR", "REML", False, level=0.9, add=0.25, to="all")
    path.write_text('data = "examples/bcg.csv"\nmeasure = "RR"\nto = "most"\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"zero_cells.toml: to: unknown continuity-correction"):
        read_spec(path, project)
    # a records spec's method is the outcome's: its model is checked when the build is planned
    records = 'studies = "studies"\ncomparison = "B"\noutcome = "odi"\nwindow = "2y"\n'
    path.write_text(records + 'q_from = "MH"\n', encoding="utf-8")
    spec = read_spec(path, project)
    assert (spec.method, spec.hksj, spec.q_from) == ("", None, "mh")
    with pytest.raises(SpecError, match=r"zero_cells.toml: q_from: .* needs method DL"):
        spec.model("RR")
    path.write_text(records + 'method = "MH"\nhksj = true\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"zero_cells.toml: hksj: the HKSJ adjustment"):
        read_spec(path, project)


def test_revman_outcome_model_is_revman5() -> None:
    """RevMan 5 pools each outcome by its method (random effects: DerSimonian-Laird)."""
    from tests.test_revman_read import outcomes

    files = ("antibiotics_mh_rr_random", "fleiss1993_mh_or_fixed", "gad_md_random")
    files += ("prp_smd_rd_random", "synthetic_iv_peto_generic")
    for name in files:
        for outcome in outcomes(f"{name}.rm5").values():
            if outcome.data.empty or not outcome.stored.estimable:
                continue
            model = outcome.model()
            assert model.convention == "revman5"
            assert model.method == ("DL" if outcome.random else outcome.pool_arguments()["method"])
            assert outcome.pool().model == model


def test_convention_presets_are_given_by_keyword() -> None:
    with pytest.raises(TypeError):
        Convention("x", "REML")  # type: ignore[misc, call-arg]


def test_bayes_priors_as_objects_equal_the_names(bcg: pd.DataFrame) -> None:
    from metafuse.bayes import bayes_pool, half_normal, mu_prior

    res = pool(bcg, "RR")
    by_object = bayes_pool(res, tau_prior=half_normal(0.3), mu_prior=mu_prior("normal", sd=2.0))
    by_name = bayes_pool(res, tau_prior="half-normal", tau_scale=0.3, mu_prior="normal", mu_sd=2.0)
    assert by_object.to_dict() == by_name.to_dict()
    with pytest.raises(ValueError, match="carries its parameters"):
        bayes_pool(res, tau_prior=half_normal(0.3), tau_scale=0.5)
    with pytest.raises(ValueError, match="carries its mean and SD"):
        bayes_pool(res, tau_prior=half_normal(0.3), mu_prior=mu_prior("normal", sd=2.0), mu_sd=1.0)
    # the model's convention makes the effect sizes of study rows
    prior = half_normal(0.5)
    revman = bayes_pool(bcg, Model("RR", convention="revman5"), tau_prior=prior)
    by_name = bayes_pool(bcg, "RR", convention="revman5", tau_prior=prior)
    assert revman.to_dict() == by_name.to_dict()
