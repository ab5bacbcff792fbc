"""Conversions at the edge of the SQL store: values checked on the way in, rows turned back into the
protocol's types on the way out, and the opaque paging cursors.

Inputs are checked here, before any SQL, so that both backends refuse the same things with the same
error: naive timestamps (a store keeps UTC and cannot guess the zone) and NUL characters in text
columns (PostgreSQL cannot hold them; SQLite would accept them and the two would disagree). JSON values
are checked as they are serialised (:func:`rmtc.store.sql.dialect.dumps`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from rmtc.core.entities import Entity, from_columns, from_record, to_record
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.store.types import AuditEvent, Edge

if TYPE_CHECKING:
    from rmtc.store.sql.dialect import SqlDialect

T = TypeVar("T")

ENTITY_COLUMNS = (
    "seq",
    "id",
    "project",
    "kind",
    "name",
    "version",
    "key",
    "content_hash",
    "created_at",
    "created_by",
    "fields",
    "attrs",
)


def now() -> datetime:
    return datetime.now(UTC)


def as_id(value: Any, what: str = "id") -> EntityId:
    """An entity id from a UUID (or its text, as the service may pass it)."""
    if isinstance(value, uuid.UUID):
        return EntityId(value)
    try:
        return EntityId(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not a UUID", hint="pass the entity's full id") from None


def as_ids(values: Iterable[Any], what: str = "id") -> list[EntityId]:
    return distinct(as_id(v, what) for v in values)


def distinct(values: Iterable[T]) -> list[T]:
    """Distinct values in first-seen order."""
    return list(dict.fromkeys(values))


def aware(value: datetime, what: str) -> datetime:
    """Refuse naive datetimes: every timestamp the store keeps is an instant."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} {value!r} has no timezone", hint="pass timezone-aware datetimes")
    return value


def text(value: str, what: str) -> str:
    if "\x00" in value:
        raise InvalidInput(f"{what} {value[:80]!r} contains a NUL character", hint="remove it")
    return value


def relation(value: Any) -> Relation:
    try:
        return Relation(value)
    except ValueError:
        return Relation.parse(str(value))


def entity_row(entity: Entity) -> dict[str, Any]:
    """The generic row of an entity (see :func:`rmtc.core.entities.to_record`), checked."""
    rec = to_record(entity)
    label = entity.label
    aware(rec["created_at"], f"created_at of {label}")
    for col in ("name", "project", "created_by", "key", "content_hash", "kind"):
        if rec[col] is not None:
            text(rec[col], f"{col} of {label}")
    return rec


def row_entity(row: Any) -> Entity:
    return from_record(row._mapping)


#: The columns :func:`raw_entities` decodes, in this order.
RAW_ENTITY_COLUMNS = (
    "id",
    "kind",
    "name",
    "project",
    "version",
    "content_hash",
    "created_at",
    "created_by",
    "fields",
    "attrs",
)


def literals(values: Iterable[str]) -> str:
    """Closed-vocabulary names (relations, kinds) as a SQL list of literals, sorted. Only for names
    the code itself defines: no value from input is ever formatted into SQL."""
    return ", ".join(f"'{v}'" for v in sorted(values))


def raw_json(column: str) -> str:
    """A JSON column as text in a raw select, on both backends. psycopg would otherwise parse every
    ``jsonb`` value itself (bytes, with an encoding check each): a trace reads thousands, mostly the
    empty ``{}`` that :meth:`SqlDialect.json_of` answers without parsing."""
    return f"CAST({column} AS TEXT)"


def raw_entity_select(d: SqlDialect, alias: str = "") -> str:
    """The select list of :data:`RAW_ENTITY_COLUMNS` (of table ``alias``, if given), JSON as text."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(
        d.fields_text(prefix) if c == "fields" else raw_json(prefix + c) if c == "attrs" else prefix + c
        for c in RAW_ENTITY_COLUMNS
    )


def raw_entities(d: SqlDialect, rows: Sequence[Sequence[Any]]) -> list[Entity]:
    """Entities from rows of :data:`RAW_ENTITY_COLUMNS` as the driver gives them (selected with
    ``exec_driver_sql``, without SQLAlchemy's per-value processing): the same entities
    :func:`row_entity` makes, for reads of thousands of rows (a trace). Times repeat (a batch is
    written at one instant) and are converted once each."""
    times: dict[Any, datetime] = {}
    json_of = d.json_of
    out = []
    for rid, kind, name, project, version, content_hash, at, by, fields, attrs in rows:
        created = times.get(at)
        if created is None:
            created = times[at] = d.time_of(at)
        out.append(
            from_columns(
                kind,
                EntityId(uuid_of(rid)),
                name,
                project,
                version,
                content_hash,
                created,
                by,
                json_of(fields),
                json_of(attrs),
            )
        )
    return out


def hex_of(value: uuid.UUID) -> str:
    """The 32 hex digits of a UUID: what SQLite stores and walks keep ids as. ``value.hex`` is a
    Python-level property; this is a third quicker, and bulk loads make millions."""
    return "%032x" % value.int  # noqa: UP031 - the fastest spelling of the 32 hex digits


_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def uuid_of(raw: Any) -> uuid.UUID:
    """The UUID of a raw id column value: PostgreSQL's driver gives a UUID, SQLite's the 32 hex
    digits the store writes. Equal to ``uuid.UUID(hex=raw)`` (and as strict about the length) at a
    third of the cost, which shows when a walk or a trace converts thousands."""
    if isinstance(raw, uuid.UUID):
        return raw
    if type(raw) is not str or len(raw) != 32:
        return uuid.UUID(hex=raw)
    value = _new(uuid.UUID)
    _set(value, "int", int(raw, 16))
    _set(value, "is_safe", _UNKNOWN)
    return value


#: A kind or a relation by its stored spelling: ``Kind(value)`` and ``Relation(value)`` run Python code
#: for each lookup, and the raw reads (walks, closures, impacts) make one per row.
KIND_OF: dict[str, Kind] = {k.value: k for k in Kind}
RELATION_OF: dict[str, Relation] = {r.value: r for r in Relation}


def row_edge(row: Any) -> Edge:
    """An edge from a row of ``seq, src, relation, dst, attrs, created_at, created_by``."""
    _, src, rel, dst, attrs, created_at, created_by = row
    return Edge(src, RELATION_OF[rel], dst, attrs or {}, created_at, created_by)


def row_audit(row: Any) -> AuditEvent:
    m = row._mapping
    return AuditEvent(
        action=m["action"],
        actor=m["actor"],
        at=m["at"],
        target=EntityId(m["target"]) if m["target"] is not None else None,
        project=m["project"],
        detail=dict(m["detail"] or {}),
        seq=m["seq"],
    )


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"rmtc:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The seq a cursor continues after, or ``None`` for the first page."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, _, seq = raw.partition(":")
        if tag == "rmtc" and seq.isdigit():
            return int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput(
        f"paging cursor {cursor[:40]!r} is not valid",
        hint="pass the next_cursor of the previous page unchanged",
    )


def check_limit(limit: int | None, what: str = "limit") -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"{what} {limit!r} is not a positive integer", hint="ask for at least 1")
    return limit


def page_of(rows: Sequence[Any], limit: int, convert: Any) -> tuple[list[Any], str | None]:
    """Items of a page fetched with ``limit + 1`` rows, and the cursor of the next page, if any."""
    items = [convert(r) for r in rows[:limit]]
    more = len(rows) > limit
    return items, encode_cursor(rows[limit - 1]._mapping["seq"]) if more else None
