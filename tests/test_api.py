"""The public API: the toolbox and plots namespaces, one result protocol, deprecation paths, no
silent substitutes, no global side effects, and clear errors for missing extras."""

from __future__ import annotations

import importlib
import sys
import warnings

import pandas as pd
import pytest

import metafuse
import metafuse.toolbox as t
from metafuse.result_protocol import REPR_LIMIT, Result

#: The toolbox functions the README and the docs name (issue 22).
DOCUMENTED_TOOLBOX = (
    "leave_one_out",
    "cumulative",
    "influence",
    "gosh",
    "trim_and_fill",
    "egger_test",
    "rank_test",
    "henmi_copas",
    "blup",
    "tau2_confint",
    "meta_regression",
    "subgroup",
    "permutation_test",
)
#: Every plot of metafuse.plots.
DOCUMENTED_PLOTS = (
    "forest_plot",
    "funnel_plot",
    "gosh_plot",
    "baujat_plot",
    "bubble_plot",
    "shrinkage_plot",
    "save_plot",
)


@pytest.fixture
def rr(bcg: pd.DataFrame) -> metafuse.PooledResult:
    return metafuse.pool(bcg, "RR", "REML")


def test_toolbox_namespace_exports_every_function() -> None:
    for name in (*DOCUMENTED_TOOLBOX, "peters_test", "regression_test", "baujat_data", "ranef"):
        assert name in t.__all__
        assert name in dir(t)
        assert callable(getattr(t, name))
    assert "mantel_haenszel_tests" in t.__all__


def test_plots_namespace_lists_every_plot() -> None:
    import metafuse.plots as plots

    for name in DOCUMENTED_PLOTS:
        assert name in plots.__all__
        assert name in dir(plots)
    # the top level reaches the common plots lazily, and dir() shows them
    assert {"forest_plot", "funnel_plot", "save_plot"} <= set(dir(metafuse))


def check_protocol(found: object) -> None:
    assert isinstance(found, Result)
    text = repr(found)
    assert len(text) <= REPR_LIMIT
    assert "\n" not in text
    assert text.startswith(f"<{type(found).__name__} ")
    frame = found.to_frame()  # type: ignore[attr-defined]
    assert isinstance(frame, pd.DataFrame)
    assert isinstance(found.to_dict(), dict)  # type: ignore[attr-defined]
    summary = found.summary()  # type: ignore[attr-defined]
    assert str(found) == summary
    assert len(summary) < 20_000
    assert found._repr_html_().startswith("<div")  # type: ignore[attr-defined]


