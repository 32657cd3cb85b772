"""The one entry point of the toolbox: a pooled result, or data pooled on the spot."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metafuse._arrays import FloatArray
from metafuse.pooling import pool
from metafuse.results import EffectSizes, PooledResult


def as_result(
    data: PooledResult | pd.DataFrame | EffectSizes,
    measure: str | None = None,
    method: str | None = "REML",
    hksj: bool = False,
    **options: Any,
) -> PooledResult:
    """Return ``data`` if it is a result, else pool it.

    ``data`` if it is a result, else ``pool(data, measure, method, hksj, **options)``.

    As with :func:`metafuse.pool`, studies left out warn unless ``warn_excluded=False`` is among
    the options; the result lists them in ``excluded`` either way.
    """
    if isinstance(data, PooledResult):
        return data
    return pool(data, measure, method, hksj, **options)


def used_effects(result: PooledResult) -> tuple[list[str], FloatArray, FloatArray]:
    """Labels, ``yi`` and ``vi`` of the studies that enter the model, in data order."""
    if result.effects is None:
        used = [s for s in result.studies if s.yi is not None and s.sei is not None]
        return (
            [s.study for s in used],
            np.array([float(s.yi or 0.0) for s in used], dtype=np.float64),
            np.array([float(s.sei or 0.0) ** 2 for s in used], dtype=np.float64),
        )
    e = result.effects
    ok = e.estimable
    return [lab for lab, good in zip(e.labels, ok, strict=True) if good], e.yi[ok], e.vi[ok]


def estimator_weights(result: PooledResult) -> FloatArray | None:
    """Return the weights of a GENQ/GENQM tau^2 estimator.

    The weights of a GENQ/GENQM tau^2 estimator (the model's ``tau2_weights``, else the user
    weights of the studies that enter the model), as :func:`metafuse.pool` gave them to it.
    """
    given = result.model.tau2_weights
    if given is not None:
        return np.asarray(given, dtype=np.float64)
    e = result.effects
    if e is None or e.weights is None:
        return None
    return np.asarray(e.weights, dtype=np.float64)[e.estimable]


def model_options(result: PooledResult) -> dict[str, Any]:
    """Keyword arguments for :func:`metafuse.engine.inverse_variance.fit_inverse_variance`.

    Those the result's model sets (:meth:`metafuse.model.Model.fit_options`): ``level``,
    ``prediction``, ``weighted`` and ``tau2_options``.
    """
    return result.model.fit_options()
