"""Cache keys: a SHA-256 of everything that determines an output, and of nothing else.

A key is built by :class:`Digest` from values, not from their ``repr``: dataclasses field by field
(whatever fields a spec or a model grows, without naming them), mappings in their order, tables
cell by cell (floats by their exact bits), arrays by their bytes. A value it cannot read
exactly is an error, never a guess: the output has no key and is computed afresh every time.

:func:`library_fingerprint` stands for the code: metafuse's version and the bytes of its own files
(so that an edited checkout never reuses outputs of other code), the installed versions of the
dependencies that can change a byte of the outputs (those the manifest records), the Python
version, the platform, and the matplotlib settings files that matplotlib would read.
:func:`analysis_key` stands for one analysis: its spec, its selection, the rows of the four record
files that feed it (not whole files: another trial's change leaves the key as it was), the review's
vocabulary (``review.toml`` as read), or, for a spec with a CSV file, that file's bytes.
:func:`harms_key` stands for a review's harms profile (harms.csv, the sources it cites, the
vocabulary), :func:`value_key` for an output drawn from one value (a SoF table in one format).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pandas as pd

    from metafuse.pipeline.run import Analysis
    from metafuse.review.records import StudyRecords
    from metafuse.review.selection import Selection

#: Changes whenever the cache's layout or the meaning of a key changes.
CACHE_FORMAT: Final = 1


class Digest:
    """A SHA-256 fed with values, each with its type and length, so that no two differ alike."""

    def __init__(self, *values: object) -> None:
        self._hash = hashlib.sha256()
        for value in values:
            self.add(value)

    def add(self, value: object) -> Digest:
        """Feed one value (see the module docstring for what can be fed); returns ``self``."""
        self._feed(value)
        return self

    def hexdigest(self) -> str:
        """Return the key: 64 hex digits."""
        return self._hash.hexdigest()

    def _token(self, tag: bytes, data: bytes = b"") -> None:
        self._hash.update(tag + len(data).to_bytes(8, "little") + data)

    def _feed(self, value: object) -> None:
        if value is None:
            self._token(b"N")
        elif isinstance(value, bool):
            self._token(b"B", b"1" if value else b"0")
        elif isinstance(value, int):
            self._token(b"I", str(int(value)).encode())
        elif isinstance(value, float):
            self._token(b"R", float(value).hex().encode())
        elif isinstance(value, str):
            self._token(b"S", value.encode("utf-8", "surrogatepass"))
        elif isinstance(value, bytes):
            self._token(b"Y", value)
        elif isinstance(value, PurePath):
            self._token(b"P", str(value).encode("utf-8", "surrogatepass"))
        elif isinstance(value, enum.Enum):
            self._token(b"E", f"{type(value).__qualname__}.{value.name}".encode())
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            self._dataclass(value)
        elif isinstance(value, Mapping):
            self._token(b"M", str(len(value)).encode())
            for key, item in value.items():  # in order: the order of a review's keys is output
                self._feed(key)
                self._feed(item)
        elif isinstance(value, list | tuple):
            self._sequence(b"L" if isinstance(value, list) else b"T", value)
        elif isinstance(value, set | frozenset):
            self._sequence(b"Z", sorted(Digest(item).hexdigest() for item in value))
        elif not self._feed_array(value):
            raise TypeError(f"no cache key for a {type(value).__qualname__}")

    def _feed_array(self, value: object) -> bool:
        """Feed a numpy or pandas value; return False for anything else.

        Looked up among the loaded modules: a value of theirs exists only once they are loaded,
        and a build restored from the cache never loads them.
        """
        np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
        if np is not None and isinstance(value, np.bool_ | np.integer | np.floating):
            self._feed(value.item())  # as the Python bool, int or float of the same value
        elif pd is not None and isinstance(value, pd.DataFrame):
            self._frame(value)
        elif pd is not None and isinstance(value, pd.Series):
            self._token(b"s")
            self._feed(value.name)
            self._sequence(b"x", value.index.tolist())
            self._sequence(b"v", value.tolist())
        elif np is not None and isinstance(value, np.ndarray):
            self._token(b"A", f"{value.dtype.str}{value.shape}".encode())
            if value.dtype == object:
                self._sequence(b"o", value.ravel().tolist())
            else:
                self._token(b"a", np.ascontiguousarray(value).tobytes())
        else:
            return False
        return True

    def _sequence(self, tag: bytes, items: Iterable[object]) -> None:
        items = list(items)
        self._token(tag, str(len(items)).encode())
        for item in items:
            self._feed(item)

    def _dataclass(self, value: Any) -> None:
        """Every field that takes part in the value's equality, by name (memos do not)."""
        self._token(b"D", f"{type(value).__module__}.{type(value).__qualname__}".encode())
        for field in dataclasses.fields(value):
            if field.compare:
                self._feed(field.name)
                self._feed(getattr(value, field.name))

    def _frame(self, frame: pd.DataFrame) -> None:
        self._token(b"F", str(frame.shape).encode())
        self._sequence(b"c", [str(c) for c in frame.columns])
        self._sequence(b"t", [str(t) for t in frame.dtypes])
        for column in range(frame.shape[1]):
            self._sequence(b"v", frame.iloc[:, column].tolist())


