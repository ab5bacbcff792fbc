"""One entry point for every standard export: ``export(tracker, ref, fmt)``.

The CLI's ``rmtc export REF --format …`` calls it. Each format is written with the standard's own
library (``prov``, ``spdx-python-model``, ``openlineage-python``: the ``standards`` extra), imported only
when an export is asked for. Every document names the version of rmtc's mapping
(:data:`~rmtc.standards.graph.MAPPING`), so a reader can tell which mapping wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rmtc.errors import InvalidInput
from rmtc.standards.graph import ExportDirection, Provenance, collect

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker


def _prov_json(graph: Provenance) -> str:
    from rmtc.standards import prov

    return prov.to_json(graph)


def _prov_n(graph: Provenance) -> str:
    from rmtc.standards import prov

    return prov.to_provn(graph)


def _spdx(graph: Provenance) -> str:
    from rmtc.standards import spdx3

    return spdx3.to_jsonld(graph)


def _openlineage(graph: Provenance) -> str:
    from rmtc.standards import openlineage

    return openlineage.to_jsonl(graph)


_WRITERS: dict[str, Callable[[Provenance], str]] = {
    "prov-json": _prov_json,
    "prov-n": _prov_n,
    "spdx": _spdx,
    "openlineage": _openlineage,
}
#: The formats :func:`export` writes, as the CLI's ``--format`` names them.
FORMATS: tuple[str, ...] = tuple(_WRITERS)
#: The file suffix each format is usually saved with.
SUFFIXES = {"prov-json": ".prov.json", "prov-n": ".provn", "spdx": ".spdx3.json", "openlineage": ".jsonl"}


def export(tracker: Tracker, ref: RefLike, fmt: str, *, direction: ExportDirection = "up") -> str:
    """The provenance of ``ref`` as a document in a standard format.

    Args:
        tracker: the project to read.
        ref: the entity to describe (any reference :meth:`Tracker.resolve` accepts).
        fmt: ``prov-json`` (W3C PROV-JSON), ``prov-n`` (W3C PROV-N), ``spdx`` (SPDX 3.0.1 JSON-LD with
            the AI and Dataset profiles) or ``openlineage`` (OpenLineage run events, JSON Lines).
        direction: ``up`` describes what ``ref`` came from; ``both`` adds what was made from it;
            ``down`` only what was made from it.

    Returns:
        The document's text.

    Raises:
        InvalidInput: an unknown format (the known ones are listed), or the standards extra is not
            installed (the hint says how to install it).
        NotFound: ``ref`` names nothing in the project.
    """
    writer = _WRITERS.get(fmt.strip().lower())
    if writer is None:
        raise InvalidInput(f"unknown export format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return writer(collect(tracker, ref, direction))
