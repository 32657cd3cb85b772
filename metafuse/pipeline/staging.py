"""Writing a results folder as a whole: built beside it in a staging folder and swapped in.

``results/`` is always entirely the old build or entirely the new one: an error or an interrupt
(SIGINT, or SIGTERM, handled alike) leaves it as it was and removes the staging folder. A build
killed outright (SIGKILL) cannot clean up: its staging folder, named after its process, is removed
by the next build once that process is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from metafuse.files import current_umask


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    ok = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return ok == 0


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt as SIGINT does.

    Within the block, SIGTERM raises KeyboardInterrupt as SIGINT does (so that ``finally`` clean-up
    runs); only in the main thread, where Python delivers signals.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove the staging (and swapped-out) folders of builds of ``out_dir`` that were killed.

    Remove the staging (and swapped-out) folders of builds of ``out_dir`` that were killed: those
    named after a process that no longer runs, and those without a process in their name (left by an
    earlier version). Returns the folders removed.
    """
    pattern = re.compile(rf"^\.{re.escape(out_dir.name)}\.(staging|old)-(?:(\d+)-)?")
    removed = []
    for path in out_dir.parent.glob(f".{out_dir.name}.*"):
        found = pattern.match(path.name)
        if found is None or not path.is_dir() or path.is_symlink():
            continue
        if found.group(2) is not None and _running(int(found.group(2))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder beside ``out_dir``: swapped in if the block succeeds, else removed.

    Also removed on SIGTERM; stale staging folders of killed builds are removed first.
    """
    out_dir = out_dir.absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_dir)
    prefix = f".{out_dir.name}.staging-{os.getpid()}-"
    stage = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
    try:
        yield stage
        os.chmod(stage, 0o777 & ~current_umask())
        if out_dir.exists() and _exchange(stage, out_dir):
            shutil.rmtree(stage)
            return
        old = stage.with_name(stage.name.replace("staging", "old"))
        if out_dir.exists():
            os.rename(out_dir, old)
        os.rename(stage, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