def _matplotlib_settings() -> list[tuple[str, bytes]]:
    """Return the matplotlibrc files matplotlib would read beyond its own (they change figures).

    ``$MATPLOTLIBRC``, ``./matplotlibrc`` and the one in matplotlib's configuration folder, as
    ``matplotlib.matplotlib_fname`` looks for them (without importing matplotlib).
    """
    from metafuse.exceptions import DataError
    from metafuse.files import read_regular_bytes

    config = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "matplotlib"
    )
    candidates = [Path("matplotlibrc"), Path(config) / "matplotlibrc"]
    given = os.environ.get("MATPLOTLIBRC")
    if given:
        candidates.insert(0, Path(given) / "matplotlibrc" if Path(given).is_dir() else Path(given))
    out = []
    for path in candidates:
        try:
            out.append((str(path.absolute()), read_regular_bytes(path)))
        except DataError:  # none there
            continue
    return out


@functools.cache
def library_fingerprint() -> str:
    """Return the key of the code that builds: metafuse's files, versions, platform, settings."""
    from metafuse._version import __version__
    from metafuse.pipeline.manifest import installed_versions

    digest = Digest(
        "metafuse",
        CACHE_FORMAT,
        __version__,
        installed_versions(),
        sys.version,
        sys.platform,
        platform.machine(),
        _matplotlib_settings(),
    )
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.add(path.relative_to(package).as_posix()).add(path.read_bytes())
    return digest.hexdigest()


def selection_inputs(records: StudyRecords, selection: Selection) -> dict[str, pd.DataFrame]:
    """Return the rows of the record files that feed a selection.

    Its records (every arm; derived numbers as derived) in outcomes.csv, the trials.csv rows and
    the risk-of-bias judgements of their reports, and the sources any of these rows cite.
    """
    o = records.outcomes
    outcomes = o[o["record_id"].isin(list(selection.records.values()))]
    reports = list(dict.fromkeys(outcomes["report_id"]))
    trials = records.trials[records.trials["report_id"].isin(reports)]
    rob = records.risk_of_bias[records.risk_of_bias["report_id"].isin(reports)]
    cited = {
        str(s)
        for frame in (outcomes, trials, rob)
        if "source_id" in frame.columns
        for s in frame["source_id"].dropna()
    }
    sources = records.sources[records.sources["source_id"].isin(sorted(cited))]
    return {"outcomes": outcomes, "trials": trials, "risk_of_bias": rob, "sources": sources}


def analysis_key(
    analysis: Analysis, selection: Selection | None, records: StudyRecords | None
) -> str | None:
    """Return the key of one analysis's own outputs (``pooled.json``, summary, figures, ...).

    ``selection`` is the plan's selection (before the spec's exclusions) and ``records`` its
    records folder; a spec with a CSV file has neither and is keyed by the file's bytes. None
    when a value cannot be keyed exactly: the outputs are then drawn every time, never cached.
    """
    values: list[object] = [analysis.spec]
    if analysis.spec.data is not None:
        values.append(analysis.spec.data.read_bytes())
    if selection is not None and records is not None:
        values += [selection, selection_inputs(records, selection), review_key(records)]
    return value_key("analysis", *values)


def review_key(records: StudyRecords) -> str | None:
    """Return the key of a review's vocabulary (``review.toml`` as read), once per records."""
    return records.memo("vocabulary key", lambda: value_key("vocabulary", records.review))


def harms_key(records: StudyRecords) -> str | None:
    """Return the key of a review's harms profile: harms.csv, the sources, the vocabulary."""
    return value_key("harms", records.harms, records.sources, records.review)


def value_key(kind: str, *values: object) -> str | None:
    """Return the key of an output drawn from ``values`` alone (a table rendered in a format).

    None when a value cannot be keyed exactly (the output is then never cached).
    """
    try:
        return Digest(kind, library_fingerprint(), *values).hexdigest()
    except TypeError:
        return None
