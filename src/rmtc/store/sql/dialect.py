"""Everything that differs between SQLite and PostgreSQL, in one place.

The rest of the SQL store is written once against SQLAlchemy Core and asks this module for the few
constructs whose spelling differs: inserts that ignore or merge on conflict (``ON CONFLICT`` on
both), "column is in this list" for lists of any length, equality on one field of a JSON column,
case-insensitive substring matching, which errors mean "busy, try again", SQLite's connection pragmas,
row-lock ordering for concurrent writers, and the fast path for high-rate appends. (The append-only
triggers are DDL, and live in the migration that creates them.)

Lists are passed as *one* parameter (a JSON array that SQLite's ``json_each`` unrolls, a PostgreSQL
array for ``= ANY``) rather than one parameter per element: statements stay cacheable and no list is
too long for the driver's parameter limit.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import json
import operator
import random
import re
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from rmtc.errors import InvalidInput
from rmtc.store.sql import codec

# \u0000 not preceded by an escaped backslash.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

#: SQLite result codes and PostgreSQL SQLSTATEs that mean "another writer is in the way, retry".
_SQLITE_BUSY_CODES = frozenset({5, 6, 261, 262, 517})  # BUSY, LOCKED and their extended codes
_PG_RETRY_STATES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock not available


def _json_text(text: str) -> Any:
    """A stored JSON text back as values. orjson reads it in a third of the time of ``json``'s C
    scanner, and a trace decodes a thousand asset records; what it refuses (integers beyond 64 bits,
    lone surrogates: JSON that Python writes) goes to ``json.loads``, which reads it or says what is
    wrong."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps(value: Any) -> str:
    """The one JSON text form: sorted keys, no spaces. NaN and NUL characters are refused here, on both
    backends, because PostgreSQL's jsonb cannot hold them (the check is on the text, so it costs one
    regular-expression scan rather than a walk over every value)."""
    if type(value) is dict and not value:  # most attrs: a batch write serialises millions of them
        return "{}"
    try:
        out = _ENCODER.encode(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"cannot record {str(value)[:80]!r} as JSON: {exc}", hint=_JSON_HINT) from None
    if "\\u0000" in out and _JSON_NUL.search(out):
        raise InvalidInput(f"{out[:80]} holds a NUL character, which the store cannot keep", hint=_JSON_HINT)
    return out


_JSON_HINT = "use JSON values: text without NUL characters, finite numbers, lists and mappings"


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every call: json.dumps with options builds a new one each time, which costs a
# third of serialising a small mapping.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
)


def field_name(name: str) -> str:
    """Check a JSON field name before it is written into SQL text (it is never a bound parameter, so
    the database can match it against expression indexes)."""
    if not _FIELD_NAME.match(name):
        raise InvalidInput(f"cannot filter on field {name!r}", hint="field names are letters, digits and _")
    return name


#: What :meth:`SqlDialect.pipeline` yields: ``send(sql, params)``, which returns the function that
#: gives the statement's rows.
Send = Callable[[str, Sequence[Any]], Callable[[], list[Any]]]

#: Set in a connection's ``info`` while :meth:`Database.reading <rmtc.store.sql.engine.Database.reading>`
#: shares its transaction among reads: one that changes a setting for the rest of the transaction
#: gives it back (:meth:`SqlDialect.probing_indexes`).
SHARED_READ = "rmtc_shared_read"


