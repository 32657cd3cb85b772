"""Forest and funnel plots: the numbers behind them, rendering smoke tests, and determinism."""

from __future__ import annotations

import io
import math
import struct
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from metafuse import ExcludedStudyWarning, pool
from metafuse.cli import main
from metafuse.plots import forest_data, forest_plot, funnel_plot, render, subgroup_difference_test
from metafuse.plots.forest import fmt_p_revman, heterogeneity_text, overall_test_text
from tests.conftest import ROOT
from tests.tolerances import CLOSED_FORM

BCG = ROOT / "examples" / "bcg" / "bcg.csv"


def continuous(k: int, seed: int = 1, label: str = "Trial") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "study": [f"{label} {i} ({1990 + i % 30})" for i in range(k)],
            "mean_exp": rng.normal(30, 5, k).round(1),
            "sd_exp": rng.uniform(10, 20, k).round(1),
            "n_exp": rng.integers(20, 200, k),
            "mean_ctrl": rng.normal(33, 5, k).round(1),
            "sd_ctrl": rng.uniform(10, 20, k).round(1),
            "n_ctrl": rng.integers(20, 200, k),
        }
    )


def test_forest_data_numbers(bcg: pd.DataFrame) -> None:
    res = pool(bcg, "RR", "REML")
    data = forest_data(res)
    studies = data[data.row_type == "study"]
    assert len(studies) == 13
    # Aronson 1948: 4/123 vs 11/139 -> RR = (4/123)/(11/139), 95% CI exp(log RR +/- 1.96 SE)
    aronson = studies.iloc[0]
    rr = (4 / 123) / (11 / 139)
    se = math.sqrt(1 / 4 - 1 / 123 + 1 / 11 - 1 / 139)
    assert aronson.est == pytest.approx(rr, **CLOSED_FORM)
    assert aronson.lo == pytest.approx(rr * math.exp(-1.959963984540054 * se), **CLOSED_FORM)
    assert aronson.effect_text == "0.41 [0.13, 1.26]"
    assert studies.weight.sum() == pytest.approx(100.0)
    total = data[data.row_type == "total"].iloc[0]
    assert total.est == pytest.approx(math.exp(res.estimate), **CLOSED_FORM)
    assert total.n_exp == bcg.n_exp.sum()
    events = data[data.row_type == "total_events"].iloc[0]
    assert events.events_ctrl == bcg.events_ctrl.sum()
    pi = data[data.row_type == "prediction"].iloc[0]
    assert pi.lo == pytest.approx(math.exp(res.pi_low), **CLOSED_FORM)


def test_forest_data_order_and_fixed(bcg: pd.DataFrame) -> None:
    res = pool(bcg, "RR", "REML")
    by_year = forest_data(res, order="year")
    years = [int(s[-4:]) for s in by_year[by_year.row_type == "study"].label]
    assert years == sorted(years)
    by_weight = forest_data(res, order="weight")
    w = by_weight[by_weight.row_type == "study"].weight.tolist()
    assert w == sorted(w, reverse=True)
    fixed = forest_data(res, fixed=True)
    fe = pool(bcg, "RR", "FE")
    assert fixed[fixed.row_type == "fixed"].est.iloc[0] == pytest.approx(math.exp(fe.estimate))
    with pytest.raises(ValueError, match="order"):
        forest_data(res, order="alphabet")


def test_subgroups_and_test_for_differences(bcg: pd.DataFrame) -> None:
    groups = {s: "early" if int(s[-4:]) < 1960 else "late" for s in bcg.study}
    data = forest_data(pool(bcg, "RR", "DL"), subgroups=groups)
    assert list(data[data.row_type == "header"].label) == ["early", "late"]
    early = pool(bcg[bcg.study.map(groups) == "early"], "RR", "DL")
    late = pool(bcg[bcg.study.map(groups) == "late"], "RR", "DL")
    sub = data[data.row_type == "subtotal"]
    assert sub.est.iloc[0] == pytest.approx(math.exp(early.estimate), **CLOSED_FORM)
    # RevMan's test for subgroup differences by hand: inverse-variance Q of the two subtotals
    w = np.array([1 / early.se**2, 1 / late.se**2])
    y = np.array([early.estimate, late.estimate])
    q = float((w * (y - (w * y).sum() / w.sum()) ** 2).sum())
    assert subgroup_difference_test(y, [early.se, late.se])[0] == pytest.approx(q, **CLOSED_FORM)
    assert any(data.label.str.startswith("Test for subgroup differences: Chi² = "))


