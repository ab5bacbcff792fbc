"""Exports of rmtc's provenance in the standards' own formats: W3C PROV (PROV-JSON, PROV-N), SPDX 3.0
with the AI and Dataset profiles, and OpenLineage run events.

Importing this package imports none of the standards' libraries (they are the ``standards`` extra);
each is imported when a document in its format is asked for::

    from rmtc.standards import export
    text = export(tracker, "model_version:matte@production", "spdx")

Layout: ``graph`` reads the provenance of an entity once (:class:`Provenance`); ``prov``, ``spdx3`` and
``openlineage`` each translate it into one standard; ``export`` picks the format by name.
"""

from __future__ import annotations

from rmtc.standards.export import FORMATS, export
from rmtc.standards.graph import MAPPING, Provenance, collect

__all__ = ["FORMATS", "MAPPING", "Provenance", "collect", "export"]
