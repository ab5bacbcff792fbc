"""Large batch writes: PostgreSQL's ``COPY`` path keeps the semantics of the statement it replaces.

Every test runs on both backends; on PostgreSQL the ``COPY`` threshold is lowered to one row
(``bulk`` fixture) so that small batches take the path a bulk load takes. Both paths must insert
only the rows that clash with nothing, report exactly those, keep the batch's order in ``seq``,
take row locks in the same key order, and leave writers of the same content side by side safe.
SQLite gives a connection writing a large batch a larger page cache and no per-row foreign-key checks
(the write's own checks refuse what they would), and takes both back after.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from rmtc.core.entities import Asset, DatasetVersion, Party, Run
from rmtc.core.ids import new_id
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput, NotFound
from rmtc.store.sql import write as write_module
from rmtc.store.sql.dialect import PostgresDialect, SqliteDialect
from rmtc.store.types import Edge, EntityQuery, RunStatus, WriteBatch
from rmtc.testing.fixtures import open_store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def asset(h: int, **extra: Any) -> Asset:
    return Asset(
        id=new_id(),
        name=f"f{h}",
        created_at=NOW,
        created_by="t",
        content_hash=f"{h:064x}",
        media={"width": 64, "height": 32, "pixel_type": "half"},
        **extra,
    )


def version() -> DatasetVersion:
    return DatasetVersion(id=new_id(), name="plates", version=1, created_at=NOW, created_by="t")


@pytest.fixture
def bulk(store: Any) -> Any:
    """The store, with PostgreSQL's COPY path taken from the first row."""
    dialect = store.database.dialect
    if isinstance(dialect, PostgresDialect):
        dialect.copy_min_rows = 1
    return store


def all_assets(store: Any) -> list[Asset]:
    return store.find_entities(EntityQuery(kind=Kind.ASSET), limit=1000).items


def test_when_a_batch_repeats_stored_rows_and_itself_then_only_the_new_rows_are_inserted(bulk) -> None:
    dv = version()
    stored = [asset(h) for h in range(5)]
    bulk.write(
        WriteBatch(entities=[dv, *stored], edges=[Edge(a.id, Relation.MEMBER_OF, dv.id) for a in stored])
    )

    again = asset(3)  # same content as a stored asset, another id: stands for the stored one
    new = [asset(h) for h in range(10, 16)]
    batch_entities = [new[0], stored[1], again, new[1], new[1], *new[2:]]
    batch_edges = [Edge(a.id, Relation.MEMBER_OF, dv.id) for a in batch_entities]
    batch_edges += [
        Edge(new[2].id, Relation.MEMBER_OF, dv.id),
        Edge(new[0].id, Relation.DERIVED_FROM, stored[0].id),
    ]
    result = bulk.write(WriteBatch(entities=batch_entities, edges=batch_edges))

    assert result.created == len(new)
    assert result.edges_created == len(new) + 1  # the new members and the derived_from edge
    assert [e.id for e in result.entities] == [
        new[0].id,
        stored[1].id,
        stored[3].id,
        new[1].id,
        new[1].id,
    ] + [a.id for a in new[2:]]
    hashes = [a.content_hash for a in all_assets(bulk)]
    assert hashes == [a.content_hash for a in stored] + [a.content_hash for a in new]  # seq: batch order
    members = bulk.find_edges(dst=[dv.id], relations=[Relation.MEMBER_OF])
    assert len(members) == len({m.src for m in members}) == len(stored) + len(new)
    assert again.id not in {m.src for m in members}


def test_when_a_batch_is_written_in_bulk_then_every_column_reads_back_as_written(bulk) -> None:
    dv = version()
    run = Run(id=new_id(), name="train", created_at=NOW, created_by="t", params={"lr": 0.5, "tag": "x"})
    frames = [
        asset(h, frame=1001 + h, sequence="/sh/plate.####.exr", attrs={"é": [h, None]}) for h in range(4)
    ]
    at = NOW + timedelta(hours=1, microseconds=7)
    edges = [
        Edge(a.id, Relation.MEMBER_OF, dv.id, {"role": "input", "pair": h}, at, "ana")
        for h, a in enumerate(frames)
    ]
    bulk.write(WriteBatch(entities=[dv, run, *frames], edges=[*edges, Edge(run.id, Relation.USED, dv.id)]))

    assert all_assets(bulk) == frames
    assert bulk.get_entity(run.id) == run
    found = bulk.find_entities(EntityQuery(kind=Kind.ASSET, fields={"frame": 1002}), limit=10).items
    assert [a.id for a in found] == [frames[1].id]  # the JSON is stored as an object, not as text
    read = {e.src: e for e in bulk.find_edges(dst=[dv.id], relations=[Relation.MEMBER_OF])}
    assert [read[a.id] for a in frames] == edges


