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

import json
import random
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

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


def dumps(value: Any) -> str:
    """The one JSON text form: sorted keys, no spaces. NaN and NUL characters are refused here, on both
    backends, because PostgreSQL's jsonb cannot hold them (the check is on the text, so it costs one
    regular-expression scan rather than a walk over every value)."""
    try:
        out = json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
        )
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


def field_name(name: str) -> str:
    """Check a JSON field name before it is written into SQL text (it is never a bound parameter, so
    the database can match it against expression indexes)."""
    if not _FIELD_NAME.match(name):
        raise InvalidInput(f"cannot filter on field {name!r}", hint="field names are letters, digits and _")
    return name


class SqlDialect:
    """The constructs of one backend. Get one with :func:`for_engine`."""

    name: str

    def insert(self, table: sa.Table) -> Any:
        """An INSERT that supports ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
        raise NotImplementedError

    def in_list(self, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
        raise NotImplementedError

    def json_equals(self, column: Any, name: str, value: Any) -> ColumnElement[bool]:
        raise NotImplementedError

    def contains_ci(self, column: Any, text: str) -> ColumnElement[bool]:
        """Case-insensitive "contains", with ``%`` and ``_`` in ``text`` taken literally."""
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches: ColumnElement[bool] = column.ilike(f"%{escaped}%", escape="\\")
        return matches

    def is_retryable(self, orig: BaseException | None) -> bool:
        raise NotImplementedError

    def lock_ordered(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], key: Any
    ) -> list[dict[str, Any]]:
        """Rows ready for an insert that keeps their ``seq`` in the given order.

        SQLite has one writer at a time, so rows go in as given. PostgreSQL writers run side by side:
        two batches inserting the same keys in different orders would deadlock on each other's
        uncommitted rows. There the rows get their ``seq`` values up front, in the given order, and
        are inserted sorted by ``key``, so every writer takes its row locks in the same order.
        """
        return rows

    def insert_new(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], returning: str
    ) -> list[Any]:
        """Insert the rows that do not clash with a unique key (``ON CONFLICT DO NOTHING``), in the
        given order, and return the ``returning`` column of those inserted (the batch-write path)."""
        stmt = self.insert(table).on_conflict_do_nothing().returning(table.c[returning])
        return list(conn.execute(stmt, rows).scalars())

    #: The driver's placeholder, for :meth:`bulk_insert`.
    placeholder = "?"

    def bulk_insert(self, conn: sa.Connection, table: sa.Table, rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows of *driver-ready* values (see :meth:`raw_id`, :meth:`raw_time`) in one
        ``executemany``, skipping SQLAlchemy's per-row processing: the path for high-rate appends
        (metric points), where that processing costs several times the insert itself."""
        columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
        marks = ", ".join([self.placeholder] * len(columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - names from schema
        conn.exec_driver_sql(sql, list(rows))

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
        return json.loads(raw) if isinstance(raw, str | bytes) else raw


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
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], returning: str
    ) -> list[Any]:
        # One executemany of driver-ready values: SQLAlchemy's per-row parameter processing, and
        # RETURNING (which SQLite answers row by row), cost several times the insert itself. The write
        # transaction holds SQLite's one write lock, so the rows inserted are exactly those whose seq
        # is above the largest seq before the insert.
        columns = list(rows[0])
        converters = [self._to_driver(table.c[name].type) for name in columns]
        names = ", ".join(columns)  # table and column names come from the schema, never from input
        marks = ", ".join("?" * len(columns))
        before = conn.exec_driver_sql(f"SELECT coalesce(max(seq), 0) FROM {table.name}").scalar_one()  # noqa: S608
        values = [
            tuple(
                v if (v := row[name]) is None or f is None else f(v)
                for name, f in zip(columns, converters, strict=True)
            )
            for row in rows
        ]
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608
            values,
        )
        col = table.c[returning].name
        found = conn.exec_driver_sql(
            f"SELECT {col} FROM {table.name} WHERE seq > ? ORDER BY seq",  # noqa: S608
            (before,),
        )
        if isinstance(table.c[returning].type, sa.Uuid):
            return [self.id_of(r[0]) for r in found]
        return [r[0] for r in found]

    def _to_driver(self, column_type: Any) -> Any:
        """The conversion SQLAlchemy would apply to a bound value of this column type, or None."""
        if isinstance(column_type, sa.Uuid):
            return self.raw_id
        if isinstance(column_type, sa.JSON):
            return dumps
        impl = getattr(column_type, "impl", column_type)
        if isinstance(impl, sa.DateTime):
            return self._aware_time
        return None

    def _aware_time(self, value: datetime) -> Any:
        return self.raw_time(codec.aware(value, "timestamp"))

    def raw_id(self, value: uuid.UUID) -> Any:
        return value.hex

    def raw_time(self, value: datetime) -> Any:
        # The text form SQLAlchemy's SQLite DateTime writes (and reads back), in UTC.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def id_of(self, raw: Any) -> uuid.UUID:
        return uuid.UUID(hex=raw)

    def time_of(self, raw: Any) -> datetime:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)

    def json_of(self, raw: Any) -> Any:
        return {} if raw == "{}" else json.loads(raw)

    def is_retryable(self, orig: BaseException | None) -> bool:
        code = getattr(orig, "sqlite_errorcode", None)
        if code in _SQLITE_BUSY_CODES:
            return True
        text = str(orig).lower()
        return "database is locked" in text or "database table is locked" in text or "busy" in text


class PostgresDialect(SqlDialect):
    name = "postgresql"
    placeholder = "%s"

    def lock_ordered(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], key: Any
    ) -> list[dict[str, Any]]:
        if len(rows) < 2:
            return rows
        seqs = conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'seq')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": len(rows)},
        ).scalars()
        numbered = [{**row, "seq": seq} for row, seq in zip(rows, sorted(seqs), strict=True)]
        return sorted(numbered, key=key)

    def insert_new(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], returning: str
    ) -> list[Any]:
        # One array parameter per column, unnested server-side: a short statement whatever the batch
        # size (a multi-row VALUES list of 500 rows costs more to build and parse than to execute).
        columns = list(rows[0])
        arrays, selects, params = [], [], []
        for name in columns:
            column = table.c[name]
            sql_type, cast = _pg_array_type(column.type)
            values = [row[name] for row in rows]
            if cast == "jsonb":
                values = [dumps(v) for v in values]
            arrays.append(values)
            selects.append(f"t.{name}::{cast}" if cast else f"t.{name}")
            params.append(f"%b::{sql_type}[]")
        names = ", ".join(columns)  # table and column names come from the schema, never from input
        sql = f"INSERT INTO {table.name} ({names}) SELECT {', '.join(selects)} "
        sql += f"FROM unnest({', '.join(params)}) AS t({names}) ON CONFLICT DO NOTHING RETURNING {returning}"
        driver = conn.connection.driver_connection
        assert driver is not None
        # Binary parameters: psycopg's C dumpers, instead of quoting every array element as text.
        with driver.cursor() as cur:
            cur.execute(sql.encode(), arrays)
            return [row[0] for row in cur.fetchall()]

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


def _pg_array_type(column_type: Any) -> tuple[str, str]:
    base = column_type.impl if isinstance(column_type, sa.types.TypeDecorator) else column_type
    for python_type, sql_type, cast in _PG_ARRAY_TYPES:
        if isinstance(base, python_type):
            return sql_type, cast
    raise TypeError(f"no array type for {column_type!r}")  # pragma: no cover - the schema is fixed


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
