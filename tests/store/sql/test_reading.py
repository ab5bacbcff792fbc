"""``Database.reading``: the reads of one question on one connection, in one transaction."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from rmtc.core.entities import Asset
from rmtc.core.ids import new_id
from rmtc.core.kinds import Relation
from rmtc.errors import StoreError
from rmtc.store.types import Edge, WriteBatch

WHEN = datetime(2026, 1, 2, tzinfo=UTC)


def _asset(name: str) -> Asset:
    return Asset(id=new_id(), name=name, created_at=WHEN, created_by="t", project="p")


@pytest.fixture
def chain(store: Any) -> list[Asset]:
    """Three assets, each derived from the next."""
    assets = [_asset(f"a{i}") for i in range(3)]
    edges = [Edge(a.id, Relation.DERIVED_FROM, b.id, {}, WHEN, "t") for a, b in itertools.pairwise(assets)]
    store.write(WriteBatch(entities=assets, edges=edges))
    return assets


@pytest.fixture
def checkouts(store: Any) -> Iterator[list[int]]:
    """The connections checked out of the store's pool, one entry each, as they are."""
    seen: list[int] = []

    def on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        seen.append(id(dbapi_conn))

    engine = store.database.engine
    sa.event.listen(engine, "checkout", on_checkout)
    yield seen
    sa.event.remove(engine, "checkout", on_checkout)


def _every_read(store: Any, chain: list[Asset]) -> None:
    store.get_entity(chain[0].id)
    store.get_entities([a.id for a in chain])
    store.find_edges(src=[chain[0].id])
    assert [s.entity for s in store.walk([chain[0].id], "up", project="p")] == [chain[1].id, chain[2].id]


def test_without_reading_each_read_checks_out_a_connection(store, chain, checkouts) -> None:
    _every_read(store, chain)
    assert len(checkouts) == 4


def test_reads_inside_reading_share_one_connection(store, chain, checkouts) -> None:
    with store.reading():
        _every_read(store, chain)
    assert len(checkouts) == 1


def test_a_nested_reading_is_the_outer_one(store, chain, checkouts) -> None:
    with store.reading():
        store.get_entity(chain[0].id)
        with store.reading():
            _every_read(store, chain)
        store.get_entity(chain[1].id)
    assert len(checkouts) == 1


def test_reads_in_another_thread_have_their_own_connection(store, chain, checkouts) -> None:
    found: list[Any] = []
    with store.reading():
        store.get_entity(chain[0].id)
        other = threading.Thread(target=lambda: found.append(store.get_entity(chain[1].id)))
        other.start()
        other.join()
        store.get_entity(chain[2].id)
    assert found == [chain[1]]
    assert len(checkouts) == 2 and checkouts[0] != checkouts[1]


def test_a_write_inside_reading_is_committed_on_its_own(store, chain) -> None:
    extra = _asset("extra")
    with store.reading():
        store.get_entity(chain[0].id)
        store.write(WriteBatch(entities=[extra]))
    assert store.get_entity(extra.id) == extra


def test_a_failed_read_inside_reading_is_translated_and_its_connection_given_back(store, chain) -> None:
    with pytest.raises(StoreError, match="no_such_table"), store.reading():
        store.get_entity(chain[0].id)
        with store.database.read() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
    assert store.database.engine.pool.checkedout() == 0
    with store.reading():
        assert store.get_entity(chain[0].id) == chain[0]


def _setting(conn: sa.Connection) -> str:
    return str(conn.exec_driver_sql("SELECT current_setting('enable_hashjoin')").scalar_one())


_PLANNER = ("enable_hashjoin", "enable_mergejoin", "max_parallel_workers_per_gather")


def _settings(conn: sa.Connection) -> list[str]:
    return [str(conn.exec_driver_sql(f"SELECT current_setting('{n}')").scalar_one()) for n in _PLANNER]


@pytest.mark.postgres
@pytest.mark.backend("postgresql")  # PostgreSQL's planner settings
def test_a_walk_inside_reading_gives_back_the_planner_settings_it_changed(store, chain) -> None:
    d = store.database.dialect
    with store.database.read() as conn:
        before = _settings(conn)
    with store.reading():
        with store.database.read() as conn:
            with d.probing_indexes(conn):
                assert _settings(conn) == ["off", "off", "0"]
            assert _setting(conn) == "on"
            assert _settings(conn) == before
        assert len(store.walk([chain[0].id], "up", project="p")) == 2
        with store.database.read() as conn:
            assert _settings(conn) == before


@pytest.mark.postgres
@pytest.mark.backend("postgresql")  # PostgreSQL's planner settings
def test_planner_settings_sent_down_a_pipeline_are_given_back_as_they_were(store, chain) -> None:
    # The walk sends them with its levels: no round trips of their own. What it gives back is what
    # the transaction had before, a value set for this transaction included.
    d = store.database.dialect
    with store.reading(), store.database.read() as conn:
        conn.exec_driver_sql("SELECT set_config('max_parallel_workers_per_gather', '1', true)")
        before = _settings(conn)
        with d.pipeline(conn) as send:
            with d.probing_indexes(conn, send):
                inside = [send(f"SELECT current_setting('{n}')", ())()[0][0] for n in _PLANNER]
            assert inside == ["off", "off", "0"]
        assert _settings(conn) == before
        assert before[2] == "1"
        assert len(store.walk([chain[0].id], "up", project="p")) == 2
        assert _settings(conn) == before