def test_when_a_later_edge_of_the_batch_has_a_naive_timestamp_then_the_batch_is_refused(bulk) -> None:
    dv = version()
    frames = [asset(h) for h in range(3)]
    edges = [Edge(a.id, Relation.MEMBER_OF, dv.id, created_at=NOW) for a in frames[:2]]
    edges.append(Edge(frames[2].id, Relation.MEMBER_OF, dv.id, created_at=NOW.replace(tzinfo=None)))
    with pytest.raises(InvalidInput):
        bulk.write(WriteBatch(entities=[dv, *frames], edges=edges))
    assert all_assets(bulk) == []


@pytest.mark.postgres
@pytest.mark.backend("postgresql")  # PostgreSQL orders its inserts for concurrent writers
def test_when_copying_then_rows_are_inserted_in_the_lock_order_of_the_small_batch_path(bulk) -> None:
    names = ["Zoë", "émile", "Ada", "ada", "Émile", "zed", "Ünal", "Bo"]
    people = [Party(id=new_id(), name=n, created_at=NOW, created_by="t") for n in names]
    runs = [Run(id=new_id(), name=f"r{i}", created_at=NOW, created_by="t") for i in range(3)]  # key NULL
    batch = [*people, *runs]
    bulk.write(WriteBatch(entities=batch))

    with bulk.database.engine.connect() as conn:
        physical = [r[0] for r in conn.exec_driver_sql("SELECT id FROM entities ORDER BY ctid")]
        by_seq = [r[0] for r in conn.exec_driver_sql("SELECT id FROM entities ORDER BY seq")]
    # What the small batch path sorts by in Python (lock_ordered's key in write.py): code points, NULL
    # keys as ''. Both paths must lock in one order, or two writers could deadlock each other.
    in_python = sorted(batch, key=lambda e: (e.project, e.KIND.value, e.key or "", e.id))
    assert physical == [e.id for e in in_python]
    assert by_seq == [e.id for e in batch]


