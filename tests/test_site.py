"""The HTML report (results/index.html and one page per analysis): opened in headless Chromium
with every link, image and fragment checked; every output reachable; user text escaped."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pandas as pd

from metafuse.pipeline.manifest import MANIFEST
from metafuse.pipeline.outputs import run_all
from tests.browser import Chromium, crawl, require_tool, serve

HOSTILE = ("<b>$x$</b> & co", "<img src=x onerror=alert(1)>")


def test_report_opens_in_chromium_with_nothing_broken(
    built: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    chromium = require_tool("chromium", "chromium")
    project, _ = built
    out = project / "results"
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    (damaged / "example_bcg" / "gosh.png").unlink()
    (damaged / "sof_A.docx").unlink()
    started = time.perf_counter()
    browser = Chromium(chromium)
    try:
        with serve(out) as base:
            found = crawl(browser, base + "index.html")
        with serve(damaged) as other:  # the check sees what it is meant to see
            broken = "\n".join(crawl(browser, other + "index.html")["problems"])
    finally:
        browser.close()
    assert found["problems"] == []
    assert "image does not load" in broken
    assert "HTTP 404" in broken
    assert "broken link (404)" in broken
    assert "sof_A.docx" in broken
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    linked = {link[len(base) :] for link in found["links"]}
    assert files - linked - {"index.html"} == set()  # every output reachable
    analyses = sorted(p.name for p in out.iterdir() if (p / "pooled.json").is_file())
    assert {f"{base}{name}/index.html" for name in analyses} <= set(found["pages"])
    assert time.perf_counter() - started < 15


def test_every_page_is_in_the_manifest_and_gosh_from_five_studies(
    built: tuple[Path, list[Path]],
) -> None:
    project, _ = built
    out = project / "results"
    outputs = json.loads((out / MANIFEST).read_text())["outputs"]
    assert "index.html" in outputs
    for folder in (p for p in out.iterdir() if (p / "pooled.json").is_file()):  # analyses
        assert f"{folder.name}/index.html" in outputs
        k = json.loads((folder / "pooled.json").read_text())["k"]
        page = (folder / "index.html").read_text()
        assert ((folder / "gosh.png").exists() and 'src="gosh.png"' in page) == (k >= 5)
    index = (out / "index.html").read_text()
    assert not re.search(r"\d{4}-\d\d-\d\d", index)  # no dates: same inputs, same bytes


def test_user_text_is_escaped_everywhere(tmp_path: Path) -> None:
    (tmp_path / "analyses").mkdir()
    rows = pd.DataFrame(
        {
            "study": [*HOSTILE, "Smith </td> 2001", "Lee 2005", "Park 2007"],
            "events_exp": [4, 6, 3, 62, 33],
            "n_exp": [123, 306, 231, 13598, 5069],
            "events_ctrl": [11, 29, 11, 248, 47],
            "n_ctrl": [139, 303, 220, 12867, 5808],
        }
    )
    rows.to_csv(tmp_path / "trials.csv", index=False)
    (tmp_path / "analyses" / "hostile.toml").write_text(
        'title = "<script>alert(1)</script> $\\\\alpha$"\ndata = "trials.csv"\nmeasure = "RR"\n',
        encoding="utf-8",
    )
    run_all(tmp_path / "analyses", tmp_path / "results")
    page = (tmp_path / "results" / "hostile" / "index.html").read_text()
    index = (tmp_path / "results" / "index.html").read_text()
    for html in (page, index):
        assert "<script>" not in html
        assert "<img src=x" not in html
    assert "&lt;b&gt;$x$&lt;/b&gt; &amp; co" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Smith &lt;/td&gt; 2001" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $\\alpha$" in page
    svg = (tmp_path / "results" / "hostile" / "forest.svg").read_text()
    assert "&lt;b&gt;$x$&lt;/b&gt; &amp; co" in svg  # as text, printed literally (no mathtext)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $\\alpha$" in svg


def test_index_links_every_top_level_report(built: tuple[Path, list[Path]], tmp_path: Path) -> None:
    from metafuse.pipeline.site import build_site

    project, _ = built
    out = tmp_path / "results"
    shutil.copytree(project / "results", out)
    (out / "harms_fusion.html").write_text("<!DOCTYPE html><title>h</title>", encoding="utf-8")
    (out / "replication_xu2021.md").write_text("# Xu 2021\n", encoding="utf-8")
    build_site([], out)
    index = (out / "index.html").read_text()
    for name in ("harms_fusion.html", "replication_xu2021.md", "sof_A.docx", "manifest.json"):
        assert f'href="{name}"' in index
    assert "evidence_profile_B.csv" in index
