"""Shared fixtures: the committed metafor reference, the bundled example data, and a frozen fixture
review (tests/fixtures/review) that library tests use instead of the live records in studies/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "reference" / "metafor_reference.json"
#: A frozen copy of a review (studies/, analyses/, examples/): its numbers never change when a
#: reviewer edits the live records.
FIXTURE_REVIEW = ROOT / "tests" / "fixtures" / "review"


def load_reference() -> dict:
    """The metafor reference JSON written by tests/reference/run_metafor.R."""
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def reference_frame(reference: dict, dataset: str) -> pd.DataFrame:
    """One reference dataset as the DataFrame that metafuse.pool takes."""
    return pd.DataFrame(reference["datasets"][dataset]["rows"])


@pytest.fixture(scope="session")
def reference() -> dict:
    return load_reference()


@pytest.fixture
def bcg() -> pd.DataFrame:
    """BCG vaccine trials (Colditz et al. 1994), as bundled in examples/bcg/bcg.csv."""
    return pd.read_csv(ROOT / "examples" / "bcg" / "bcg.csv")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A writable copy of the fixture review (analyses/, studies/, examples/)."""
    for folder in ("analyses", "studies", "examples"):
        shutil.copytree(FIXTURE_REVIEW / folder, tmp_path / folder)
    return tmp_path


@pytest.fixture
def studies(project: Path) -> Path:
    """The writable studies folder of the fixture review."""
    return project / "studies"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The fixture review built once per session: (project folder, files written). Read only."""
    from metafuse.pipeline.outputs import run_all

    project = tmp_path_factory.mktemp("built")
    for folder in ("analyses", "studies", "examples"):
        shutil.copytree(FIXTURE_REVIEW / folder, project / folder)
    return project, run_all(project / "analyses", project / "results")
