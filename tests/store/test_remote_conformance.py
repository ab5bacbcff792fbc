"""The store conformance suite against the remote store: a real service on loopback per test, backed by
each backend (``store_url``: SQLite and PostgreSQL), reached over HTTP with an admin token.

Two cases differ by design and are restated here: the service attributes every write to the token's
user, so audit actors and edge authors sent by the client are replaced by it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rmtc.store.remote import open_remote
from rmtc.store.remote.store import RemoteStore
from rmtc.store.types import AuditEvent, Edge
from rmtc.testing.conformance._store_support import T0, Maker, R, write
from rmtc.testing.conformance.store import MetadataStoreConformance
from rmtc.testing.server import serve_store

#: The user the conformance suite's entities name as their author, so they read back equal.
USER = "tester"


class TestRemoteStore(MetadataStoreConformance):
    @pytest.fixture
    def store(self, store_url: str, tmp_path: Path) -> Iterator[RemoteStore]:
        live = serve_store(store_url, tmp_path / "blobs", admin=USER)
        remote = open_remote(live.url, token=live.admin_token)
        try:
            yield remote
        finally:
            remote.close()
            live.stop()

    def test_when_audit_events_are_written_then_they_read_back_newest_first_with_filters_and_paging(
        self, store: RemoteStore, m: Maker
    ) -> None:
        a = m.asset()
        events = (
            AuditEvent("ingest", "ana", m.clock.now(), target=a.id, detail={"files": 3}),
            AuditEvent("publish", "ben", m.clock.now(), project="show"),
            AuditEvent("ingest", "ben", m.clock.now(), target=a.id),
        )
        write(store, a, audit=events)
        got = store.find_audit().items
        assert [(e.action, e.actor) for e in got] == [("ingest", USER), ("publish", USER), ("ingest", USER)]
        assert got[2].detail == {"files": 3} and got[2].at == events[0].at
        assert store.find_audit(actor="ben").items == []
        assert [e.action for e in store.find_audit(project="show").items] == ["publish"]
        first = store.find_audit(limit=2)
        rest = store.find_audit(limit=2, cursor=first.next_cursor)
        assert [*first.items, *rest.items] == got and rest.next_cursor is None

    def test_when_edges_are_written_then_find_edges_filters_and_keeps_recording_order(
        self, store: RemoteStore, m: Maker
    ) -> None:
        a, p = m.asset(), m.party()
        edge = Edge(a.id, R.DEPICTS, p.id, attrs={"role": "x"}, created_at=T0, created_by="legal")
        assert write(store, a, p, edges=(edge,)).edges_created == 1
        got = store.find_edges(src=[a.id])
        assert [(e.relation, e.attrs, e.created_at, e.created_by) for e in got] == [
            (R.DEPICTS, {"role": "x"}, T0, USER)
        ]


def test_the_closure_through_the_service_equals_the_stores_own(tmp_path):
    """``closure`` has no conformance case yet: compare the remote answer with the SQL store's."""
    from rmtc.core.kinds import Kind
    from rmtc.store.sql.factory import open_sqlite

    url = f"sqlite:///{tmp_path / 'store.db'}"
    live = serve_store(url, tmp_path / "blobs", admin=USER)
    remote = open_remote(live.url, token=live.admin_token)
    local = open_sqlite(url)
    try:
        m = Maker()
        a, b, dv, p, lic = m.asset(), m.asset(), m.version(), m.party(), m.party("licence")
        edges = (
            Edge(a.id, R.MEMBER_OF, dv.id),
            Edge(b.id, R.MEMBER_OF, dv.id),
            Edge(a.id, R.DEPICTS, p.id),
            Edge(b.id, R.GOVERNED_BY, lic.id),
        )
        write(remote, a, b, dv, p, lic, edges=edges)
        for args in (
            {"annotate": (R.DEPICTS, R.GOVERNED_BY)},
            {"through": {R.MEMBER_OF: [Kind.DATASET_VERSION]}, "project": "default"},
        ):
            got = remote.closure([dv.id], "up", **args)
            assert got == local.closure([dv.id], "up", **args)
            assert list(got.kinds) == list(local.closure([dv.id], "up", **args).kinds)
        assert set(remote.closure([dv.id], "up").kinds) == {dv.id, a.id, b.id, p.id, lic.id}
    finally:
        local.close()
        remote.close()
        live.stop()
