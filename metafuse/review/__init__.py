"""The systematic-review application on top of the library.

A review's vocabulary, its curated records, the data of each analysis, the gaps, GRADE and
summary-of-findings tables.

Nothing here knows a clinical field: a review declares its comparisons, outcomes and follow-up
windows in ``review.toml`` beside its records (:mod:`metafuse.review.vocabulary`).
"""
