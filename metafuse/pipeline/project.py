"""A project's layout: the records folders beside the spec folder, and the input files of each.

A project is a folder (the root) holding ``analyses/`` (the specs) and records folders, each a
sub-folder with its ``review.toml``; the CSV and TOML files of a records folder are inputs of a
build (the manifest lists them, and an unchanged build is recognised by them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from metafuse.review.vocabulary import FILE_NAME

#: Files of a records folder that are inputs of a build.
RECORD_SUFFIXES: Final = (".csv", ".toml")


def review_folders(root: Path) -> list[Path]:
    """Return the records folders of a project: its sub-folders that hold a ``review.toml``."""
    if not root.is_dir():
        return []
    # a review.toml that is no regular file (a FIFO, a folder) is kept: reading it is the error
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / FILE_NAME).exists())


def folder_inputs(folder: Path) -> list[Path]:
    """Return the input files of a records folder (its CSV and TOML files), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in RECORD_SUFFIXES)