def test_every_toolbox_function_returns_a_result(rr: metafuse.PooledResult, bcg) -> None:
    check_protocol(rr)
    assert repr(rr) == "<PooledResult RR REML k=13: 0.49 [0.34, 0.70]>"
    for name in (
        "leave_one_out",
        "cumulative",
        "influence",
        "gosh",
        "trim_and_fill",
        "egger_test",
        "rank_test",
        "henmi_copas",
        "blup",
        "ranef",
        "tau2_confint",
        "peters_test",
        "regression_test",
        "baujat_data",
    ):
        found = getattr(t, name)(rr)
        assert not isinstance(found, dict | pd.DataFrame), name
        check_protocol(found)
    moderated = bcg.assign(era=(bcg["year"] >= 1960).map({True: "late", False: "early"}))
    fit = t.meta_regression(moderated, "RR", "REML", ["year"])
    for found in (
        fit,
        fit.tau2_confint(),
        fit.influence(),
        fit.robust([i // 3 for i in range(len(moderated))]),
        t.subgroup(moderated, "RR", "REML", by="era"),
        t.permutation_test(rr, iterations=50),
        t.mantel_haenszel_tests(metafuse.pool(bcg, "OR", "MH")),
    ):
        check_protocol(found)


def test_trim_and_fill_prints_briefly(rr: metafuse.PooledResult) -> None:
    filled = t.trim_and_fill(rr)
    assert len(str(filled)) < 3_000
    assert "array(" not in str(filled)
    assert filled.to_frame()["filled"].sum() == filled.k0


def test_html_escapes_study_labels(bcg: pd.DataFrame) -> None:
    data = bcg.copy()
    data.loc[0, "study"] = "<script>x</script>"
    html = t.leave_one_out(metafuse.pool(data, "RR", "DL"))._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_result_tables_are_read_only(rr: metafuse.PooledResult) -> None:
    loo = t.leave_one_out(rr)
    with pytest.raises(ValueError, match="read-only"):
        loo.estimate[0] = 0.0


def test_knha_is_deprecated_for_hksj(bcg: pd.DataFrame) -> None:
    moderated = bcg.assign(y=bcg["year"])
    with pytest.warns(DeprecationWarning, match="knha"):
        old = t.meta_regression(moderated, "RR", "REML", ["y"], knha=True)
    new = t.meta_regression(moderated, "RR", "REML", ["y"], hksj=True)
    assert old.fit.se == pytest.approx(new.fit.se)
    assert new.to_dict()["hksj"] is True
    with pytest.warns(DeprecationWarning, match="knha"):
        assert old.knha is True
    with pytest.warns(DeprecationWarning, match=r"MetaRegression\['coef'\]"):
        assert new["coef"] == new.to_dict()["coef"]
    from metafuse.engine.mixed import fit_mixed

    with pytest.warns(DeprecationWarning, match="knha"):
        assert fit_mixed(new.y, new.v, new.X, "REML", knha=True).df == new.fit.df


@pytest.mark.parametrize(
    ("module", "new"),
    [
        ("metafuse.bias", "metafuse.toolbox"),
        ("metafuse.sensitivity", "metafuse.toolbox"),
        ("metafuse.regression", "metafuse.toolbox"),
        ("metafuse.conversions", "metafuse.review.derivations"),
    ],
)
def test_old_modules_warn_and_point_to_the_new_place(module: str, new: str) -> None:
    sys.modules.pop(module, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        importlib.import_module(module)


def test_generalised_q_fits_get_their_own_interval(bcg: pd.DataFrame) -> None:
    """A GENQ fit's tau^2 CI is Jackson's generalised-Q interval, never the Q-profile one in its
    place (the values themselves are pinned to metafor in tests/test_metafor_gaps.py)."""
    frame = bcg.assign(year=bcg["year"])
    weights = 1 / metafuse.compute_effects(bcg, "RR").vi
    res = metafuse.pool(frame, "RR", "GENQ", weights=weights)
    interval = t.tau2_confint(res)
    assert interval.type == "GENQ"
    assert (res.tau2_ci_low, res.tau2_ci_high) == interval.tau2[1:]
    qp = t.tau2_confint(res, type="QP")
    assert qp.tau2[1:] != interval.tau2[1:]
    fit = t.meta_regression(frame, "RR", "GENQ", ["year"], weights=weights)
    assert fit.tau2_confint().type == "GENQ"


def test_save_plot_leaves_the_backend_alone(rr: metafuse.PooledResult, tmp_path) -> None:
    import matplotlib

    from metafuse.plots import funnel_plot, save_plot

    before = matplotlib.get_backend()
    matplotlib.use("pdf")
    try:
        save_plot(funnel_plot(rr), [tmp_path / "f.png", tmp_path / "f.svg"])
        assert matplotlib.get_backend() == "pdf"
    finally:
        matplotlib.use(before)
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")


def test_a_missing_extra_is_named(monkeypatch) -> None:
    from metafuse._extras import require
    from metafuse.exceptions import MetafuseError, MissingExtraError

    monkeypatch.setitem(sys.modules, "plotnine", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'metafuse\[plots\]'") as err:
        require("plotnine", "metafuse.plots")
    assert isinstance(err.value, ImportError)
    assert isinstance(err.value, MetafuseError)
    monkeypatch.setitem(sys.modules, "docx", None)
    with pytest.raises(ImportError, match=r"python-docx.*metafuse\[review\]"):
        require("docx", "Word tables")


def test_core_imports_without_the_optional_extras() -> None:
    """pool, the effects and the toolbox load none of the extras' packages."""
    import subprocess

    code = (
        "import sys, metafuse, metafuse.toolbox, metafuse.cli;"
        "bad = {'plotnine', 'pandera', 'docx', 'jinja2', 'statsmodels'} & set(sys.modules);"
        "print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_warning_escapes_the_toolbox(rr: metafuse.PooledResult) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t.leave_one_out(rr)


def test_no_library_call_site_silences_excluded_studies() -> None:
    """Leaving studies out quietly is an argument of pool() (warn_excluded=False, the result still
    lists them), never a warnings filter around a call."""
    from tests.conftest import ROOT

    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "metafuse").rglob("*.py"))
    assert 'simplefilter("ignore", ExcludedStudyWarning)' not in sources


def test_warn_excluded_keeps_the_record(bcg: pd.DataFrame) -> None:
    data = pd.concat([bcg, pd.DataFrame({"study": ["Empty 2000"]})], ignore_index=True)
    with pytest.warns(metafuse.ExcludedStudyWarning, match="Empty 2000"):
        loud = metafuse.pool(data, "RR")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = metafuse.pool(data, "RR", warn_excluded=False)
    assert quiet.excluded == loud.excluded == (("Empty 2000", "no data"),)


def test_pool_docstring_names_every_measure_and_method() -> None:
    from metafuse.measures import MEASURES, METHODS

    doc = metafuse.pool.__doc__ or ""
    assert [m for m in (*MEASURES, *METHODS) if f"``{m}``" not in doc] == []


def test_bayes_and_batch_results_share_the_protocol(rr: metafuse.PooledResult) -> None:
    import numpy as np

    check_protocol(metafuse.bayes_pool(rr, tau_prior="half-normal", tau_scale=0.5))
    many = metafuse.pool_many(np.tile(rr.effects.yi, (500, 1)), np.tile(rr.effects.vi, (500, 1)))
    check_protocol(many)
