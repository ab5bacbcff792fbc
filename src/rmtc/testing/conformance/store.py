"""The conformance suite of :class:`~rmtc.store.protocol.MetadataStore`.

Every store - SQLite, PostgreSQL, the remote store against a live server, a facility's own - proves
itself with the very same tests. Subclass :class:`MetadataStoreConformance` in a test module that
provides a ``store`` fixture (a fresh, empty, opened store per test)::

    from rmtc.testing.conformance.store import MetadataStoreConformance

    class TestMyStore(MetadataStoreConformance):
        pass

The tests use the protocol only (no SQL, no knowledge of the implementation), timestamps from a
:class:`~rmtc.core.clock.ManualClock` (never sleeps), and stay small enough to run on every backend in
seconds. A store that cannot be used from several threads at once sets ``thread_safe = False``.
"""

from __future__ import annotations

from rmtc.testing.conformance._store_entities import EntityCases
from rmtc.testing.conformance._store_facts import FactCases
from rmtc.testing.conformance._store_graph import GraphCases
from rmtc.testing.conformance._store_operations import OperationalCases
from rmtc.testing.conformance._store_support import Maker, StoreCases, all_kinds

__all__ = ["Maker", "MetadataStoreConformance", "StoreCases", "all_kinds"]


class MetadataStoreConformance(EntityCases, GraphCases, FactCases, OperationalCases):
    """The behaviour every :class:`~rmtc.store.protocol.MetadataStore` must show. Needs a ``store``
    fixture; set ``thread_safe = False`` for a store that cannot be shared between threads."""
