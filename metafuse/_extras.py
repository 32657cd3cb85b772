"""Optional dependencies and the error that names the extra installing one.

Optional dependencies: the core (pooling, effect sizes, the toolbox) needs numpy, scipy, pandas and
click; plots need the ``plots`` extra, the review pipeline and its reports the ``review`` extra. A
missing one is named with the command that installs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

from metafuse.exceptions import MissingExtraError

#: Importable module -> (distribution, extra that installs it).
EXTRAS: Final = {
    "plotnine": ("plotnine", "plots"),
    "matplotlib": ("matplotlib", "plots"),
    "pandera": ("pandera", "review"),
    "docx": ("python-docx", "review"),
    "jinja2": ("jinja2", "review"),
}


def require(module: str, feature: str) -> ModuleType:
    """Import an optional dependency, or raise an error naming the extra that installs it.

    Parameters
    ----------
    module : str
        The module to import (a key of :data:`EXTRAS`).
    feature : str
        What needs it, in words (``"metafuse.plots"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingExtraError
        When the module is not installed (an ImportError and a MetafuseError).
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = module.split(".")[0]
        if err.name not in (module, top):
            raise
        package, extra = EXTRAS[top]
        raise MissingExtraError(
            f"{feature} needs {package}, which is not installed: pip install 'metafuse[{extra}]'"
        ) from err
