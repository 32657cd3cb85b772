"""The toolbox: sensitivity, influence, small-study, subgroup and meta-regression analyses.

Each function takes a :class:`~metafuse.results.PooledResult` (or, as a convenience, the same
``data, measure, method, hksj, **options`` as :func:`metafuse.pool`) and refits through the
engine only.
"""
