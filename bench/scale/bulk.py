"""A yardstick for the write path, not rmtc's way of recording facts: the same rows written with the
SQL dialect's bulk append (:meth:`rmtc.store.sql.dialect.SqlDialect.bulk_insert`, the path metric
points take: one ``executemany`` on SQLite, ``COPY`` on PostgreSQL) into the same schema, with the same
indexes, foreign keys and triggers, in the same batches.

What it skips is exactly what ``MetadataStore.write`` adds per row: SQLAlchemy's parameter processing,
``ON CONFLICT DO NOTHING ... RETURNING`` and the resolution of what was not inserted, the PostgreSQL
lock ordering, and the existence check of edge ends outside the batch. Rows are built with rmtc's own
codec (:func:`rmtc.store.sql.codec.entity_row`) and JSON form, so the difference between the two loads
is the price of the public write path, and this load is the floor a bulk path in ``src/`` could reach.
It is only ever used on a fresh, empty store.
"""

from __future__ import annotations

import time
from typing import Any

from bench.scale.graph import Facility
from bench.scale.load import timed_chunks
from rmtc.core.entities import Entity
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import dumps
from rmtc.store.sql.schema import edges as edges_table
from rmtc.store.sql.schema import entities as entities_table
from rmtc.store.types import Edge


def load_bulk(store: Any, facility: Facility, batch_rows: int) -> dict[str, Any]:
    db = store.database
    d = db.dialect
    clock: dict[str, float] = {}
    stats: dict[str, Any] = {
        "batches": 0,
        "entities": 0,
        "edges": 0,
        "write": 0.0,
        "largest_batch_seconds": 0.0,
    }
    pending_entities: list[Entity] = []
    pending_edges: list[Edge] = []

    def entity_row(e: Entity) -> tuple[Any, ...]:
        r = codec.entity_row(e)
        return (
            d.raw_id(r["id"]),
            r["project"],
            r["kind"],
            r["name"],
            r["version"],
            r["key"],
            r["content_hash"],
            d.raw_time(r["created_at"]),
            r["created_by"],
            dumps(r["fields"]),
            dumps(r["attrs"]),
        )

    def edge_row(e: Edge) -> tuple[Any, ...]:
        assert e.created_at is not None
        return (
            d.raw_id(e.src),
            e.relation.value,
            d.raw_id(e.dst),
            dumps(dict(e.attrs)),
            d.raw_time(e.created_at),
            e.created_by,
        )

    def flush() -> None:
        if not pending_entities and not pending_edges:
            return
        start = time.perf_counter()

        def write(conn: Any) -> None:
            if pending_entities:
                d.bulk_insert(conn, entities_table, [entity_row(e) for e in pending_entities])
            if pending_edges:
                d.bulk_insert(conn, edges_table, [edge_row(e) for e in pending_edges])

        db.transact(write)
        took = time.perf_counter() - start
        stats["write"] += took
        stats["largest_batch_seconds"] = max(stats["largest_batch_seconds"], took)
        stats["batches"] += 1
        stats["entities"] += len(pending_entities)
        stats["edges"] += len(pending_edges)
        pending_entities.clear()
        pending_edges.clear()

    start = time.perf_counter()
    for chunk in timed_chunks(facility, clock):
        pending_entities.extend(chunk.entities)
        pending_edges.extend(chunk.edges)
        if len(pending_entities) + len(pending_edges) >= batch_rows:
            flush()
    flush()
    stats["total"] = time.perf_counter() - start
    stats["generate"] = clock["generate"]
    return stats
