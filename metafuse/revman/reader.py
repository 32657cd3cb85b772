"""Reading RevMan 5 review files (``.rm5``): every outcome of every comparison."""

from __future__ import annotations

from pathlib import Path

from metafuse.revman._codes import KINDS, UNSUPPORTED_KINDS
from metafuse.revman._model import RevManOutcome
from metafuse.revman._outcomes import read_outcome
from metafuse.revman._xml import Element, Source, load


def read_rm5(path: str | Path, *, skip_unsupported: bool = False) -> tuple[RevManOutcome, ...]:
    """Read every outcome of a RevMan 5 intervention review.

    Parameters
    ----------
    path
        A RevMan 5 file (``.rm5``: XML with a ``COCHRANE_REVIEW`` root), a full review or a
        Cochrane Library "StatsDataOnly" download.
    skip_unsupported
        Leave out outcomes of data types metafuse does not analyse (``IPD_OUTCOME``: O-E and
        variance; ``OTHER_OUTCOME``: other data) instead of raising an error.

    Returns
    -------
    tuple of RevManOutcome
        One per outcome, in file order (comparison by comparison). Each carries its study data
        in metafuse's columns, its settings, RevMan's stored results and
        :meth:`~metafuse.revman.RevManOutcome.pool_arguments`.

        ``settings`` holds: ``data_type`` (``DICH``, ``CONT``, ``IV``), ``effect_measure``
        (RevMan's code, e.g. ``PETO_OR``; the measure's name for generic outcomes),
        ``effect_measure_name``, ``method`` (``METHOD`` as written, ``None`` when absent),
        ``random``, ``ci_study`` and ``ci_total`` (confidence levels in percent), ``totals``
        (``YES``, ``NO`` or ``SUB``: subtotals only), ``subgroups``, ``subgroup_test``,
        ``swap_events``, ``log_data``, ``estimable``, ``scale``, ``sort_by``, ``units``,
        ``group_labels`` (experimental, control) and ``graph_labels`` (left, right).

    Raises
    ------
    metafuse.exceptions.DataError
        The file cannot be read, is not well-formed XML, is not a RevMan 5 intervention review,
        or an outcome has a missing, non-numeric or unsupported attribute, or an unknown data
        type. The message is one line naming the file, the XML element and its ID.
    """
    source = load(path)
    labels = _study_labels(source, source.root)
    analyses = source.root.find("ANALYSES_AND_DATA")
    if analyses is None:
        return ()
    outcomes: list[RevManOutcome] = []
    for comparison in analyses.findall("COMPARISON"):
        for element in comparison:
            if not element.tag.endswith("_OUTCOME"):
                continue
            prefix = element.tag.removesuffix("_OUTCOME")
            if prefix in KINDS:
                outcomes.append(read_outcome(source, element, comparison, labels))
            elif prefix in UNSUPPORTED_KINDS:
                if not skip_unsupported:
                    raise source.error(
                        element,
                        f"{UNSUPPORTED_KINDS[prefix]} outcomes are not supported "
                        "(read_rm5(..., skip_unsupported=True) leaves them out)",
                    )
            else:
                known = ", ".join(f"{k}_OUTCOME" for k in (*KINDS, *UNSUPPORTED_KINDS))
                raise source.error(element, f"unknown outcome type (RevMan 5 has {known})")
    return tuple(outcomes)


def _study_labels(source: Source, root: Element) -> dict[str, str]:
    """``STUDY_ID`` -> study name (RevMan's label, e.g.

    ``STUDY_ID`` -> study name (RevMan's label, e.g. ``Smith 2001``) from every ``STUDY``; an ID
    used by two ``STUDY`` elements is an error (which name would the rows get?).
    """
    seen: set[str] = set()
    labels: dict[str, str] = {}
    studies = root.find("STUDIES_AND_REFERENCES/STUDIES")
    if studies is None:
        return labels
    for study in studies.iter("STUDY"):
        study_id, name = study.get("ID"), (study.get("NAME") or "").strip()
        if not study_id:
            continue
        if study_id in seen:
            raise source.error(study, f"a second STUDY with ID {study_id!r}")
        seen.add(study_id)
        if name:
            labels[study_id] = name
    return labels
