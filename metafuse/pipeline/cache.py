"""The build cache (``.metafuse-cache/`` beside the results folder): outputs kept by their key.

Files are stored once, by the SHA-256 of their bytes (``objects/ab/cdef...``); an entry
(``entries/<key>.json``) names the files of one unit of outputs (one analysis's folder, a whole
build) and the SHA-256 of each. Everything is written to a temporary name and renamed into place,
entries last, so that a build killed half-way leaves at worst objects no entry names.

Nothing in the cache is believed: an entry is used only when it is well formed, names its own key,
and every file it names is present with the SHA-256 it claims, read and checked before anything is
written from it. Anything else (an edited, partial or unreadable entry, one written by another
version, a missing object) is a miss, and the outputs are computed afresh. A cache that cannot be
written (a read-only disk, a full one) only costs the next build its time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

from metafuse.pipeline.keys import CACHE_FORMAT

#: The cache folder's name, beside the results folder.
CACHE_DIR: Final = ".metafuse-cache"
#: Entries kept beyond those of the latest build, the most recently used first.
SPARE_ENTRIES: Final = 200
KEY: Final = re.compile(r"^[0-9a-f]{64}$")
#: The Cache Directory Tagging Specification's tag (https://bford.info/cachedir/): backup tools
#: skip the folder.
CACHEDIR_TAG: Final = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by metafuse (its build cache).\n"
)


@dataclass(frozen=True)
class Entry:
    """A unit of outputs found in the cache: each file's bytes (checked), and what it noted."""

    files: dict[str, bytes]
    notes: dict[str, Any] = field(default_factory=dict)

    def write_into(self, folder: Path) -> list[Path]:
        """Write the files under ``folder``; return their paths, in the entry's order."""
        from metafuse.files import write_bytes_atomic

        return [write_bytes_atomic(folder / name, data) for name, data in self.files.items()]


def default_cache_dir(out_dir: Path) -> Path:
    """Return where the cache of a results folder lives: ``.metafuse-cache`` beside it."""
    return out_dir.absolute().parent / CACHE_DIR


def safe_name(name: object) -> bool:
    """Return True for a relative POSIX path that stays inside its folder."""
    if not isinstance(name, str) or not name or "\\" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "." not in path.parts


class BuildCache:
    """The cache of outputs by key in ``folder`` (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.used: set[str] = set()

    def _entry_path(self, key: str) -> Path:
        return self.folder / "entries" / f"{key}.json"

    def _object_path(self, digest: str) -> Path:
        return self.folder / "objects" / digest[:2] / digest[2:]

    def get(self, key: str) -> Entry | None:
        """Return the entry of ``key`` with every file read and checked, or None (a miss)."""
        if not KEY.match(key):
            return None
        try:
            record = json.loads(self._entry_path(key).read_text(encoding="utf-8"))
            files = self._checked(key, record)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        if files is None:
            return None
        self.used.add(key)
        with contextlib.suppress(OSError):
            os.utime(self._entry_path(key))  # most recently used: kept longest
        notes = record.get("notes", {})
        return Entry(files, notes if isinstance(notes, dict) else {})

    def _checked(self, key: str, record: Any) -> dict[str, bytes] | None:
        if (
            not isinstance(record, dict)
            or record.get("format") != CACHE_FORMAT
            or record.get("key") != key
            or not isinstance(record.get("files"), list)
        ):
            return None
        files = {}
        for name, digest in record["files"]:
            if not safe_name(name) or not isinstance(digest, str) or not KEY.match(digest):
                return None
            if name in files:
                return None
            data = self._object_path(digest).read_bytes()
            if hashlib.sha256(data).hexdigest() != digest:
                return None
            files[name] = data
        return files

    def put(
        self,
        key: str,
        files: Sequence[tuple[str, Path]] = (),
        notes: Mapping[str, Any] | None = None,
    ) -> None:
        """Store the files (name, path of its bytes now), in order, as the entry of ``key``.

        Quietly does nothing when the cache cannot be written.
        """
        try:
            self._mark()
            names = []
            for name, path in files:
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                target = self._object_path(digest)
                if not target.is_file():
                    _write_new(target, data)
                names.append([name, digest])
            record = {
                "format": CACHE_FORMAT,
                "key": key,
                "files": names,
                "notes": dict(notes or {}),
            }
            text = json.dumps(record, indent=1, sort_keys=True) + "\n"
            _write_new(self._entry_path(key), text.encode("utf-8"))
            self.used.add(key)
        except OSError:
            return

    def prune(self) -> None:
        """Keep this build's entries and the most recent others; drop objects no entry names.

        Quietly does nothing when the cache cannot be read or written.
        """
        try:
            entries = sorted(
                (p for p in (self.folder / "entries").glob("*.json") if p.is_file()),
                key=lambda p: p.stat().st_mtime,
                reverse=True,
            )
            spare = [p for p in entries if p.stem not in self.used]
            for path in spare[SPARE_ENTRIES:]:
                path.unlink(missing_ok=True)
            named: set[str] = set()
            for path in (self.folder / "entries").glob("*.json"):
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    files = json.loads(path.read_text(encoding="utf-8"))["files"]
                    named.update(str(digest) for _, digest in files)
            cutoff = time.time() - 3600  # an object younger than this may be another build's
            for path in (self.folder / "objects").glob("??/*"):
                digest = path.parent.name + path.name
                if digest not in named and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
        except (OSError, KeyError, TypeError):
            return

    def _mark(self) -> None:
        """Make the folder known for what it is: to git (ignored) and to backup tools."""
        if (self.folder / "CACHEDIR.TAG").is_file():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_new(self.folder / ".gitignore", b"# written by metafuse: a build cache\n*\n")
        _write_new(self.folder / "CACHEDIR.TAG", CACHEDIR_TAG)


def _write_new(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
