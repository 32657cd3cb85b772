"""``results/manifest.json``.

Versions and SHA-256 of every input and output, and :func:`verify`, which checks a results folder
against its manifest in both directions and recomputes it.

``verify`` refuses a manifest of the wrong shape or one that names a path outside the repository
(or the results folder), and a results folder, output or input that is a symlink leading out of
the repository (a copy elsewhere would otherwise pass for the file); it reports extra, missing,
altered and stale files, changed inputs and versions that differ from the installed ones, and
compares freshly recomputed bytes. The manifest and every hashed file are read only if they are
regular files (a FIFO would block).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, Final

from metafuse._version import __version__
from metafuse.exceptions import DataError

#: Packages whose versions can change a number or a byte of the outputs (statsmodels is not one:
#: it is in the test extra, as a cross-check only).
DEPENDENCIES: Final = (
    "numpy",
    "scipy",
    "pandas",
    "plotnine",
    "matplotlib",
    "click",
    "pandera",
    "python-docx",
    "jinja2",
)
MANIFEST: Final = "manifest.json"
KEYS: Final = ("dependencies", "inputs", "metafuse_version", "outputs")


def sha256(path: Path) -> str:
    """Hex SHA-256 of a regular file's bytes (:func:`metafuse.files.read_regular_bytes`)."""
    from metafuse.files import read_regular_bytes

    return hashlib.sha256(read_regular_bytes(path, max_bytes=1 << 40)).hexdigest()


def installed_versions() -> dict[str, str]:
    """Installed version of each dependency ('not installed' when absent)."""
    out = {}
    for name in DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def manifest(
    root: Path, inputs: Iterable[Path], out_dir: Path, outputs: Iterable[Path]
) -> dict[str, Any]:
    """Return the manifest: versions, and SHA-256 of every input and output.

    The manifest: versions, and SHA-256 of every input (relative to ``root``) and output (relative
    to ``out_dir``).
    """

    def rel(path: Path, base: Path) -> str:
        resolved = path.resolve()
        if not resolved.is_relative_to(base.resolve()):
            raise DataError(f"leads outside {base} (to {resolved}); files are read and written "
                            "only inside it", source=str(path))  # fmt: skip
        return resolved.relative_to(base.resolve()).as_posix()

    return {
        "metafuse_version": __version__,
        "dependencies": installed_versions(),
        "inputs": {rel(p, root): sha256(p) for p in sorted(set(inputs))},
        "outputs": {rel(p, out_dir): sha256(p) for p in sorted(set(outputs))},
    }


def _safe(name: str) -> bool:
    """Return a relative POSIX path without '..' (never outside its base folder)."""
    p = PurePosixPath(name)
    return bool(name) and not p.is_absolute() and ".." not in p.parts and "\\" not in name


def check_shape(recorded: Any) -> list[str]:
    """Problems with the manifest's JSON shape (empty when it is a well-formed manifest)."""
    if not isinstance(recorded, dict):
        return ["the manifest is not a JSON object"]
    problems = [f"missing key {k!r}" for k in KEYS if k not in recorded]
    problems += [f"unknown key {k!r}" for k in sorted(set(recorded) - set(KEYS))]
    for key in ("dependencies", "inputs", "outputs"):
        value = recorded.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            problems.append(f"{key!r} must map names to text")
    if not isinstance(recorded.get("metafuse_version", ""), str):
        problems.append("'metafuse_version' must be text")
    for key in ("inputs", "outputs"):
        value = recorded.get(key, {})
        if isinstance(value, dict):
            problems += [
                f"{key}: {name!r} is not a path inside the repository"
                for name in value
                if not _safe(name)
            ]
    return problems


