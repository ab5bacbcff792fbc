"""SQLite specifics: pragmas, BEGIN IMMEDIATE, retries while busy, network filesystems, paths."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from rmtc.core.entities import Asset
from rmtc.core.ids import new_id
from rmtc.errors import InvalidInput, StoreError
from rmtc.store.sql import engine as sql_engine
from rmtc.store.sql.factory import open_sqlite, sqlite_path
from rmtc.store.types import EntityQuery, WriteBatch

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def asset(n: int) -> Asset:
    return Asset(id=new_id(), name=f"a{n}", created_at=NOW, created_by="t", content_hash=f"{n:064x}")


@pytest.fixture
def sqlite_store(tmp_path):
    store = open_sqlite(str(tmp_path / "s.db"), create=True)
    yield store
    store.close()


def pragmas(store) -> dict[str, object]:
    with store.database.engine.connect() as conn:
        return {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }


def test_when_opened_then_wal_foreign_keys_busy_timeout_and_normal_sync_are_set(sqlite_store) -> None:
    assert pragmas(sqlite_store) == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": sql_engine.BUSY_TIMEOUT_MS,
    }


def test_when_full_sync_is_asked_then_it_is_used(tmp_path) -> None:
    store = open_sqlite(str(tmp_path / "s.db"), create=True, synchronous="FULL")
    try:
        assert pragmas(store)["synchronous"] == 2
    finally:
        store.close()
    with pytest.raises(InvalidInput):
        open_sqlite(str(tmp_path / "t.db"), create=True, synchronous="sometimes")


def test_every_write_transaction_begins_immediate_and_reads_do_not(sqlite_store) -> None:
    seen: list[str] = []
    event.listen(
        sqlite_store.database.engine, "before_cursor_execute", lambda conn, cur, stmt, *a: seen.append(stmt)
    )
    sqlite_store.write(WriteBatch(entities=[asset(1)]))
    writes = [s for s in seen if s.startswith("BEGIN")]
    seen.clear()
    sqlite_store.count_entities(EntityQuery())
    assert writes == ["BEGIN IMMEDIATE"]
    assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN"]


def test_when_another_connection_holds_the_write_lock_then_the_write_waits_and_succeeds(tmp_path) -> None:
    store = open_sqlite(str(tmp_path / "s.db"), create=True)
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    started = threading.Event()
    event.listen(
        store.database.engine,
        "before_cursor_execute",
        lambda conn, cur, stmt, *a: started.set() if stmt == "BEGIN IMMEDIATE" else None,
    )
    errors: list[BaseException] = []

    def write() -> None:
        try:
            store.write(WriteBatch(entities=[asset(2)]))
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    assert started.wait(30)
    other.execute("COMMIT")
    other.close()
    writer.join(60)
    assert errors == []
    assert store.count_entities(EntityQuery()) == 1
    store.close()


class Flaky:
    """Fault injection: the first ``fail`` BEGIN IMMEDIATEs report "database is locked"."""

    def __init__(self, fail: int):
        self.fail = fail

    def __call__(self, conn, cursor, statement, *args) -> None:
        if statement == "BEGIN IMMEDIATE" and self.fail > 0:
            self.fail -= 1
            raise sqlite3.OperationalError("database is locked")


def test_when_the_database_is_locked_briefly_then_the_write_is_retried(sqlite_store) -> None:
    flaky = Flaky(3)
    event.listen(sqlite_store.database.engine, "before_cursor_execute", flaky)
    result = sqlite_store.write(WriteBatch(entities=[asset(3)]))
    assert result.created == 1 and flaky.fail == 0


def test_when_the_database_stays_locked_then_a_store_error_with_a_hint_not_database_is_locked(
    sqlite_store,
) -> None:
    event.listen(sqlite_store.database.engine, "before_cursor_execute", Flaky(1000))
    sqlite_store.database.attempts = 3
    with pytest.raises(StoreError) as err:
        sqlite_store.write(WriteBatch(entities=[asset(4)]))
    assert "database is locked" not in err.value.one_line()
    assert err.value.hint


@pytest.mark.parametrize("fstype", ["nfs", "nfs4", "cifs", "smb3", "smbfs"])
def test_when_the_file_is_on_a_network_filesystem_then_the_store_is_refused(
    tmp_path, monkeypatch, fstype
) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nserver:/share {tmp_path / 'net'} {fstype} rw 0 0\n")
    monkeypatch.setattr(sql_engine, "MOUNTS", mounts)
    (tmp_path / "net").mkdir()
    with pytest.raises(StoreError) as err:
        open_sqlite(str(tmp_path / "net" / "proj" / "s.db"), create=True)
    assert fstype in err.value.message
    assert "PostgreSQL" in (err.value.hint or "")
    open_sqlite(str(tmp_path / "local.db"), create=True).close()


def test_mount_points_with_escaped_spaces_are_matched(tmp_path, monkeypatch) -> None:
    share = tmp_path / "my share"
    share.mkdir()
    mounts = tmp_path / "mounts"
    escaped = str(share).replace(" ", "\\040")
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nsrv:/x {escaped} nfs4 rw 0 0\n")
    monkeypatch.setattr(sql_engine, "MOUNTS", mounts)
    assert sql_engine.filesystem_of(share / "s.db") == "nfs4"
    assert sql_engine.filesystem_of(tmp_path / "other.db") == "ext4"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///abs/path.db", "/abs/path.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite+pysqlite:////abs/path.db?mode=rw", "/abs/path.db"),
        ("/abs/path.db", "/abs/path.db"),
    ],
)
def test_sqlite_urls_and_plain_paths_name_the_same_file(url: str, path: str) -> None:
    assert sqlite_path(url) == Path(path)


def test_relative_plain_paths_are_resolved_and_memory_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_path("rel/s.db") == tmp_path / "rel" / "s.db"
    for url in ("sqlite:///:memory:", ":memory:", "sqlite://relative.db", "mysql:///x"):
        with pytest.raises(InvalidInput):
            sqlite_path(url)


def test_the_store_url_can_be_opened_again(sqlite_store) -> None:
    again = open_sqlite(sqlite_store.url)
    try:
        assert again.url == sqlite_store.url
    finally:
        again.close()


def test_a_dbapi_error_that_is_not_busy_becomes_a_store_error(sqlite_store) -> None:
    err = sqlite_store.database.translate(
        sa.exc.OperationalError("x", {}, sqlite3.OperationalError("disk I/O error"))
    )
    assert isinstance(err, StoreError) and "disk I/O error" in err.message
