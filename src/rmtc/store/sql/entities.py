"""Reading entities: by id, and by :class:`~rmtc.store.types.EntityQuery` with keyset paging.

Pages are cut on ``seq`` (the insertion order), never with OFFSET: each page is an index range scan
whatever its depth, and a page boundary does not move when rows are added meanwhile.

``id_prefix`` matches the start of the canonical UUID text (``1b4e28ba-2fa1-11d2-...``). It becomes a
range over the id column (``1b4e28ba-0000-...`` to ``1b4e28ba-ffff-...``), which both backends answer
from the unique index: UUIDs order like their hex digits on PostgreSQL, and SQLite stores the digits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind
from rmtc.errors import NotFound
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.schema import entities
from rmtc.store.types import EntityQuery, Page

_DASHES = (8, 13, 18, 23)


def get_entity(conn: sa.Connection, d: SqlDialect, entity_id: EntityId) -> Entity:
    eid = codec.as_id(entity_id)
    found = get_entities(conn, d, [eid])
    if not found:
        raise NotFound(f"no entity {eid}", hint="check the id (`rmtc ls` lists entities)")
    return found[eid]


def get_entities(conn: sa.Connection, d: SqlDialect, ids: Iterable[EntityId]) -> dict[EntityId, Entity]:
    """The entities with these ids, in the order asked. Read as the driver gives the rows and decoded
    by hand (:func:`rmtc.store.sql.codec.raw_entities`): a trace loads a thousand at once."""
    wanted = codec.as_ids(ids)
    if not wanted:
        return {}
    raw = [d.raw_id(i) for i in wanted]
    sql = f"SELECT {codec.raw_entity_select(d)} FROM entities WHERE {d.raw_in('id')}"  # noqa: S608
    rows = conn.exec_driver_sql(sql, (d.raw_list(raw),)).all()
    found = {row[0]: entity for row, entity in zip(rows, codec.raw_entities(d, rows), strict=True)}
    return {i: found[r] for i, r in zip(wanted, raw, strict=True) if r in found}


def find_entities(
    conn: sa.Connection, d: SqlDialect, query: EntityQuery, limit: int, cursor: str | None
) -> Page[Entity]:
    codec.check_limit(limit)
    after = codec.decode_cursor(cursor)
    stmt = sa.select(*entities.c).where(*conditions(d, query))
    if after is not None:
        stmt = stmt.where(entities.c.seq < after if query.newest_first else entities.c.seq > after)
    stmt = stmt.order_by(entities.c.seq.desc() if query.newest_first else entities.c.seq).limit(limit + 1)
    items, next_cursor = codec.page_of(conn.execute(stmt).all(), limit, codec.row_entity)
    return Page(items=items, next_cursor=next_cursor)


def count_entities(conn: sa.Connection, d: SqlDialect, query: EntityQuery) -> int:
    stmt = sa.select(sa.func.count()).select_from(entities).where(*conditions(d, query))
    return int(conn.execute(stmt).scalar_one())


def conditions(d: SqlDialect, q: EntityQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a query over ``entities`` (AND)."""
    c = entities.c
    out: list[ColumnElement[bool]] = []
    if q.kind is not None:
        out.append(c.kind == _kind(q.kind))
    if q.project is not None:
        out.append(c.project == q.project)
    if q.name is not None:
        out.append(c.name == q.name)
    if q.name_like:
        out.append(d.contains_ci(c.name, q.name_like))
    if q.version is not None:
        out.append(c.version == q.version)
    if q.key is not None:
        out.append(c.key == q.key)
    if q.content_hash is not None:
        out.append(c.content_hash == q.content_hash)
    if q.id_prefix is not None:
        out.append(_id_prefix(q.id_prefix))
    if q.ids is not None:
        out.append(d.in_list(c.id, codec.as_ids(q.ids)))
    for name, value in (q.fields or {}).items():
        out.append(d.json_equals(c.fields, name, value))
    if q.created_after is not None:
        out.append(c.created_at > codec.aware(q.created_after, "created_after"))
    if q.created_before is not None:
        out.append(c.created_at < codec.aware(q.created_before, "created_before"))
    return out


def _kind(kind: Any) -> str:
    return kind.value if isinstance(kind, Kind) else Kind.parse(str(kind)).value


def _id_prefix(prefix: str) -> ColumnElement[bool]:
    text = prefix.strip().lower()
    if not text:
        return sa.true()
    if len(text) > 36 or any(
        (ch != "-") if i in _DASHES else (ch not in "0123456789abcdef") for i, ch in enumerate(text)
    ):
        # Cannot be the start of any canonical UUID text: matches nothing (not an error, like no match).
        return sa.false()
    digits = text.replace("-", "")
    low = uuid.UUID(digits.ljust(32, "0"))
    high = uuid.UUID(digits.ljust(32, "f"))
    return entities.c.id.between(low, high)


def require_entities(conn: sa.Connection, d: SqlDialect, ids: set[Any], what: str) -> None:
    """``NotFound`` naming the first of ``ids`` that is not a stored entity."""
    if not ids:
        return
    # Counting first: a batch names up to a hundred thousand stored entities, nearly always all there,
    # and reading their ids back (each turned into a UUID) costs more than the lookups themselves.
    within = d.in_list(entities.c.id, ids)
    if conn.execute(sa.select(sa.func.count()).where(within)).scalar_one() == len(ids):
        return
    found = {r[0] for r in conn.execute(sa.select(entities.c.id).where(within))}
    missing = sorted(str(i) for i in ids - found)
    if missing:
        raise NotFound(
            f"no entity {missing[0]} (named by {what})"
            + (f" nor {len(missing) - 1} more" if len(missing) > 1 else ""),
            hint="write the entity first, or in the same batch",
            details={"missing": missing[:20]},
        )
