"""A build whose inputs are all unchanged: the previous build's results, from the cache.

After a build, the cache keeps, for the project (its root and spec folder, and the code that built,
:func:`metafuse.pipeline.keys.library_fingerprint`), what the plan read and found: the spec files,
the records folders and the files in each (what a plan would find again), and the SHA-256 of every
input (the manifest's inputs). When all of these are as they were, a plan would read the same bytes
and the build would write the same results: :func:`unchanged_build` returns them (every file
checked against its SHA-256) without reading a record. Any difference, or anything in the cache
that is not as it should be, and the build runs (reusing what it can analysis by analysis).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metafuse.exceptions import DataError
from metafuse.pipeline.cache import BuildCache, Entry, safe_name
from metafuse.pipeline.keys import Digest, library_fingerprint
from metafuse.pipeline.manifest import sha256
from metafuse.pipeline.project import folder_inputs, review_folders
from metafuse.pipeline.staging import staging, terminate_as_interrupt

if TYPE_CHECKING:
    from metafuse.pipeline.plan import Plan


@dataclass(frozen=True)
class UnchangedBuild:
    """The results of a build whose inputs are unchanged: its files and its number of analyses."""

    entry: Entry
    analyses: int


def _project(spec_dir: Path) -> tuple[Path, str]:
    """Return the project root and the key of the project's last build in the cache."""
    spec_dir = spec_dir.resolve()
    root = spec_dir.parent
    return root, Digest("last build", library_fingerprint(), str(root), str(spec_dir)).hexdigest()


def _listing(spec_dir: Path, root: Path, folders: Iterable[Path]) -> dict[str, Any]:
    """Return what a plan finds: spec files, records folders beside them, each folder's files."""
    specs = sorted(p.name for p in spec_dir.glob("*.toml")) if spec_dir.is_dir() else []
    return {
        "specs": specs,
        "reviews": [str(p) for p in review_folders(root)],
        "files": {str(f): [p.name for p in folder_inputs(f)] for f in sorted(folders)},
    }


def remember_build(
    spec_dir: Path,
    plan: Plan,
    inputs: dict[str, str],
    out_dir: Path,
    written: Sequence[Path],
    cache: BuildCache,
) -> None:
    """Keep a finished build's results (``written``, inside ``out_dir``) and what it read.

    ``inputs`` is the manifest's: each input's path (relative to the root) and SHA-256.
    """
    root, last = _project(spec_dir)
    listing = _listing(spec_dir, root, plan.records)
    key = Digest("results", last, listing, inputs).hexdigest()
    cache.put(key, [(p.relative_to(out_dir).as_posix(), p) for p in written])
    notes = {"listing": listing, "inputs": inputs, "results": key, "analyses": len(plan.specs)}
    cache.put(last, notes=notes)


def unchanged_build(spec_dir: Path, cache: BuildCache) -> UnchangedBuild | None:
    """Return the last build's results when none of its inputs changed, else None."""
    if spec_dir.exists() and not spec_dir.is_dir():
        return None  # the plan says what is wrong
    root, last = _project(spec_dir)
    pointer = cache.get(last)
    if pointer is None:
        return None
    notes = pointer.notes
    try:
        listing, inputs = notes["listing"], notes["inputs"]
        analyses, results = int(notes["analyses"]), str(notes["results"])
        if _listing(spec_dir, root, [Path(f) for f in listing["files"]]) != listing:
            return None
        for name, digest in inputs.items():
            if not safe_name(name):
                return None
            path = root / name
            if not path.is_file() or sha256(path) != digest:
                return None
    except (KeyError, TypeError, ValueError, AttributeError, OSError, DataError):
        return None
    entry = cache.get(results)
    return None if entry is None else UnchangedBuild(entry, analyses)


def restore_unchanged(
    spec_dir: Path, out_dir: Path, cache: BuildCache
) -> tuple[list[Path], int] | None:
    """Write the last build's results into ``out_dir`` if none of its inputs changed.

    Returns the files written and the number of analyses (None, and nothing written, when an
    input changed or the cache does not hold that build intact). Written through a staging
    folder, as a build is; an empty build is never restored over a results folder.
    """
    found = unchanged_build(spec_dir, cache)
    if found is None or found.analyses == 0:
        return None
    with terminate_as_interrupt(), staging(out_dir) as stage:
        written = found.entry.write_into(stage)
    cache.prune()
    return [out_dir / p.relative_to(stage) for p in written], found.analyses