def driver_rows(conn: sa.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """The driver's own rows of ``sql`` (``exec_driver_sql``): reads of thousands of rows (a walk's
    levels) skip SQLAlchemy's ``Row`` for each. Errors are SQLAlchemy's either way, so the store
    translates them alike."""
    result = conn.exec_driver_sql(sql, params)
    error = conn.dialect.loaded_dbapi.Error
    try:
        with _as_sqlalchemy_error(error, sql, params):
            return list(result.cursor.fetchall())
    finally:
        result.close()


def _immediately(conn: sa.Connection) -> Send:
    """A :data:`Send` that runs each statement there and then."""

    def send(sql: str, params: Sequence[Any]) -> Callable[[], list[Any]]:
        rows = driver_rows(conn, sql, params)
        return lambda: rows

    return send


@contextlib.contextmanager
def _as_sqlalchemy_error(error: type[Exception], sql: str, params: Sequence[Any] | None) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy's (what ``Database`` translates for users), for the
    calls made on the driver itself."""
    try:
        yield
    except error as exc:
        raise sa.exc.DBAPIError.instance(sql, params, exc, error) from exc


class SqlDialect(abc.ABC):
    """The constructs of one backend. Get one with :func:`for_engine`."""

    name: str

    @abc.abstractmethod
    def insert(self, table: sa.Table) -> Any:
        """An INSERT that supports ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""

    @abc.abstractmethod
    def in_list(self, column: Any, values: Iterable[Any]) -> ColumnElement[bool]: ...

    @abc.abstractmethod
    def json_equals(self, column: Any, name: str, value: Any) -> ColumnElement[bool]: ...

    def contains_ci(self, column: Any, text: str) -> ColumnElement[bool]:
        """Case-insensitive "contains", with ``%`` and ``_`` in ``text`` taken literally."""
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches: ColumnElement[bool] = column.ilike(f"%{escaped}%", escape="\\")
        return matches

    @abc.abstractmethod
    def is_retryable(self, orig: BaseException | None) -> bool: ...

    def lock_ordered(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        order: Sequence[str],
    ) -> tuple[Sequence[str], list[tuple[Any, ...]]]:
        """Columns and rows ready for an insert that keeps their ``seq`` in the given order.

        SQLite has one writer at a time, so rows go in as given. PostgreSQL writers run side by side:
        two batches inserting the same keys in different orders would deadlock on each other's
        uncommitted rows. There the rows get their ``seq`` values up front (a first column), in the
        given order, and are inserted sorted by the ``order`` columns, so every writer takes its row
        locks in the same order.
        """
        return columns, rows

    def driver_rows(
        self, table: sa.Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """``rows`` (column -> value, as SQLAlchemy would take them) as tuples of driver-ready values in
        ``columns`` order, for :meth:`insert_new_in_order`: ids as :meth:`raw_id`, times as
        :meth:`raw_time`, JSON as its text. The values are taken in one C-level call per row, and only
        the columns that need it are converted."""
        take = operator.itemgetter(*columns)
        convert = [(i, f) for i, name in enumerate(columns) if (f := self._to_driver(table.c[name].type))]
        out = []
        for row in rows:
            values = list(take(row)) if len(columns) > 1 else [take(row)]
            for i, f in convert:
                if (v := values[i]) is not None:
                    values[i] = f(v)
            out.append(tuple(values))
        return out

    def _to_driver(self, column_type: Any) -> Any:
        """The conversion to a driver-ready value for this column type, or None."""
        if isinstance(column_type, sa.Uuid):
            return self.raw_id
        if isinstance(column_type, sa.JSON):
            return dumps
        impl = getattr(column_type, "impl", column_type)
        if isinstance(impl, sa.DateTime):
            return self._time_converter()
        return None

    def _time_converter(self) -> Any:
        # A batch's rows mostly share a few instants (the write's clock reading): convert each once.
        # A naive datetime never equals an aware one, so it still reaches the check.
        seen: dict[datetime, Any] = {}

        def to_driver(value: datetime) -> Any:
            text = seen.get(value)
            if text is None:
                text = seen[value] = self.raw_time(codec.aware(value, "timestamp"))
            return text

        return to_driver

    @abc.abstractmethod
    def insert_new(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        returning: str,
    ) -> list[Any]:
        """Insert the rows (driver-ready values in ``columns`` order, see :meth:`driver_rows`) that do
        not clash with a unique key (``ON CONFLICT DO NOTHING``), in the given order, and return the
        ``returning`` column of those inserted, as the driver gives it (the batch-write path)."""

    def insert_new_in_order(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        returning: str,
        order: Sequence[str],
    ) -> list[Any]:
        """:meth:`insert_new` for concurrent writers: the rows keep their ``seq`` in the given order,
        and row locks are taken in the order of the ``order`` columns (text or uuid; NULL sorts as
        ``''``), as :meth:`lock_ordered` explains. Returns the ``returning`` column of the rows inserted,
        as the driver gives it, in no particular order."""
        if not rows:
            return []
        columns, rows = self.lock_ordered(conn, table, columns, rows, order)
        return self.insert_new(conn, table, columns, rows, returning)

    def upsert(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        update: Sequence[str] = (),
    ) -> None:
        """Insert rows of driver-ready values; a row whose primary key is taken updates the ``update``
        columns of the stored one instead (or is skipped, when there are none). SQLite: one
        ``executemany`` (no round trips to save)."""
        if not rows:
            return
        conn.exec_driver_sql(
            f"{self._insert_values(table, columns)} {_on_conflict(table, update)}", list(rows)
        )

    def insert_fresh(
        self, conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Insert rows of driver-ready values whose keys no stored row can hold (rows of entities
        created in this transaction): no conflict clause to evaluate, and PostgreSQL takes a large
        batch as a ``COPY``. SQLite: one ``executemany``."""
        if rows:
            conn.exec_driver_sql(self._insert_values(table, columns), list(rows))

    #: The driver's placeholder, for :meth:`bulk_insert`.
    placeholder = "?"

    def bulk_insert(self, conn: sa.Connection, table: sa.Table, rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows of *driver-ready* values (see :meth:`raw_id`, :meth:`raw_time`) in one
        ``executemany``, skipping SQLAlchemy's per-row processing: the path for high-rate appends
        (metric points), where that processing costs several times the insert itself."""
        columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
        conn.exec_driver_sql(self._insert_values(table, columns), list(rows))

    def _insert_values(self, table: sa.Table, columns: Sequence[str]) -> str:
        """``INSERT INTO table (columns) VALUES (placeholders)``, for one ``executemany`` of
        driver-ready rows. Table and column names come from the schema, never from input."""
        marks = ", ".join([self.placeholder] * len(columns))
        return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608

    def raw_id(self, value: uuid.UUID) -> Any:
        return value

    def raw_time(self, value: datetime) -> Any:
        return value.astimezone(UTC)

    # The inverse conversions, for rows selected without SQLAlchemy's type processing (walks read
    # tens of thousands of edges; this is several times cheaper per row).
    def id_of(self, raw: Any) -> uuid.UUID:
        return raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))

    def time_of(self, raw: Any) -> datetime:
        return (
            raw.astimezone(UTC) if isinstance(raw, datetime) else datetime.fromisoformat(raw).astimezone(UTC)
        )

    def json_of(self, raw: Any) -> Any:
        if isinstance(raw, str):
            return {} if raw == "{}" else _json_text(raw)
        return json.loads(raw) if isinstance(raw, bytes) else raw

    # Reads hot enough to skip SQLAlchemy's statement building (walks, loading the entities a trace
    # reached) are SQL text run with ``exec_driver_sql``; a list is still one parameter.
    @abc.abstractmethod
    def raw_in(self, column: str) -> str:
        """SQL text: ``column`` is one of the values of the one list parameter (see :meth:`raw_list`),
        written with the driver's placeholder."""

    @abc.abstractmethod
    def raw_list(self, values: Iterable[Any]) -> Any:
        """The parameter of :meth:`raw_in` and :meth:`raw_table` for driver-ready values
        (:meth:`raw_id` ids, integers)."""

    def fields_text(self, prefix: str) -> str:
        """SQL text: the ``fields`` column (of the table ``prefix`` names, ``"f."``) as JSON text, for
        raw selects of many entities."""
        return codec.raw_json(f"{prefix}fields")

    @abc.abstractmethod
    def raw_table(self, alias: str) -> str:
        """SQL text: a table ``alias`` of the one list parameter's elements, ``value``, with their
        0-based position in the list, ``key``."""

    # A walk keeps the ids it reaches as text of 32 hex digits on both backends (what SQLite stores):
    # it mostly hashes them and sends them back as the next level's list, and text is hashed in C and
    # packed into that list in C (PostgreSQL: :class:`UuidArray`), where PostgreSQL's ``uuid.UUID`` was
    # hashed in Python and dumped element by element (several milliseconds of a thousand-entity trace).
    def hex_id(self, column: str) -> str:
        """SQL text: the id ``column`` as 32 lowercase hex digits."""
        return column

    def hex_list(self, values: Sequence[str | None]) -> Any:
        """The one list parameter of :meth:`hex_table`: ids as 32 hex digits (``None`` where a
        ``sparse`` list leaves one out)."""
        return self.raw_list(values)

    def hex_table(self, alias: str, *, sparse: bool = False) -> str:
        """:meth:`raw_table` of a :meth:`hex_list`: ``value`` is the id (a column's type). A
        ``sparse`` list holds ``None`` in the places of ids left out, which keep the others'
        positions and match nothing."""
        return self.raw_table(alias)  # SQLite: a JSON null is an SQL NULL, which no id equals

    @contextlib.contextmanager
    def probing_indexes(self, conn: sa.Connection, send: Send | None = None) -> Iterator[None]:
        """Inside, answer joins from a list of ids by probing indexes for each id (a walk's level: a
        frontier of ids joined to the edges): what the graph walks need whatever the tables' size,
        where a cost-based planner may prefer hashing a whole table. Given a :meth:`pipeline`'s
        ``send``, the settings go down that pipeline with the walk's statements, without round trips
        of their own."""
        yield

    @contextlib.contextmanager
    def pipeline(self, conn: sa.Connection) -> Iterator[Send]:
        """``send(sql, params)`` for statements whose rows are read later, through the function it
        returns (the driver's own rows). PostgreSQL runs each statement while the caller is still
        busy with the rows of the one before: a walk decodes a level's entities while the server
        computes the next level. SQLite runs it there and then."""

        yield _immediately(conn)


class SqliteDialect(SqlDialect):
    name = "sqlite"

    @staticmethod
    def configure(dbapi_conn: Any, *, synchronous: str, busy_timeout_ms: int) -> None:
        """The pragmas of every new connection (see :mod:`rmtc.store.sql.engine` for why).

        The busy timeout comes first, so that switching a new file to WAL (which needs a moment of
        exclusive access) waits for other processes opening the same store instead of failing.
        """
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin event issues BEGIN [IMMEDIATE]
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cur.execute("PRAGMA foreign_keys = ON")
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                _retry_busy(lambda: cur.execute("PRAGMA journal_mode = WAL"))
            cur.execute(f"PRAGMA synchronous = {synchronous}")
        finally:
            cur.close()

    #: A bulk write (:data:`rmtc.store.sql.write.BULK_ROWS` entities and edges or more) keeps a page
    #: cache of ``bulk_cache_kib`` until its connection goes back to the pool (:meth:`end_bulk`).
    #: SQLite's default 2 MB thrashes there: random UUID keys spread the rows over every page of each
    #: index, and pages evicted dirty are written to the WAL, read back and written again. 256 MB: at a
    #: million entities the edge indexes outgrow 64 MB, and a batch of a million ``member_of`` edges
    #: took 55 s with 64 MB against 35 s with 1 GB. Small writes (an ingest records 500 files at a
    #: time) keep the default, and with it their memory.
    bulk_cache_kib = 262_144

    @classmethod
    def begin_bulk(cls, dbapi_conn: Any, info: dict[str, Any]) -> None:
        """Ready a connection for a bulk write, before its transaction begins (SQLite ignores
        ``foreign_keys`` inside one): the large page cache, and no per-row foreign-key checks. The
        usual cache size, kept in ``info``, marks the connection as one to give both back to.

        Why the checks can go: a bulk write is :func:`rmtc.store.sql.write.write_batch`, which refuses
        every row naming no entity with set-based checks of its own in the same transaction (the ends
        of its edges, the runs of its statuses; its fact rows and run parameters are those of
        entities it inserted or read), and SQLite's one writer and the append-only entities leave
        nothing to change between those checks and the commit. The per-row checks repeated them: two
        lookups of the entity index for each edge, a fifth to a quarter of a bulk load's edge inserts
        at scale 0.5 (``bench/NOTES.md``). PostgreSQL checks those rows with statement-level
        triggers instead (migration 0005); every other write on SQLite keeps its foreign keys."""
        info["rmtc_cache_size"] = dbapi_conn.execute("PRAGMA cache_size").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA cache_size = -{int(cls.bulk_cache_kib)}")
        dbapi_conn.execute("PRAGMA foreign_keys = OFF")

    @staticmethod
    def end_bulk(dbapi_conn: Any, info: dict[str, Any]) -> bool:
        """Give a connection back its foreign-key checks and its usual page cache (and the memory)
        once its bulk write is over, committed or not. False if that failed: the connection must
        not be used again (the engine's checkin handler invalidates it)."""
        size = info.pop("rmtc_cache_size", None)
        if size is None or dbapi_conn is None:
            return True
        import sqlite3

        try:
            dbapi_conn.execute("PRAGMA foreign_keys = ON")
            dbapi_conn.execute(f"PRAGMA cache_size = {int(size)}")
        except sqlite3.ProgrammingError:  # a closed connection has nothing to restore
            return True
        except sqlite3.Error:
            return False
        return True

    def insert(self, table: sa.Table) -> Any:
        return sqlite.insert(table)

    def in_list(self, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
        items = [_sqlite_value(v) for v in values]
        if not items:
            return sa.false()
        each = sa.func.json_each(sa.literal(json.dumps(items), sa.Text())).table_valued("value")
        within: ColumnElement[bool] = column.in_(sa.select(each.c.value))
        return within

    def json_equals(self, column: Any, name: str, value: Any) -> ColumnElement[bool]:
        path: ColumnElement[str] = sa.literal_column(f"'$.{field_name(name)}'")
        extracted = sa.func.json_extract(column, path)
        kind = sa.func.json_type(column, path)
        if value is None:
            return kind == "null"
        if isinstance(value, bool):
            return kind == ("true" if value else "false")
        if isinstance(value, int | float):
            return sa.and_(extracted == value, kind.in_(["integer", "real"]))
        if isinstance(value, str):
            return sa.and_(extracted == value, kind == "text")
        return sa.and_(extracted == dumps(value), kind.in_(["object", "array"]))

    def insert_new(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        returning: str,
    ) -> list[Any]:
        # One executemany of driver-ready values: SQLAlchemy's per-row parameter processing, and
        # RETURNING (which SQLite answers row by row), cost several times the insert itself. The write
        # transaction holds SQLite's one write lock, so the rows inserted are exactly those whose seq
        # is above the largest seq before the insert.
        before = conn.exec_driver_sql(f"SELECT coalesce(max(seq), 0) FROM {table.name}").scalar_one()  # noqa: S608
        conn.exec_driver_sql(f"{self._insert_values(table, columns)} ON CONFLICT DO NOTHING", rows)
        col = table.c[returning].name
        driver = conn.connection.driver_connection
        assert driver is not None
        # Read straight from the driver: a batch inserts up to a hundred thousand rows.
        found = driver.execute(f"SELECT {col} FROM {table.name} WHERE seq > ? ORDER BY seq", (before,))  # noqa: S608
        return [r[0] for r in found.fetchall()]

    raw_id = staticmethod(codec.hex_of)

    def raw_time(self, value: datetime) -> Any:
        # The text form SQLAlchemy's SQLite DateTime writes (and reads back), in UTC.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def id_of(self, raw: Any) -> uuid.UUID:
        return codec.uuid_of(raw)

    def time_of(self, raw: Any) -> datetime:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)

    def json_of(self, raw: Any) -> Any:
        return {} if raw == "{}" else _json_text(raw)

    def raw_in(self, column: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(?))"  # noqa: S608 - a schema column name

    def raw_list(self, values: Iterable[Any]) -> Any:
        return json.dumps(list(values))

    def raw_table(self, alias: str) -> str:
        return f"json_each(?) AS {alias}"

    def is_retryable(self, orig: BaseException | None) -> bool:
        code = getattr(orig, "sqlite_errorcode", None)
        if code in _SQLITE_BUSY_CODES:
            return True
        text = str(orig).lower()
        return "database is locked" in text or "database table is locked" in text or "busy" in text


class PostgresDialect(SqlDialect):
    name = "postgresql"
    placeholder = "%s"

    #: From this many rows on, :meth:`insert_new_in_order` goes through ``COPY`` (below it, one
    #: statement with array parameters is faster than creating and filling a temporary table).
    copy_min_rows = 5000

    def __init__(self) -> None:
        self._sequences: dict[str, str] = {}
        self._temporary: bool | None = None

    def _may_create_temporary_tables(self, conn: sa.Connection) -> bool:
        # PUBLIC may by default; a facility's DBA may have revoked it (then the array path serves).
        if self._temporary is None:
            query = "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
            self._temporary = bool(conn.exec_driver_sql(query).scalar_one())
        return self._temporary

    def lock_ordered(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        order: Sequence[str],
    ) -> tuple[Sequence[str], list[tuple[Any, ...]]]:
        if len(rows) < 2:
            return columns, rows
        columns = ("seq", *columns)
        numbered = self._numbered(conn, table, rows)
        _sort_for_locks(table, columns, numbered, order)
        return columns, numbered

    def _numbered(
        self, conn: sa.Connection, table: sa.Table, rows: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """The rows with a new ``seq`` value first, ascending in the rows' order."""
        seqs = self._next_seqs(conn, table, len(rows))
        return [(s, *row) for s, row in zip(seqs, rows, strict=True)]

    def _next_seqs(self, conn: sa.Connection, table: sa.Table, n: int) -> list[int]:
        """``n`` new values of the table's ``seq``, ascending (concurrent writers may interleave)."""
        sequence = self._sequences.get(table.name)
        if sequence is None:  # pg_get_serial_sequence per row costs more than nextval itself
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, 'seq')"), {"t": table.name}
            ).scalar_one()
            self._sequences[table.name] = sequence
        # Straight from the driver, in binary: a bulk load numbers a hundred thousand rows a batch, and
        # SQLAlchemy's result took a second and a half for that at scale 0.1 of the scale benchmark.
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor(binary=True) as cur:
            cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (sequence, n))
            return sorted(r[0] for r in cur.fetchall())

    def insert_new_in_order(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        returning: str,
        order: Sequence[str],
    ) -> list[Any]:
        # Large batches: first a binary COPY straight into the table, which succeeds when nothing in
        # the batch clashes with a unique key (a bulk load of new facts); otherwise binary COPY into a
        # temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING sorted by the lock
        # order (or, without the privilege to create one, the array path).
        if len(rows) < self.copy_min_rows:
            return super().insert_new_in_order(conn, table, columns, rows, returning, order)
        columns = ["seq", *columns]
        numbered = self._numbered(conn, table, rows)
        found = self._copy_if_all_new(conn, table, columns, numbered, returning, order)
        if found is not None:
            return found
        if not self._may_create_temporary_tables(conn):
            _sort_for_locks(table, columns, numbered, order)
            return self.insert_new(conn, table, columns, numbered, returning)
        return self._insert_through_temporary(conn, table, columns, numbered, returning, order)

    def _copy_if_all_new(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        returning: str,
        order: Sequence[str],
    ) -> list[Any] | None:
        """COPY the rows (``seq`` first) straight into the table in lock order, inside a savepoint; the
        ``returning`` column of every row, or None (nothing written) if one clashed with a unique key.

        Why: a bulk load is nearly all new rows, and this is the write PostgreSQL does fastest. The
        server inserts while the client is still encoding the rest (the staging path waits for the
        whole batch, then copies it once more into the table) and skips the speculative insertion of
        ``ON CONFLICT``. With the statement-level entity check of migration 0005, the server's CPU for
        the scale benchmark's build at scale 0.2 went from 53-58 s to 27-29 s. A batch that repeats a
        stored row costs the rows copied before the clash, then takes the staging path, which sorts
        out what is new. Rows still go in lock order, so concurrent writers of the same keys wait for
        each other instead of deadlocking; the second one's COPY fails on the first one's rows when
        it commits, and falls back.
        """
        _sort_for_locks(table, columns, rows, order)
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cur:
            cur.execute("SAVEPOINT rmtc_copy")
            try:
                self._copy_binary(cur, table, columns, rows)
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != _PG_UNIQUE_VIOLATION:
                    raise
                cur.execute("ROLLBACK TO SAVEPOINT rmtc_copy")
                cur.execute("RELEASE SAVEPOINT rmtc_copy")
                return None
            cur.execute("RELEASE SAVEPOINT rmtc_copy")
        at = list(columns).index(returning)
        return [row[at] for row in rows]

    def insert_fresh(
        self, conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        if len(rows) < self.copy_min_rows:
            if rows:
                self._insert_unnested(conn, table, columns, rows, "")
            return
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cur:
            self._copy_binary(cur, table, columns, rows)

    @staticmethod
    def _copy_binary(
        cur: Any, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        """Binary ``COPY`` of driver-ready rows (values in ``columns`` order, JSON as text) into the
        table; a failure raised as SQLAlchemy would raise it (the store translates and retries)."""
        names = ", ".join(columns)  # table and column names come from the schema, never from input
        sql = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
        cur.adapters.register_dumper(None, _json_text_dumper())
        with _as_sqlalchemy_error(type(cur.connection).Error, sql, None), cur.copy(sql) as copy:
            copy.set_types([_pg_copy_type(table.c[name].type) for name in columns])
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def _insert_through_temporary(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        returning: str,
        order: Sequence[str],
    ) -> list[Any]:
        # Binary COPY into a temporary table, then one INSERT ... SELECT sorted by the lock order (a
        # sort in the server instead of Python's, and no arrays of a hundred thousand elements built
        # element by element).
        types = [_pg_array_type(table.c[name].type) for name in columns]
        names = ", ".join(columns)  # table and column names come from the schema, never from input
        temp = f"rmtc_new_{table.name}"
        selects = ", ".join(
            f"{n}::{cast}" if cast else n for n, (_, cast) in zip(columns, types, strict=True)
        )
        ordering = ", ".join(_pg_order_term(table.c[name]) for name in order)
        driver = conn.connection.driver_connection
        assert driver is not None
        sql = ""
        try:
            with driver.cursor() as cur:
                sql = f"CREATE TEMPORARY TABLE {temp} ("
                sql += ", ".join(f"{n} {t}" for n, (t, _) in zip(columns, types, strict=True))
                cur.execute(sql + ") ON COMMIT DROP")
                sql = f"COPY {temp} ({names}) FROM STDIN (FORMAT BINARY)"
                with cur.copy(sql) as copy:
                    copy.set_types([t for t, _ in types])
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
                # The sort would spill to disk at the default work_mem, and JIT-compiling this one
                # statement costs more than it saves; both settings are restored after it.
                cur.execute("SELECT current_setting('work_mem'), current_setting('jit')")
                saved = cur.fetchone()
                cur.execute("SELECT set_config('work_mem', '128MB', true), set_config('jit', 'off', true)")
                sql = f"INSERT INTO {table.name} ({names}) SELECT {selects} FROM {temp} "  # noqa: S608
                sql += f"ORDER BY {ordering} "
                sql += f"ON CONFLICT DO NOTHING RETURNING {returning}"
                cur.execute(sql.encode())
                found = [r[0] for r in cur.fetchall()]
                cur.execute("SELECT set_config('work_mem', %s, true), set_config('jit', %s, true)", saved)
                cur.execute(f"DROP TABLE {temp}")
        except driver.Error as exc:  # as SQLAlchemy would raise it: the store translates and retries
            raise sa.exc.DBAPIError.instance(sql, None, exc, type(driver).Error) from exc
        return found

    def insert_new(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        returning: str,
    ) -> list[Any]:
        found = self._insert_unnested(
            conn, table, columns, rows, f"ON CONFLICT DO NOTHING RETURNING {returning}"
        )
        return [row[0] for row in found]

    def upsert(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        update: Sequence[str] = (),
    ) -> None:
        # As insert_new: an executemany is one statement per row on PostgreSQL.
        if rows:
            self._insert_unnested(conn, table, columns, rows, _on_conflict(table, update))

    def _insert_unnested(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        tail: str,
    ) -> list[tuple[Any, ...]]:
        """``INSERT ... SELECT FROM unnest(...)`` of the rows, one array parameter per column, then
        ``tail`` (the conflict clause, any RETURNING); the rows it returns. A short statement whatever
        the batch size (a multi-row VALUES list of 500 rows costs more to build and parse than to
        execute), and binary parameters: psycopg's C dumpers, instead of quoting every element."""
        arrays, selects, params = [], [], []
        for i, name in enumerate(columns):
            sql_type, cast = _pg_array_type(table.c[name].type)
            arrays.append([row[i] for row in rows])
            selects.append(f"t.{name}::{cast}" if cast else f"t.{name}")
            params.append(f"%b::{sql_type}[]")
        names = ", ".join(columns)  # table and column names come from the schema, never from input
        sql = f"INSERT INTO {table.name} ({names}) SELECT {', '.join(selects)} "
        sql += f"FROM unnest({', '.join(params)}) AS t({names}) {tail}"
        driver = conn.connection.driver_connection
        assert driver is not None
        # Raised as SQLAlchemy would raise it: the store translates and retries.
        with _as_sqlalchemy_error(type(driver).Error, sql, None), driver.cursor() as cur:
            cur.execute(sql.encode(), arrays)
            return cur.fetchall() if cur.description is not None else []

    def bulk_insert(self, conn: sa.Connection, table: sa.Table, rows: Sequence[Sequence[Any]]) -> None:
        # COPY, in the connection's current transaction: several times faster than any INSERT form.
        columns = ", ".join(c.name for c in table.columns if not (c.primary_key and c.autoincrement is True))
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cur, cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)

    @staticmethod
    def configure(dbapi_conn: Any) -> None:
        """What every new connection needs: the dumper of :class:`UuidArray` (a walk's id lists)."""
        driver = getattr(dbapi_conn, "driver_connection", dbapi_conn)
        driver.adapters.register_dumper(UuidArray, _uuid_array_dumper())

    def raw_in(self, column: str) -> str:
        # %b: a binary parameter, dumped by psycopg's C code (text costs ~7 us an id, a walk sends
        # thousands).
        return f"{column} = ANY(%b)"

    def raw_list(self, values: Iterable[Any]) -> Any:
        return list(values)

    @contextlib.contextmanager
    def pipeline(self, conn: sa.Connection) -> Iterator[Send]:
        # psycopg's pipeline mode: a statement is sent at once and its rows are read when asked for.
        import psycopg

        if not psycopg.Pipeline.is_supported():  # a libpq older than 14: one statement at a time
            with super().pipeline(conn) as one_at_a_time:
                yield one_at_a_time
            return
        driver: Any = conn.connection.driver_connection
        error = conn.dialect.loaded_dbapi.Error

        def send(sql: str, params: Sequence[Any]) -> Callable[[], list[Any]]:
            cursor = driver.cursor()
            with _as_sqlalchemy_error(error, sql, params):
                # Rows in the binary format: the same values, read with less work on both sides.
                cursor.execute(sql, params, binary=True)

            def rows() -> list[Any]:
                with _as_sqlalchemy_error(error, sql, params):
                    try:
                        fetched: list[Any] = cursor.fetchall()
                        return fetched
                    finally:
                        cursor.close()

            return rows

        with _as_sqlalchemy_error(error, "", ()), driver.pipeline():
            yield send

    @contextlib.contextmanager
    def probing_indexes(self, conn: sa.Connection, send: Send | None = None) -> Iterator[None]:
        # Local to the transaction: a read connection's ends with the read, so the settings are given
        # back only where the transaction goes on to other reads (Database.reading), as they were
        # (read in the same statement that changes them). Parallel workers cost more to start than
        # such a join takes.
        run = send or _immediately(conn)
        saved = run(_PROBE, ())
        yield
        before = saved()[0][: len(_PROBING)]
        if conn.info.get(SHARED_READ):  # read with the pipeline's last results, if there is one
            given_back = run(_UNPROBE, before)
            if send is None:
                given_back()

    def fields_text(self, prefix: str) -> str:
        # Kept as text when written (migration 0007): jsonb's output was most of the cost of a row.
        return f"{prefix}fields_text"

    def raw_table(self, alias: str) -> str:
        return _pg_unnested(alias)

    def hex_id(self, column: str) -> str:
        return f"encode(uuid_send({column}), 'hex')"

    def hex_list(self, values: Sequence[str | None]) -> Any:
        return UuidArray.of(values)

    def hex_table(self, alias: str, *, sparse: bool = False) -> str:
        # A UuidArray is typed uuid[] even when it holds nothing but NULLs.
        return _pg_unnested(alias, " WHERE value IS NOT NULL" if sparse else "")

    def in_list(self, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
        items = list(values)
        if not items:
            return sa.false()
        within: ColumnElement[bool] = column == sa.any_(sa.literal(items, postgresql.ARRAY(column.type)))
        return within

    def json_equals(self, column: Any, name: str, value: Any) -> ColumnElement[bool]:
        field = column.op("->")(sa.literal_column(f"'{field_name(name)}'"))
        equal: ColumnElement[bool] = field == sa.cast(sa.literal(dumps(value), sa.Text()), postgresql.JSONB())
        return equal

    def is_retryable(self, orig: BaseException | None) -> bool:
        return getattr(orig, "sqlstate", None) in _PG_RETRY_STATES


def _pg_unnested(alias: str, where: str = "") -> str:
    """:meth:`PostgresDialect.raw_table`: the list parameter's elements with their 0-based positions
    (``where``: a condition on ``value``)."""
    elements = "unnest(%b) WITH ORDINALITY AS u(value, ordinality)"
    return f"(SELECT value, ordinality - 1 AS key FROM {elements}{where}) AS {alias}"  # noqa: S608 - no input


#: The planner settings of :meth:`PostgresDialect.probing_indexes`.
_PROBING = {"enable_hashjoin": "off", "enable_mergejoin": "off", "max_parallel_workers_per_gather": "0"}
#: Read them and change them, in one statement; set them back.
_PROBE = "SELECT " + ", ".join(
    [f"current_setting('{name}')" for name in _PROBING]
    + [f"set_config('{name}', '{value}', true)" for name, value in _PROBING.items()]
)
_UNPROBE = "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in _PROBING)


def _retry_busy(fn: Any, attempts: int = 50) -> Any:
    import sqlite3

    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt + 1 == attempts:
                raise
            time.sleep(min(0.01 * 2**attempt, 0.5) * random.uniform(0.5, 1.5))
    return None  # pragma: no cover


#: Column type -> (array element type of the parameter, cast in the select list); most specific first.
_PG_ARRAY_TYPES: tuple[tuple[type[Any], str, str], ...] = (
    (sa.Uuid, "uuid", ""),
    (sa.JSON, "text", "jsonb"),
    (sa.DateTime, "timestamptz", ""),
    (sa.BigInteger, "bigint", ""),
    (sa.Integer, "bigint", "integer"),
    (sa.Float, "float8", ""),
    (sa.String, "text", ""),
)


def _on_conflict(table: sa.Table, update: Sequence[str]) -> str:
    """The ``ON CONFLICT`` clause of :meth:`SqlDialect.upsert` (schema names only)."""
    if not update:
        return "ON CONFLICT DO NOTHING"
    key = ", ".join(c.name for c in table.primary_key.columns)
    sets = ", ".join(f"{c} = excluded.{c}" for c in update)
    return f"ON CONFLICT ({key}) DO UPDATE SET {sets}"


def _pg_array_type(column_type: Any) -> tuple[str, str]:
    base = column_type.impl if isinstance(column_type, sa.types.TypeDecorator) else column_type
    for python_type, sql_type, cast in _PG_ARRAY_TYPES:
        if isinstance(base, python_type):
            return sql_type, cast
    raise TypeError(f"no array type for {column_type!r}")  # pragma: no cover - the schema is fixed


#: Column type -> the PostgreSQL type a binary COPY straight into the table sends; most specific first.
_PG_COPY_TYPES: tuple[tuple[type[Any], str], ...] = (
    (sa.Uuid, "uuid"),
    (sa.JSON, "jsonb"),
    (sa.DateTime, "timestamptz"),
    (sa.BigInteger, "int8"),
    (sa.Integer, "int4"),
    (sa.Float, "float8"),
    (sa.String, "text"),
)
_PG_UNIQUE_VIOLATION = "23505"


def _pg_copy_type(column_type: Any) -> str:
    base = column_type.impl if isinstance(column_type, sa.types.TypeDecorator) else column_type
    for python_type, sql_type in _PG_COPY_TYPES:
        if isinstance(base, python_type):
            return sql_type
    raise TypeError(f"no COPY type for {column_type!r}")  # pragma: no cover - the schema is fixed


class UuidArray(bytes):
    """A ``uuid[]`` in PostgreSQL's binary array format, made from ids as 32 hex digits (``None`` for a
    NULL): a walk's frontier. psycopg would dump a list of ``uuid.UUID`` element by element in Python
    (2-3 ms of a trace), and an array literal costs the server a parse per element when the statement
    is planned (about 1 ms per 1,600 ids); this is one ``bytes.fromhex`` and the server copies it."""

    _HEADER = struct.Struct("!iiIii")  # dimensions, has nulls, element type, length, lower bound

    @classmethod
    def of(cls, values: Sequence[str | None]) -> UuidArray:
        if not values:
            return cls(struct.pack("!iiI", 0, 0, _UUID_OID))
        nulls = None in values
        if nulls:  # each element: its length (16, or -1 for a NULL), then its bytes
            body = "".join([f"00000010{v}" if v is not None else "ffffffff" for v in values])
        else:
            body = "00000010" + "00000010".join(values)  # type: ignore[arg-type]
        return cls(cls._HEADER.pack(1, nulls, _UUID_OID, len(values), 1) + bytes.fromhex(body))


_UUID_OID = 2950


@functools.cache
def _uuid_array_dumper() -> type[Any]:
    """psycopg's dumper of :class:`UuidArray`: its bytes as they are, typed ``uuid[]``. Built on first
    use: psycopg is an optional extra."""
    from psycopg import postgres
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class UuidArrayDumper(Dumper):
        format = Format.BINARY
        oid = postgres.types["uuid"].array_oid

        def dump(self, obj: Any) -> bytes:
            return bytes(obj)

    return UuidArrayDumper


@functools.cache
def _json_text_dumper() -> type[Any]:
    """A psycopg dumper of JSON *text* (what :func:`dumps` wrote) as binary ``jsonb``: the version
    byte, then the text, which the server parses. psycopg's own jsonb dumper serialises Python values,
    and would send our text as one JSON string. Built on first use: psycopg is an optional extra."""
    from psycopg import postgres
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class JsonTextDumper(Dumper):
        format = Format.BINARY
        oid = postgres.types["jsonb"].oid

        def dump(self, obj: Any) -> bytes:
            text: str = obj
            return b"\x01" + text.encode()

    return JsonTextDumper


def _sort_for_locks(
    table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]], order: Sequence[str]
) -> None:
    """Sort driver-ready rows (values in ``columns`` order) in place by the ``order`` columns, as
    :func:`_pg_order_term` orders them in the server: text by code point (the order of its UTF-8
    bytes, the "C" collation), NULL as ''; UUIDs by their 128-bit value (the order of their bytes),
    compared as integers in C: comparing the UUIDs themselves (``UUID.__lt__`` is Python) made the
    sort of 100,000 edges ten times slower (1 s)."""
    parts = []
    for name in order:
        i = list(columns).index(name)
        column = table.c[name]
        if isinstance(column.type, sa.Uuid):
            parts.append([row[i].int for row in rows])  # the id columns of a lock order are NOT NULL
        elif column.nullable:
            parts.append([row[i] or "" for row in rows])
        else:
            parts.append([row[i] for row in rows])
    keys = list(zip(*parts, strict=True))
    at = sorted(range(len(rows)), key=keys.__getitem__)
    rows[:] = [rows[j] for j in at]


def _pg_order_term(column: sa.Column[Any]) -> str:
    """An ORDER BY term sorting as :meth:`PostgresDialect.lock_ordered` does in Python: text by code
    point (the "C" collation, whatever the database's), NULL as ''; UUIDs sort alike on both sides."""
    if isinstance(column.type, sa.Uuid):
        return column.name
    term = f"coalesce({column.name}, '')" if column.nullable else column.name
    return f'{term} COLLATE "C"'


def _sqlite_value(value: Any) -> Any:
    # Uuid columns hold 32 lowercase hex digits on SQLite.
    return value.hex if isinstance(value, uuid.UUID) else value


def for_name(name: str) -> SqlDialect:
    if name == "sqlite":
        return SqliteDialect()
    if name == "postgresql":
        return PostgresDialect()
    raise InvalidInput(f"no SQL store for the {name!r} database", hint="use sqlite or postgresql")


def for_engine(engine: sa.Engine) -> SqlDialect:
    return for_name(engine.dialect.name)
