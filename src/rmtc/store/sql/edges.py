"""Edges: the append-only relation table, read back in recording order (walks are in ``walk``).

Edges are read as the driver gives the rows and converted by hand, as entities are
(:func:`rmtc.store.sql.codec.raw_entities`): a revocation reads every ``depicts`` edge of a talent
(thousands), and SQLAlchemy's per-value processing cost several times the query itself there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from rmtc.core.frozen import assembler
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Relation
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect, driver_rows
from rmtc.store.types import Edge

_SELECT = f"SELECT src, relation, dst, {codec.raw_json('attrs')}, created_at, created_by FROM edges"  # noqa: S608


def find_edges(
    conn: sa.Connection,
    d: SqlDialect,
    *,
    src: Sequence[EntityId] | None,
    dst: Sequence[EntityId] | None,
    relations: Sequence[Relation] | None,
    limit: int | None,
) -> list[Edge]:
    codec.check_limit(limit)
    where: list[str] = []
    params: list[Any] = []
    for column, ids in (("src", src), ("dst", dst)):
        if ids is not None:
            where.append(d.raw_in(column))
            params.append(d.raw_list(d.raw_id(i) for i in codec.as_ids(ids)))
    if relations is not None:
        # Closed-vocabulary spellings (checked by codec.relation), safe as literals.
        names = _relations(relations)
        where.append(f"relation IN ({codec.literals(names)})" if names else "1 = 0")
    sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = driver_rows(conn, sql, tuple(params))
    return _edges_of(d, rows)


def _edges_of(d: SqlDialect, rows: Sequence[Sequence[Any]]) -> list[Edge]:
    """Edges from raw rows; ids and times repeat (a talent's edges share their target, a batch its
    instant) and are converted once each."""
    ids: dict[Any, EntityId] = {}
    times: dict[Any, datetime] = {}
    json_of = d.json_of
    new_edge = assembler(Edge)  # rows the store wrote: built without __init__ (rmtc.core.frozen)
    relation_of = codec.RELATION_OF
    out = []
    for raw_src, rel, raw_dst, attrs, at, by in rows:
        s = ids.get(raw_src)
        if s is None:
            s = ids[raw_src] = EntityId(d.id_of(raw_src))
        t = ids.get(raw_dst)
        if t is None:
            t = ids[raw_dst] = EntityId(d.id_of(raw_dst))
        created = times.get(at)
        if created is None:
            created = times[at] = d.time_of(at)
        out.append(new_edge(s, relation_of[rel], t, json_of(attrs) or {}, created, by))
    return out


def _relations(relations: Sequence[Relation]) -> list[str]:
    return codec.distinct(codec.relation(r).value for r in relations)