def test_revman_text(bcg: pd.DataFrame) -> None:
    res = pool(bcg, "RR", "DL")
    assert heterogeneity_text(res).startswith("Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12")
    assert overall_test_text(res).startswith("Test for overall effect: Z = ")
    assert [fmt_p_revman(p) for p in (1e-6, 5e-5, 0.0004, 0.003, 0.24)] == [
        "P < 0.00001",
        "P < 0.0001",
        "P = 0.0004",
        "P = 0.003",
        "P = 0.24",
    ]


ZERO_CELLS = pd.DataFrame(
    {
        "study": ["A 2001", "B 2002", "C 2003", "D 2004"],
        "events_exp": [0, 2, 0, 5],
        "n_exp": [20, 25, 15, 40],
        "events_ctrl": [3, 0, 0, 9],
        "n_ctrl": [21, 24, 15, 41],
    }
)


@pytest.mark.parametrize(
    ("data", "measure", "method", "kwargs"),
    [
        ("bcg1", "RR", "REML", {}),
        ("bcg2", "OR", "MH", {}),
        ("bcg", "RR", "REML", {"fixed": True, "order": "year"}),
        ("k60", "MD", "DL", {}),
        ("k13", "SMD", "REML", {"order": "effect"}),
        ("zero", "OR", "PETO", {}),
        ("zero", "RD", "DL", {}),
        ("bcg", "OR", "DL", {"subgroups": "by_year", "risk_of_bias": True}),
    ],
)
def test_forest_renders(
    bcg: pd.DataFrame, data: str, measure: str, method: str, kwargs: dict
) -> None:
    frames = {
        "bcg": bcg,
        "bcg1": bcg.head(1),
        "bcg2": bcg.head(2),
        "k60": continuous(60),
        "k13": continuous(13),
        "zero": ZERO_CELLS,
    }
    frame = frames[data]
    if kwargs.get("subgroups") == "by_year":
        kwargs["subgroups"] = {
            s: "before 1960" if int(s[-4:]) < 1960 else "later" for s in frame.study
        }
    if kwargs.get("risk_of_bias"):
        kwargs["risk_of_bias"] = {
            s: {"D1": ["low", "some concerns", "high"][i % 3]} for i, s in enumerate(frame.study)
        }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExcludedStudyWarning)
        res = pool(frame, measure, method)
    png = render(forest_plot(res, **kwargs), "png")
    assert png.startswith(b"\x89PNG")


def test_figure_height_grows_with_k() -> None:
    heights = []
    for k in (2, 13, 60):
        plot = forest_plot(pool(continuous(k), "MD", "DL"))
        heights.append(plot.theme.getp("figure_size")[1])
    assert heights == sorted(heights)
    assert heights[2] > 2 * heights[0]


def test_long_labels_are_cut_with_an_ellipsis() -> None:
    data = forest_data(pool(continuous(3, label="A" * 60), "MD", "DL"))
    labels = data[data.row_type == "study"].label
    assert all(len(s) <= 28 for s in labels)
    assert all(s.endswith("…") for s in labels)


@pytest.mark.parametrize("fmt", ["svg", "pdf", "png"])
def test_output_is_deterministic(bcg: pd.DataFrame, fmt: str) -> None:
    res = pool(bcg, "RR", "REML")
    first = render(forest_plot(res), fmt)
    second = render(forest_plot(res), fmt)
    assert first == second
    assert render(funnel_plot(res), fmt) == render(funnel_plot(res), fmt)
    if fmt == "svg":
        assert b"<dc:date>" not in first


def test_a_plot_saved_twice_gives_the_same_file(bcg: pd.DataFrame) -> None:
    # plotnine draws on the plot object itself and reuses its figure: the second file was drawn
    # over the first drawing, and a plot its user had drawn was saved blank or drawn over
    res = pool(bcg, "RR", "REML")
    makers = ((lambda: forest_plot(res), "png"), (lambda: funnel_plot(res), "svg"))
    for make, fmt in makers:
        plot = make()
        first = render(plot, fmt)
        assert render(plot, fmt) == first
        drawn = make()
        figure = drawn.draw()
        canvas = figure.canvas
        assert render(drawn, fmt) == first  # as a fresh plot: not blank, not drawn over
        assert render(drawn, fmt) == first
        assert figure.canvas is canvas  # the user's figure keeps its own canvas


