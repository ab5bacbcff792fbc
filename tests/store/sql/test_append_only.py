"""The database itself keeps provenance append-only: UPDATE and DELETE are refused by triggers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from rmtc.core.entities import Asset
from rmtc.core.ids import new_id
from rmtc.core.kinds import Relation
from rmtc.store.sql.schema import APPEND_ONLY
from rmtc.store.types import AuditEvent, Edge, WriteBatch

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STATEMENTS = {
    "entities": ["UPDATE entities SET name = 'forged'", "DELETE FROM entities"],
    "edges": ["UPDATE edges SET relation = 'used'", "DELETE FROM edges"],
    "audit": ["UPDATE audit SET actor = 'nobody'", "DELETE FROM audit"],
}


@pytest.fixture
def recorded(store):
    a, b = (Asset(id=new_id(), name=n, created_at=NOW, created_by="t", content_hash=n * 64) for n in "ab")
    store.write(
        WriteBatch(
            entities=[a, b],
            edges=[Edge(a.id, Relation.DERIVED_FROM, b.id)],
            audit=[AuditEvent("ingest", "t", NOW, target=a.id)],
        )
    )
    return store


@pytest.mark.parametrize(("table", "statement"), [(t, s) for t, pair in STATEMENTS.items() for s in pair])
def test_when_provenance_rows_are_updated_or_deleted_then_the_database_refuses(
    recorded, table, statement
) -> None:
    engine = recorded.database.engine
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() >= 1


@pytest.mark.backend("postgresql")  # TRUNCATE is a PostgreSQL statement
def test_when_provenance_tables_are_truncated_on_postgresql_then_refused(recorded) -> None:
    engine = recorded.database.engine
    for table in STATEMENTS:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")


def test_every_provenance_table_is_covered() -> None:
    assert set(STATEMENTS) == set(APPEND_ONLY)


def test_when_operational_rows_change_then_the_database_allows_it(recorded) -> None:
    with recorded.database.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO rmtc_meta (key, value) VALUES ('k', 'v')")
        conn.exec_driver_sql("UPDATE rmtc_meta SET value = 'w' WHERE key = 'k'")
        assert conn.exec_driver_sql("DELETE FROM rmtc_meta WHERE key = 'k'").rowcount == 1