@pytest.mark.postgres
@pytest.mark.backend("postgresql")  # SQLite has one writer at a time
@pytest.mark.timeout(120)
def test_when_two_writers_copy_the_same_content_at_once_then_each_row_is_recorded_once(bulk) -> None:
    bulk.database.attempts = 1  # a deadlock would fail the test instead of being retried
    dv = version()
    bulk.write(WriteBatch(entities=[dv]))
    start = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def write(reverse: bool) -> None:
        frames = [asset(h) for h in range(400)]
        if reverse:
            frames.reverse()
        edges = [Edge(a.id, Relation.MEMBER_OF, dv.id) for a in frames]
        start.wait()
        try:
            results.append(bulk.write(WriteBatch(entities=frames, edges=edges)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(r,)) for r in (False, True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(r.created for r in results) == 400
    assert sum(r.edges_created for r in results) == 400
    assert {e.id for e in results[0].entities} == {e.id for e in results[1].entities}
    assert bulk.count_entities(EntityQuery(kind=Kind.ASSET)) == 400
    members = bulk.find_edges(dst=[dv.id], relations=[Relation.MEMBER_OF])
    assert len(members) == len({m.src for m in members}) == 400


@pytest.mark.postgres
@pytest.mark.backend("postgresql")  # SQLite keeps NUL characters in text
def test_when_the_copy_fails_in_the_server_then_the_store_error_is_translated(bulk) -> None:
    dv = version()
    frames = [asset(h) for h in range(3)]
    edges = [Edge(a.id, Relation.MEMBER_OF, dv.id, created_by="a\x00b") for a in frames]
    with pytest.raises(InvalidInput):
        bulk.write(WriteBatch(entities=[dv, *frames], edges=edges))
    assert all_assets(bulk) == []


@pytest.fixture
def few_bulk_rows(monkeypatch: pytest.MonkeyPatch) -> int:
    """Batches of three entities and edges or more are bulk writes."""
    monkeypatch.setattr(write_module, "BULK_ROWS", 3)
    return 3


def _pragmas(conn: Any) -> tuple[int, int]:
    return (
        int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one()),
        int(conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one()),
    )


def test_when_sqlite_writes_in_bulk_then_its_connection_has_a_large_cache_and_no_key_checks_until_checkin(
    tmp_path, few_bulk_rows, monkeypatch
) -> None:
    from rmtc.store.sql.factory import open_sqlite

    store = open_sqlite(str(tmp_path / "s.db"), create=True)
    try:
        db, dialect = store.database, store.database.dialect
        seen: list[tuple[int, int]] = []
        original = write_module._write_batch

        def spying(conn: Any, d: Any, batch: WriteBatch) -> Any:
            seen.append(_pragmas(conn))
            return original(conn, d, batch)

        monkeypatch.setattr(write_module, "_write_batch", spying)
        with db.engine.connect() as conn:
            usual = _pragmas(conn)
        store.write(WriteBatch(entities=[asset(1), asset(2)]))
        store.write(WriteBatch(entities=[asset(h) for h in range(10, 13)]))
        dv = version()
        with pytest.raises(NotFound):  # a failed bulk write gives the connection back as well
            store.write(
                WriteBatch(entities=[dv, asset(20)], edges=[Edge(new_id(), Relation.MEMBER_OF, dv.id)])
            )
        with db.engine.connect() as conn:
            after = _pragmas(conn)
        assert usual[1] == 1
        assert seen == [usual, (-dialect.bulk_cache_kib, 0), (-dialect.bulk_cache_kib, 0)]
        assert after == usual
    finally:
        store.close()


class _FailingConnection:
    """A DB-API connection whose statements fail as a broken SQLite connection's would."""

    def execute(self, sql: str) -> None:
        raise sqlite3.OperationalError("disk I/O error")


def test_when_a_bulk_connection_cannot_get_its_key_checks_back_then_it_is_not_pooled_again(
    tmp_path, few_bulk_rows, monkeypatch
) -> None:
    from rmtc.store.sql.factory import open_sqlite

    info = {"rmtc_cache_size": -2000}
    assert SqliteDialect.end_bulk(_FailingConnection(), info) is False
    assert info == {}
    assert SqliteDialect.end_bulk(_FailingConnection(), {}) is True  # not a bulk connection: untouched

    store = open_sqlite(str(tmp_path / "s.db"), create=True)
    try:
        pool = store.database.engine.pool
        with store.database.engine.connect() as conn:
            first = conn.connection.dbapi_connection
        with monkeypatch.context() as failing:
            failing.setattr(SqliteDialect, "end_bulk", staticmethod(lambda dbapi_conn, info: False))
            store.write(WriteBatch(entities=[asset(h) for h in range(3)]))
        with store.database.engine.connect() as conn:
            assert conn.connection.dbapi_connection is not first
            assert _pragmas(conn)[1] == 1
        assert pool.checkedout() == 0
        assert len(all_assets(store)) == 3  # the write itself committed
    finally:
        store.close()


def test_when_a_bulk_batch_links_to_a_missing_entity_then_not_found_names_it_and_nothing_is_written(
    bulk, few_bulk_rows
) -> None:
    dv, missing = version(), new_id()
    frames = [asset(h) for h in range(4)]
    edges = [Edge(a.id, Relation.MEMBER_OF, dv.id) for a in frames]
    with pytest.raises(NotFound) as err:
        bulk.write(
            WriteBatch(
                entities=[dv, *frames], edges=[*edges, Edge(frames[0].id, Relation.DERIVED_FROM, missing)]
            )
        )
    assert str(missing) in err.value.message
    assert all_assets(bulk) == []
    assert bulk.find_edges() == []


def test_when_a_bulk_batch_gives_a_status_to_an_unknown_run_then_not_found_and_nothing_is_written(
    bulk, few_bulk_rows
) -> None:
    ghost = new_id()
    frames = [asset(h) for h in range(4)]
    with pytest.raises(NotFound) as err:
        bulk.write(WriteBatch(entities=frames, statuses=[RunStatus(ghost, "running", NOW)]))
    assert str(ghost) in err.value.message
    assert all_assets(bulk) == []


@pytest.mark.postgres
@pytest.mark.backend("postgresql")  # a PostgreSQL privilege
def test_when_the_role_may_not_create_temporary_tables_then_large_batches_still_write(
    store, store_url
) -> None:
    role, password = f"w{new_id().hex[:12]}", new_id().hex
    with store.database.engine.begin() as conn:
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.exec_driver_sql(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
        conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
        conn.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    url = sa.make_url(store_url).set(username=role, password=password)
    limited = open_store(url.render_as_string(hide_password=False))
    try:
        limited.database.dialect.copy_min_rows = 1
        dv = version()
        frames = [asset(h) for h in range(3)]
        batch = WriteBatch(
            entities=[dv, *frames], edges=[Edge(a.id, Relation.MEMBER_OF, dv.id) for a in frames]
        )
        result = limited.write(batch)
        assert (result.created, result.edges_created) == (4, 3)
        again = limited.write(batch)  # every row clashes: the straight COPY gives way to the array path
        assert (again.created, again.edges_created) == (0, 0)
        assert [e.id for e in again.entities] == [e.id for e in batch.entities]
        assert not limited.database.dialect._may_create_temporary_tables(None)
    finally:
        limited.close()
        with store.database.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def test_entities_bulk_written_read_back_equal_however_many_are_read(bulk) -> None:
    # PostgreSQL's reads of many entities take the fields from a column the server generates
    # (migration 0007): it must be filled by COPY as by INSERT.
    assets = [asset(h, uri=f"/plates/p.{h}.exr", frame=h) for h in range(20, 26)]
    bulk.write(WriteBatch(entities=assets))
    assert bulk.get_entities([a.id for a in assets]) == {a.id: a for a in assets}
    assert [bulk.get_entity(a.id) for a in assets] == assets