def test_png_files_hold_the_drawn_pixels_and_resolution() -> None:
    from PIL import Image

    from metafuse.plots.png import encode_png

    rng = np.random.default_rng(3)
    opaque = rng.integers(0, 256, (7, 5, 4), dtype=np.uint8)
    opaque[..., 3] = 255
    seethrough = opaque.copy()
    seethrough[2, 3, 3] = 0
    per_metre = 11811  # 300 dpi: 300 / 0.0254 m = 11811.02 pixels per metre
    for pixels, mode in ((opaque, "RGB"), (seethrough, "RGBA")):
        png = encode_png(pixels, 300)
        assert b"pHYs" + struct.pack(">IIB", per_metre, per_metre, 1) in png
        image = Image.open(io.BytesIO(png))
        image.load()  # Pillow checks the chunks' CRCs and the zlib stream
        assert image.mode == mode
        assert image.size == (5, 7)
        assert np.array_equal(np.asarray(image.convert("RGBA")), pixels)
    with pytest.raises(ValueError, match="8-bit RGBA"):
        encode_png(opaque[..., :3], 300)


def test_cli_forest_and_funnel(tmp_path: Path) -> None:
    runner = CliRunner()
    for suffix in ("png", "svg", "pdf"):
        out = tmp_path / f"forest.{suffix}"
        result = runner.invoke(
            main,
            [
                "forest",
                str(BCG),
                "--measure",
                "RR",
                "--method",
                "REML",
                "--hksj",
                "-o",
                str(out),
                "--order",
                "year",
            ],
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    result = runner.invoke(
        main, ["funnel", str(BCG), "--measure", "RR", "-o", str(tmp_path / "funnel.png")]
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        main, ["forest", str(BCG), "--measure", "RR", "-o", str(tmp_path / "x.gif")]
    )
    assert bad.exit_code == 1
    assert "unknown output format" in bad.output


@pytest.mark.parametrize("measure", ["PLO", "PFT"])
def test_forest_plot_of_single_arm_proportions(measure: str) -> None:
    """Proportions are shown back-transformed (inverse logit; Miller's inverse Freeman-Tukey with
    the harmonic mean n, as metafor's transf.ipft.hm), with events and totals, an axis from 0 and
    no test of a null value (there is none for a proportion)."""
    data = pd.DataFrame({"study": ["A 2001", "B 2005"], "events": [4, 81], "n": [31, 433]})
    res = pool(data, measure, "REML")
    table = forest_data(res)
    studies = table[table.row_type == "study"]
    if measure == "PLO":
        assert list(studies["est"]) == pytest.approx([4 / 31, 81 / 433], **CLOSED_FORM)
    total = table[table.row_type == "total"].iloc[0]
    back = res.back_transformed()
    assert total["est"] == pytest.approx(back["estimate"], **CLOSED_FORM)
    assert total["n"] == 464
    assert table.loc[table.row_type == "total_events", "events"].iloc[0] == 85
    assert not table["label"].astype(str).str.startswith("Test for overall effect").any()
    assert render(forest_plot(res, title="proportions"), "png")[:4] == b"\x89PNG"


def _svg(plot) -> str:
    return render(plot, "svg").decode()


def test_generic_rows_show_arm_data_where_recorded() -> None:
    gen = pd.DataFrame(
        {"study": ["Brox 2003", "Fairbank 2005"], "yi": [-2.3, -2.1], "sei": [4.62, 2.48]}
    )
    res = pool(gen, "GEN", "REML", scale_name="Mean difference", unit="ODI points")
    arms = {
        "Fairbank 2005": {
            "mean_exp": 34.0,
            "sd_exp": 21.1,
            "n_exp": 138.0,
            "mean_ctrl": 36.1,
            "sd_ctrl": 20.6,
            "n_ctrl": 146.0,
        }
    }
    data = forest_data(res, arm_data=arms)
    assert data.loc[data.study == "Fairbank 2005", "sd_ctrl"].iloc[0] == 20.6
    assert data.loc[data.study == "Brox 2003", "sd_ctrl"].isna().all()
    svg = _svg(forest_plot(res, arm_data=arms, label_exp="Fusion", label_ctrl="Rehab"))
    for text in (
        ">36.1<",
        ">20.6<",
        ">146<",
        ">Fusion<",
        ">Rehab<",
        ">Mean difference, ODI points",
    ):
        assert text in svg
    assert "Blank arm data: Brox 2003 reported the effect estimate only" in svg
    assert ">SE<" not in svg  # arm columns replace the generic estimate/SE columns


def test_heterogeneity_line_prints_the_results_i2(bcg: pd.DataFrame) -> None:
    res = pool(bcg.head(6), "RR", "REML")
    assert abs(res.I2 - res.I2_Q) > 1  # the two definitions differ here
    assert f"I² = {res.I2:.1f}%" in heterogeneity_text(res)
    assert f"I^2 = {res.I2:.1f}%" in str(res)  # the summary prints the same number


def test_risk_of_bias_columns(bcg: pd.DataFrame) -> None:
    res = pool(bcg, "RR", "REML")
    rob = {
        s: {"D1 randomisation process": "low", "D2 deviations": "some concerns", "overall": "high"}
        for s in bcg.study
    }
    rob[bcg.study[0]]["D2 deviations"] = "not assessed"
    svg = _svg(forest_plot(res, risk_of_bias=rob))
    for text in (
        ">D1<",
        ">D2<",
        ">Overall<",
        "D1 randomisation process; D2 deviations",
        "? not assessed",
    ):
        assert text in svg
    rob[bcg.study[1]]["D1 randomisation process"] = "dubious"
    with pytest.raises(ValueError, match="unknown judgement 'dubious'"):
        forest_plot(res, risk_of_bias=rob)


def test_svg_keeps_text_and_labels_are_never_mathtext(bcg: pd.DataFrame) -> None:
    data = bcg.assign(study=["a $\\frac{1$ b", "$x$", *bcg.study[2:]])
    res = pool(data, "RR", "REML")
    plot = forest_plot(res, title="Title with $\\alpha$ and 100$")
    svg = _svg(plot)
    assert svg.count("<text") > 50
    assert ">$x$<" in svg
    assert "a $\\frac{1$ b" in svg  # broken mathtext would raise; it is plain text
    assert "Title with $\\alpha$ and 100$" in svg
    assert render(plot, "png").startswith(b"\x89PNG")
    assert render(funnel_plot(res, title="$x$"), "svg").count(b"<text") > 5


def test_very_large_k_is_capped_with_a_note() -> None:
    res = pool(continuous(1000), "MD", "DL")
    data = forest_data(res, max_studies=60)
    assert (data.row_type == "study").sum() == 60
    assert data[data.row_type == "more"].label.iloc[0].startswith("+ 940 more studies")
    assert (forest_data(res).row_type == "study").sum() == 1000
    plot = forest_plot(res)
    _, height = plot.theme.getp("figure_size")
    assert height < 16
    assert "Showing the 60 studies with the largest weights of 1000" in _svg(plot)


def test_arm_headers_never_collide() -> None:
    from metafuse.plots.forest.columns import data_columns
    from metafuse.plots.forest.layout import FONT_SIZE, make_layout
    from metafuse.text.metrics import text_width

    res = pool(ZERO_CELLS.iloc[[0, 1, 3]], "RR", "DL")
    data = forest_data(res)
    names = {"exp": "Decompression plus instrumented fusion", "ctrl": "Decompression alone"}
    lay = make_layout(
        data,
        data_columns(data, False, True),
        ratio=True,
        limits=None,
        arm_names=names,
        effect_header="Risk ratio\nIV, Random, 95% CI",
    )
    spans = []
    for x, name in lay.arm_headers:
        half = text_width(name, FONT_SIZE, True) / 2
        spans.append((x - half, x + half))
    assert len(spans) == 2
    assert spans[0][1] < spans[1][0]  # the experimental name ends before the control one starts
    assert lay.g0 > lay.ends["effect"]  # the graph starts after the text columns


def test_public_dataset_with_duplicate_labels_pools_and_plots() -> None:
    """dat.bcg as metadat labels it by author only: 'Rosenthal et al' and 'Comstock et al' twice
    each (issue 10): all 13 trials pooled, each drawn on its own row."""
    import json

    case = next(
        c
        for c in json.loads((ROOT / "tests" / "reference" / "metafor_extra.json").read_text())[
            "cases"
        ]
        if c["id"] == "A08-mh/bcg/RR"
    )
    d = case["data"]
    frame = pd.DataFrame(
        {"study": d["author"], "events_exp": d["tpos"], "n_exp": np.add(d["tpos"], d["tneg"]),
         "events_ctrl": d["cpos"], "n_ctrl": np.add(d["cpos"], d["cneg"])}
    )  # fmt: skip
    with pytest.warns(Warning, match="duplicate study labels"):
        res = pool(frame, "RR", "REML")
    assert res.k == 13
    table = forest_data(res)
    labels = list(table[table.row_type == "study"]["label"])
    assert len(labels) == len(set(labels)) == 13
    assert render(forest_plot(res), "png")[:4] == b"\x89PNG"
