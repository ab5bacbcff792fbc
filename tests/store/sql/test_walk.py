"""The walk's own plumbing; its answers are the conformance suite's (``rmtc.testing.conformance``)."""

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from rmtc.core.entities import Asset
from rmtc.core.ids import new_id
from rmtc.errors import StoreError
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import driver_rows as _rows
from rmtc.store.types import WriteBatch


@pytest.fixture
def conn():
    engine = sa.create_engine("sqlite://")
    with engine.connect() as c:
        yield c
    engine.dispose()


def test_rows_are_the_drivers_own_tuples(conn):
    assert _rows(conn, "SELECT value, key FROM json_each(?)", ('["a", "b"]',)) == [("a", 0), ("b", 1)]


def test_an_error_while_rows_are_fetched_is_sqlalchemys_so_the_store_translates_it(conn):
    # SQLite runs a statement as its rows are fetched: the second row fails after execute returned.
    sql = "SELECT CASE WHEN value = 2 THEN json('not json') ELSE value END FROM json_each(?)"
    with pytest.raises(sa.exc.DBAPIError, match="malformed JSON"):
        _rows(conn, sql, ("[1, 2]",))


def _numbers(d: Any) -> str:
    """A statement of the numbers in the list parameter, in both backends' SQL."""
    return f"SELECT key FROM {d.raw_table('j')} ORDER BY key"


def test_a_pipelined_statement_gives_its_own_rows_whatever_order_they_are_read_in(store: Any) -> None:
    d = store.database.dialect
    with store.database.read() as conn, d.pipeline(conn) as send:
        first = send(_numbers(d), (d.raw_list([7, 8]),))
        second = send(_numbers(d), (d.raw_list([7, 8, 9]),))
        assert [tuple(r) for r in second()] == [(0,), (1,), (2,)]
        assert [tuple(r) for r in first()] == [(0,), (1,)]


def test_a_pipelined_statement_gives_the_values_a_plain_read_gives(store: Any) -> None:
    # PostgreSQL's pipeline reads rows in the binary format: ids, times, numbers and texts must come
    # back as the same Python values as the text format's, which the walk's decoding expects.
    written = Asset(
        id=new_id(),
        name="plate é",
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        created_by="t",
        content_hash="ab" * 32,
        attrs={"k": [1, 2.5, None, "x"]},
    )
    store.write(WriteBatch(entities=[written]))
    d = store.database.dialect
    sql = f"SELECT {codec.raw_entity_select(d)}, seq FROM entities WHERE {d.raw_in('id')}"
    params = (d.raw_list([d.raw_id(written.id)]),)
    with store.database.read() as conn:
        plain = [tuple(r) for r in _rows(conn, sql, params)]
        with d.pipeline(conn) as send:
            pipelined = [tuple(r) for r in send(sql, params)()]
    assert pipelined == plain
    assert [type(v) for v in pipelined[0]] == [type(v) for v in plain[0]]
    assert codec.raw_entities(d, [row[:-1] for row in pipelined]) == [written]


def test_a_pipelined_statement_that_fails_raises_sqlalchemys_error_so_the_store_translates_it(
    store: Any,
) -> None:
    # Only SQLAlchemy's errors are translated: the driver's own would reach the user as they are.
    d = store.database.dialect
    with (
        pytest.raises(StoreError, match="no_such_table"),
        store.database.read() as conn,
        d.pipeline(conn) as send,
    ):
        send("SELECT * FROM no_such_table", ())()
    # The store's connections are still good for the next read.
    with store.database.read() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1


def test_with_a_libpq_that_cannot_pipeline_statements_run_one_at_a_time(store: Any, monkeypatch) -> None:
    psycopg = pytest.importorskip("psycopg")
    monkeypatch.setattr(psycopg.Pipeline, "is_supported", classmethod(lambda cls: False))
    d = store.database.dialect
    with store.database.read() as conn, d.pipeline(conn) as send:
        first = send(_numbers(d), (d.raw_list([7, 8]),))
        assert [tuple(r) for r in first()] == [(0,), (1,)]


@pytest.mark.parametrize("sparse", [False, True])
def test_ids_sent_as_hex_digits_come_back_as_the_same_digits_in_place(store: Any, sparse: bool) -> None:
    # A walk keeps ids as 32 hex digits on both backends (SqlDialect.hex_list): what it sends must
    # match the stored ids, keep every id's place in the list, and come back spelled the same.
    now = datetime.now(UTC)
    written = [Asset(id=new_id(), name=f"a{i}", created_at=now, created_by="t") for i in range(3)]
    store.write(WriteBatch(entities=written))
    d = store.database.dialect
    digits = [codec.hex_of(a.id) for a in written]
    sent = [digits[0], None, digits[2]] if sparse else [digits[2], digits[0]]
    sql = (
        f"SELECT j.key, {d.hex_id('e.id')} FROM {d.hex_table('j', sparse=sparse)} "
        "CROSS JOIN entities e WHERE e.id = j.value ORDER BY j.key"
    )
    with store.database.read() as conn:
        rows = [tuple(r) for r in _rows(conn, sql, (d.hex_list(sent),))]
    assert rows == [(0, digits[0]), (2, digits[2])] if sparse else [(0, digits[2]), (1, digits[0])]
    with store.database.read() as conn:
        assert _rows(conn, sql, (d.hex_list([None] if sparse else []),)) == []
    assert all(codec.uuid_of(h) == a.id for h, a in zip(digits, written, strict=True))
