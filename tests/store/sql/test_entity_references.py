"""The database refuses an edge or a fact row that names no entity, however the row is written.

SQLite enforces it with foreign keys; PostgreSQL with statement-level triggers (migration 0005), which
must catch a missing entity among many rows, in every insert form (VALUES, INSERT ... SELECT, COPY),
in updates of ``upstream_facts``, and after a large statement came first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from rmtc.core.entities import Asset
from rmtc.core.ids import new_id
from rmtc.core.kinds import Relation
from rmtc.errors import Conflict, NotFound
from rmtc.store.types import Edge, WriteBatch

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def asset(n: int) -> Asset:
    return Asset(id=new_id(), name=f"a{n}", created_at=NOW, created_by="t", content_hash=f"{n:064x}")


@pytest.fixture
def two(store: Any) -> tuple[Any, Asset, Asset]:
    a, b = asset(1), asset(2)
    store.write(WriteBatch(entities=[a, b]))
    return store, a, b


def _ids(store: Any, *values: Any) -> list[Any]:
    d = store.database.dialect
    return [d.raw_id(v) for v in values]


def _insert_edges(
    conn: sa.Connection, store: Any, pairs: list[tuple[Any, Any]], relation: str = "derived_from"
) -> None:
    marks = "?" if store.database.dialect.name == "sqlite" else "%s"
    conn.exec_driver_sql(
        "INSERT INTO edges (src, relation, dst, attrs, created_at, created_by) "
        f"VALUES ({marks}, {marks}, {marks}, '{{}}', CURRENT_TIMESTAMP, 't')",
        [(src, relation, dst) for src, dst in (_ids(store, s, d) for s, d in pairs)],
    )


def edge_count(store: Any) -> int:
    with store.database.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM edges").scalar_one())


def test_when_an_edge_names_a_missing_entity_then_the_database_refuses_it(two) -> None:
    store, a, b = two
    pairs = [(a.id, b.id), (b.id, new_id())]
    with pytest.raises(sa.exc.IntegrityError), store.database.engine.begin() as conn:
        _insert_edges(conn, store, pairs)
    assert edge_count(store) == 0


def test_when_every_end_is_an_entity_then_the_database_takes_the_edges(two) -> None:
    store, a, b = two
    with store.database.engine.begin() as conn:
        _insert_edges(conn, store, [(a.id, b.id), (b.id, a.id)])
    assert edge_count(store) == 2


@pytest.mark.backend("postgresql")  # INSERT ... SELECT over generate_series is PostgreSQL's
def test_when_one_end_of_many_is_missing_in_one_statement_then_the_whole_statement_is_refused(two) -> None:
    store, a, b = two
    missing = new_id()
    sql = (
        "INSERT INTO edges (src, relation, dst, attrs, created_at, created_by) "
        "SELECT %s, 'derived_from' || i, CASE WHEN i = 777 THEN %s ELSE %s END, '{}', now(), 't' "
        "FROM generate_series(1, 5000) AS i"
    )
    with pytest.raises(sa.exc.IntegrityError, match="not an entity"), store.database.engine.begin() as conn:
        conn.exec_driver_sql(sql, (a.id, missing, b.id))
    assert edge_count(store) == 0


@pytest.mark.backend("postgresql")  # COPY is PostgreSQL's
def test_when_a_copy_names_a_missing_entity_then_postgresql_refuses_it(two) -> None:
    store, a, b = two
    rows = [(a.id, "derived_from", b.id, "{}", NOW, "t"), (a.id, "used", new_id(), "{}", NOW, "t")]
    with pytest.raises(Exception, match="not an entity") as err, store.database.engine.begin() as conn:
        store.database.dialect.bulk_insert(conn, sa.table("edges", *_edge_columns()), rows)
    assert getattr(err.value, "sqlstate", None) == "23503"  # the driver's ForeignKeyViolation
    assert edge_count(store) == 0


def _edge_columns() -> list[sa.ColumnClause[Any]]:
    return [sa.column(c) for c in ("src", "relation", "dst", "attrs", "created_at", "created_by")]


def test_when_a_large_statement_came_first_then_a_small_one_is_still_checked(two) -> None:
    store, a, b = two
    many = [asset(n) for n in range(10, 3010)]
    store.write(WriteBatch(entities=many, edges=[Edge(m.id, Relation.DERIVED_FROM, a.id) for m in many]))
    with pytest.raises(sa.exc.IntegrityError), store.database.engine.begin() as conn:
        for n in range(7):  # past the point where PostgreSQL may switch to a cached generic plan
            _insert_edges(conn, store, [(b.id, a.id)], relation=f"r{n}")
        _insert_edges(conn, store, [(b.id, new_id())])
    assert edge_count(store) == len(many)


def test_when_a_batch_links_to_a_missing_entity_then_not_found_names_it(two) -> None:
    store, a, _ = two
    missing = new_id()
    with pytest.raises(NotFound) as err:
        store.write(WriteBatch(edges=[Edge(a.id, Relation.DERIVED_FROM, missing)]))
    assert str(missing) in err.value.message
    assert not isinstance(err.value, Conflict)


def test_when_a_fact_row_names_a_missing_entity_then_the_database_refuses_it(two) -> None:
    store, _, _ = two
    marks = "?, ?, ?, ?" if store.database.dialect.name == "sqlite" else "%s, %s, %s, %s"
    sql = f"INSERT INTO upstream_facts (entity, facts, own, ups) VALUES ({marks})"
    with pytest.raises(sa.exc.IntegrityError), store.database.engine.begin() as conn:
        conn.exec_driver_sql(sql, (_ids(store, new_id())[0], "d", "d", 0))


def test_when_a_fact_row_is_moved_to_a_missing_entity_then_the_database_refuses_it(two) -> None:
    store, a, _ = two
    mark = "?" if store.database.dialect.name == "sqlite" else "%s"
    with pytest.raises(sa.exc.IntegrityError), store.database.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE upstream_facts SET entity = {mark} WHERE entity = {mark}",
            tuple(_ids(store, new_id(), a.id)),
        )
    assert a.id in store.upstream_facts([a.id])
