"""Engines, connections and transactions, with the backends' settings and retries.

:class:`Database` is what every query module receives: ``read()`` for a read-only connection and
``transact(fn)`` to run ``fn`` in one write transaction, re-run from the start when the database says
another writer is in the way (SQLite "database is locked", PostgreSQL deadlock or serialization
failure). A transaction that failed that way was rolled back whole, so re-running it is safe; users
never see "database is locked" unless the store stays busy for a long time, and then as a
:class:`~rmtc.errors.StoreError` with a hint.

SQLite settings (see SECURITY.md): WAL so readers never wait for writers, ``foreign_keys=ON`` (off
only for a bulk write, whose own checks cover them: :meth:`SqliteDialect.begin_bulk`), a busy timeout,
``synchronous=NORMAL`` (``FULL`` where an acknowledgement must survive power loss) and ``BEGIN
IMMEDIATE`` for writes, so a writer takes the lock up front and never fails half-way when it finds
another writer (pysqlite needs SQLAlchemy's begin-event recipe for that). A database on a network
filesystem is refused: SQLite's locks are not reliable there.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

from rmtc.errors import Conflict, InvalidInput, RmtcError, StoreError
from rmtc.store.sql.dialect import SHARED_READ, PostgresDialect, SqlDialect, SqliteDialect, dumps, for_engine

T = TypeVar("T")

#: Read to find the filesystem of a SQLite file (a module attribute so tests can point it elsewhere).
MOUNTS = Path("/proc/mounts")
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 10_000
ATTEMPTS = 8


#: The connection of the :meth:`Database.reading` around this thread or task, with its database.
_SHARED: ContextVar[tuple[Database, sa.Connection] | None] = ContextVar("rmtc_shared_read", default=None)


class Database:
    """An engine with its dialect, the URL safe to print, and retrying write transactions."""

    def __init__(self, engine: sa.Engine, url: str, *, attempts: int = ATTEMPTS):
        self.engine = engine
        self.url = url
        self.dialect: SqlDialect = for_engine(engine)
        self.attempts = attempts

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection for reads, in one transaction; inside :meth:`reading`, that one's.

        The transaction is committed at the end (rolled back if the reads failed): it wrote nothing,
        and psycopg forgets every prepared statement of the connection at a rollback, so each trace
        planned its level statement again and paid a round trip to deallocate it."""
        shared = _SHARED.get()
        if shared is not None and shared[0] is self:
            try:
                yield shared[1]
            except sa.exc.SQLAlchemyError as exc:
                raise self.translate(exc) from exc
            return
        try:
            with self.engine.connect() as conn:
                yield conn
                conn.commit()
        except sa.exc.SQLAlchemyError as exc:
            raise self.translate(exc) from exc

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Every :meth:`read` inside (in this thread or task) on one connection, in one transaction.

        A question that takes several reads (the effective rights of an artefact take about nine)
        otherwise checks a connection out of the pool, pings it (PostgreSQL) and commits for each:
        about half a millisecond each on PostgreSQL. In SQLite's one transaction the reads also see
        one snapshot. Nested, it is the outer one's. Only for reads: a write goes to a connection of
        its own, and the reads after it see it on PostgreSQL (each statement takes a fresh snapshot)
        but not on SQLite (the transaction keeps the snapshot of its first read)."""
        shared = _SHARED.get()
        if shared is not None and shared[0] is self:
            yield
            return
        with self.read() as conn:
            conn.info[SHARED_READ] = True
            token = _SHARED.set((self, conn))
            try:
                yield
            finally:
                _SHARED.reset(token)
                conn.info.pop(SHARED_READ, None)

    def transact(self, fn: Callable[[sa.Connection], T], *, bulk: bool = False) -> T:
        """Run ``fn`` in one write transaction, retried with backoff while the store is busy.

        ``bulk``: a large batch of :func:`~rmtc.store.sql.write.write_batch`, which SQLite writes
        with a large page cache and without its per-row foreign-key checks
        (:meth:`SqliteDialect.begin_bulk` says why that is safe); nothing else may ask for it."""
        for attempt in range(self.attempts):
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(rmtc_write=True, rmtc_bulk=bulk)
                    with conn.begin():
                        return fn(conn)
            except sa.exc.DBAPIError as exc:
                if self.dialect.is_retryable(exc.orig) and attempt + 1 < self.attempts:
                    time.sleep(min(0.02 * 2**attempt, 1.0) * random.uniform(0.5, 1.5))
                    continue
                raise self.translate(exc) from exc
            except sa.exc.SQLAlchemyError as exc:
                raise self.translate(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def translate(self, exc: sa.exc.SQLAlchemyError) -> RmtcError:
        """The rmtc error for a database error: what the user did wrong, or what is wrong with the store."""
        orig = getattr(exc, "orig", None)
        if isinstance(orig, RmtcError):
            return orig
        first = str(orig if orig is not None else exc).strip().splitlines()[0][:300]
        if isinstance(exc, sa.exc.DBAPIError) and self.dialect.is_retryable(orig):
            return StoreError(
                f"the store at {self.url} stayed busy: other writers held it for too long",
                hint="other processes are writing heavily; try again in a moment",
            )
        if isinstance(exc, sa.exc.StatementError) and not isinstance(exc, sa.exc.DBAPIError):
            return InvalidInput(f"the store cannot record a value: {first}", hint="check the values passed")
        if isinstance(exc, sa.exc.IntegrityError):
            return Conflict(f"the store refused the write: {first}", hint="it contradicts what is recorded")
        sqlstate = str(getattr(orig, "sqlstate", "") or "")
        if isinstance(exc, sa.exc.DataError) or sqlstate.startswith("22"):
            return InvalidInput(f"the store refused a value: {first}", hint="check the values passed")
        return StoreError(
            f"the store at {self.url} failed: {first}", hint="check that the database is reachable"
        )

    def close(self) -> None:
        self.engine.dispose()


# -- SQLite ------------------------------------------------------------------------------------------


def sqlite_engine(
    path: Path, *, synchronous: str = "NORMAL", busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> sa.Engine:
    """An engine for the SQLite file at ``path`` with the store's pragmas and ``BEGIN IMMEDIATE`` writes."""
    sync = synchronous.upper()
    if sync not in SYNCHRONOUS:
        raise InvalidInput(
            f"synchronous={synchronous!r} is not a SQLite mode", hint=f"use one of {SYNCHRONOUS}"
        )
    engine = sa.create_engine(
        f"sqlite+pysqlite:///{path}",
        json_serializer=dumps,
        connect_args={"timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        SqliteDialect.configure(dbapi_conn, synchronous=sync, busy_timeout_ms=busy_timeout_ms)

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        if not SqliteDialect.end_bulk(dbapi_conn, record.info):
            record.invalidate()  # never pooled without its foreign-key checks

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        write = options.get("rmtc_write", False)
        if write and options.get("rmtc_bulk", False):
            SqliteDialect.begin_bulk(conn.connection.dbapi_connection, conn.connection.info)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def filesystem_of(path: Path) -> str | None:
    """The filesystem type holding ``path`` (the longest matching mount point), or ``None``."""
    try:
        table = MOUNTS.read_text()
    except OSError:
        return None
    target = str(path.resolve())
    best, fstype = "", None
    for line in table.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1])
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, parts[2]
    return fstype


def refuse_network_filesystem(path: Path) -> None:
    """SQLite on NFS or SMB corrupts under concurrent writers: refuse it with the way out."""
    fstype = filesystem_of(path)
    if fstype and (fstype.startswith(("nfs", "smb")) or fstype == "cifs"):
        raise StoreError(
            f"the store at {path} is on a network filesystem ({fstype}), where SQLite's locking is unsafe",
            hint="keep the project's .rmtc directory on a local disk, or use a shared PostgreSQL store "
            "(`rmtc init postgresql://...`)",
        )


# -- PostgreSQL --------------------------------------------------------------------------------------


def postgres_engine(url: sa.URL) -> sa.Engine:
    engine = sa.create_engine(
        url,
        json_serializer=dumps,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10, "options": "-c timezone=UTC", "application_name": "rmtc"},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        PostgresDialect.configure(dbapi_conn)

    return engine
