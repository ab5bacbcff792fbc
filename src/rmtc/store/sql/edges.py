"""Edges: the append-only relation table, read back in recording order (walks are in ``walk``)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from rmtc.core.ids import EntityId
from rmtc.core.kinds import Relation
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.schema import edges
from rmtc.store.types import Edge

_EDGE_COLUMNS = ("seq", "src", "relation", "dst", "attrs", "created_at", "created_by")


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
    stmt = sa.select(*(edges.c[c] for c in _EDGE_COLUMNS))
    if src is not None:
        stmt = stmt.where(d.in_list(edges.c.src, codec.as_ids(src)))
    if dst is not None:
        stmt = stmt.where(d.in_list(edges.c.dst, codec.as_ids(dst)))
    if relations is not None:
        stmt = stmt.where(edges.c.relation.in_(_relations(relations)))
    stmt = stmt.order_by(edges.c.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [codec.row_edge(r) for r in conn.execute(stmt)]


def _relations(relations: Sequence[Relation]) -> list[str]:
    return codec.distinct(codec.relation(r).value for r in relations)
