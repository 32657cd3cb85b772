"""Deprecation warnings for renamed arguments, attributes and modules (one wording for all)."""

from __future__ import annotations

import warnings
from typing import TypeVar

T = TypeVar("T")


def deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (a DeprecationWarning).

    Parameters
    ----------
    old : str
        The deprecated name, as a user writes it.
    new : str
        What to write instead.
    stacklevel : int, optional
        Frame the warning points at (3: the caller of the function that calls this one).
    """
    warnings.warn(
        f"{old} is deprecated and will be removed; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed(old_name: str, old: T | None, new_name: str, new: T) -> T:
    """Return the value of a renamed keyword argument, warning when the old name was used.

    Parameters
    ----------
    old_name, new_name : str
        The argument's old and new names.
    old : object or None
        The value given under the old name (None: not given).
    new : object
        The value given under the new name (or its default).

    Returns
    -------
    object
        ``old`` when given, else ``new``.
    """
    if old is None:
        return new
    deprecated(f"the argument {old_name}=", f"{new_name}=", stacklevel=4)
    return old


def deprecated_module(old: str, new: str) -> None:
    """Warn, from a deprecated module's body, that importing it is deprecated.

    The warning points at the line that imported the module, so that Python's default filters
    show it when ``__main__`` imports it.

    Parameters
    ----------
    old : str
        The deprecated module (``metafuse.bias``).
    new : str
        Where its names live now.
    """
    warnings.warn(
        f"the module {old} is deprecated and will be removed; import from {new}",
        DeprecationWarning,
        stacklevel=3,  # the importing line (warnings skips the import machinery's frames)
    )