def _files_under(folder: Path) -> tuple[set[str], list[str]]:
    """Regular files under ``folder`` (relative names), and problems.

    Regular files under ``folder`` (relative names), and problems: symlinks (a build writes none;
    one may lead to a copy outside the repository) and other non-regular files.
    """
    files: set[str] = set()
    problems: list[str] = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        for name in sorted(dirs):
            path = Path(top) / name
            if path.is_symlink():
                problems.append(f"{path}: a symlink (to {path.resolve()}); results hold files only")
        for name in names:
            path = Path(top) / name
            if path.is_symlink():
                problems.append(f"{path}: a symlink (to {path.resolve()}); results hold files only")
            elif path.is_file():
                files.add(path.relative_to(folder).as_posix())
            else:
                problems.append(f"{path}: not a regular file")
    return files, problems


def _outside(path: Path, base: Path) -> str | None:
    """Return a problem when ``path`` (symlinks followed) is not inside ``base``."""
    resolved = path.resolve()
    if resolved.is_relative_to(base.resolve()):
        return None
    return f"{path}: leads outside the repository (to {resolved})"


def compare(
    recorded: dict[str, Any], root: Path, results_dir: Path, fresh: dict[str, Any]
) -> list[str]:
    """Differences between a manifest, the files it describes, and a fresh build's manifest."""
    problems = []
    if recorded["metafuse_version"] != __version__:
        problems.append(
            f"metafuse_version: recorded {recorded['metafuse_version']}, installed {__version__}"
        )
    for name, version in sorted(installed_versions().items()):
        if recorded["dependencies"].get(name) != version:
            problems.append(
                f"dependencies: {name} recorded "
                f"{recorded['dependencies'].get(name, 'absent')}, installed {version}"
            )
    for name in sorted(set(recorded["dependencies"]) - set(DEPENDENCIES)):
        problems.append(f"dependencies: {name} is not a dependency metafuse records")
    outputs = recorded["outputs"]
    if results_dir.is_symlink():
        return [*problems, f"{results_dir}: a symlink (to {results_dir.resolve()}); verify "
                "compares the files of a real results folder"]  # fmt: skip
    present, found = _files_under(results_dir)
    problems += found
    for name in sorted(set(outputs) | present):
        path = results_dir / name
        if name == MANIFEST:
            continue
        if name not in outputs:
            problems.append(f"{path}: extra file (not in the manifest)")
        elif name not in present:
            problems.append(f"{path}: missing")
        elif sha256(path) != outputs[name]:
            problems.append(f"{path}: altered (SHA-256 differs from the manifest)")
    for name, digest in sorted(recorded["inputs"].items()):
        path = root / name
        outside = _outside(path, root)
        if outside is not None:
            problems.append(outside)
        elif not path.is_file():
            problems.append(f"{path}: input missing")
        elif sha256(path) != digest:
            problems.append(f"{path}: input changed since the results were built")
    for name in sorted(set(fresh["inputs"]) - set(recorded["inputs"])):
        problems.append(f"{root / name}: input not in the manifest")
    for name in sorted(set(outputs) | set(fresh["outputs"])):
        a, b = outputs.get(name), fresh["outputs"].get(name)
        if a != b:
            what = (
                "not produced any more (stale)"
                if b is None
                else "new output, not in the manifest"
                if a is None
                else "recomputed bytes differ"
            )
            problems.append(f"{results_dir / name}: {what}")
    return problems


def read_manifest(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the manifest's JSON and the problems with its shape (text exactly as written)."""
    from metafuse.files import read_regular_text, to_json

    try:
        text = read_regular_text(path)
        recorded = json.loads(text)
    except DataError as err:
        return None, [f"{path}: cannot read manifest ({err.message})"]
    except ValueError as err:
        return None, [f"{path}: cannot read manifest ({err})"]
    problems = [f"{path}: {p}" for p in check_shape(recorded)]
    if not problems and to_json(recorded) != text:
        problems.append(f"{path}: not byte-identical to what metafuse writes (edited by hand?)")
    return (None if problems and not isinstance(recorded, dict) else recorded), problems
