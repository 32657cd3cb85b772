"""Sphinx configuration: the API reference from the docstrings (autodoc, autosummary, numpydoc)
and the tutorials in ``tutorials/``, executed at every build (sphinx-gallery). Built by
``make docs`` with warnings as errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metafuse import __version__  # noqa: E402

project = "metafuse"
author = "the metafuse developers"
copyright = "the metafuse developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "tutorials/README.rst"]
html_theme = "furo"
html_title = f"metafuse {release}"
html_static_path: list[str] = []
html_last_updated_fmt = None
html_show_sourcelink = False

# --- the reference ------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "none"  # the numpydoc sections give the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False
# every documented function and method has a docstring and documents each of its parameters;
# classes (immutable results, documented field by field) are checked for a docstring by ruff
numpydoc_validation_checks = {"PR01", "PR02", "GL08"}
numpydoc_validation_exclude = {
    r"\.__\w+__$",
    r"\._\w+$",
    r"\.[A-Z]\w*$",
    # dataclass fields with a default: documented by their ``#:`` comment, which autodoc reads
    # and numpydoc's validation cannot see
    r"\.PooledResult\.(statistic|df|tau2_se)$",
    r"\.EffectSizes\.(weights|excluded|options|rows)$",
    r"\.BayesResult\.(thresholds|p_thresholds)$",
}
nitpicky = False

# --- the tutorials ------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "generated/tutorials",
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "plot_gallery": os.environ.get("METAFUSE_DOCS_EXECUTE", "1") != "0",
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": 1e9,
    "write_computation_times": False,  # no timings file in the sources: a build leaves git clean
    "reset_modules": ("matplotlib",),
}
