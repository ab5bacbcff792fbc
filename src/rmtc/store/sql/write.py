"""``MetadataStore.write``: one batch of entities, edges, audit events and run statuses, one transaction.

The batch is inserted with multi-row ``INSERT ... ON CONFLICT DO NOTHING ... RETURNING`` statements
(a few statements per batch, whatever its size), and the entities the database did not insert are then
resolved against what is stored:

- the same ``(project, kind, key)`` with the same content hash (both set): the stored entity stands for
  the batch's, and the batch's edges, audit events and statuses naming the batch id are redirected;
- the very same entity again (same id, same facts - a retried write): it resolves to itself;
- anything else is a ``Conflict`` that names the entity, and the whole transaction is rolled back.

Letting the database detect the duplicates (rather than looking first, then inserting) is what makes
concurrent writers of the same content safe on PostgreSQL: the second insert waits for the first
transaction and then does nothing. Entities and edges keep the batch's order (their ``seq``), but on
PostgreSQL they are inserted in key order (:meth:`SqlDialect.lock_ordered`), so two such writers
cannot deadlock on each other's half of a batch (a deadlock, should one happen, is retried by
``Database``).

``derived_from`` cycles are checked inside the transaction, after the batch's edges are in and before
it commits: a recursive query from each new edge's ancestor looks for the edge's source. Edges whose
source has no descendant at all (the usual case: a new asset derived from existing ones) cannot close a
cycle and are not walked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput
from rmtc.store.sql import codec, facts
from rmtc.store.sql.audit import audit_row
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.entities import require_entities
from rmtc.store.sql.runs import flatten_params, status_row, upsert_statuses
from rmtc.store.sql.schema import audit, edges, entities, run_params
from rmtc.store.types import Edge, WriteBatch, WriteResult


def write_batch(conn: sa.Connection, d: SqlDialect, batch: WriteBatch) -> WriteResult:
    batch_entities = list(batch.entities)
    rows = [codec.entity_row(e) for e in batch_entities]
    _refuse_reused_ids(rows)
    inserted = _insert_entities(conn, d, rows)
    stored, redirect = _resolve(conn, d, batch_entities, rows, inserted)
    _insert_run_params(conn, [e for e in batch_entities if e.kind is Kind.RUN and e.id in inserted])
    known = {e.id for e in stored}
    new_edges = _insert_edges(conn, d, batch, redirect, known)
    _insert_audit(conn, batch, redirect)
    _upsert_statuses(conn, d, batch, redirect, known)
    created = {e.id: (e.kind.value, e.project) for e in batch_entities if e.id in inserted}
    facts.refresh(conn, d, created, new_edges)
    return WriteResult(entities=stored, created=len(inserted), edges_created=len(new_edges))


def _refuse_reused_ids(rows: list[dict[str, Any]]) -> None:
    seen: dict[Any, dict[str, Any]] = {}
    for row in rows:
        first = seen.setdefault(row["id"], row)
        if first is not row and first != row:
            raise InvalidInput(
                f"the batch gives id {row['id']} to two different entities",
                hint="give every new entity its own id (rmtc.core.ids.new_id)",
            )


def _insert_entities(conn: sa.Connection, d: SqlDialect, rows: list[dict[str, Any]]) -> set[EntityId]:
    if not rows:
        return set()
    order = ("project", "kind", "key", "id")
    return {EntityId(i) for i in d.insert_new_in_order(conn, entities, rows, "id", order)}


def _resolve(
    conn: sa.Connection,
    d: SqlDialect,
    batch: list[Entity],
    rows: list[dict[str, Any]],
    inserted: set[EntityId],
) -> tuple[list[Entity], dict[EntityId, EntityId]]:
    """The stored entity standing for each batch entity, and batch id -> stored id where they differ."""
    pending = [i for i, row in enumerate(rows) if row["id"] not in inserted]
    if not pending:
        return batch, {}
    by_key = _stored_by_key(conn, d, [rows[i] for i in pending if rows[i]["key"] is not None])
    by_id = _stored_by_id(conn, d, [rows[i]["id"] for i in pending])
    stored = list(batch)
    redirect: dict[EntityId, EntityId] = {}
    for i in pending:
        row, entity = rows[i], batch[i]
        existing = by_key.get((row["project"], row["kind"], row["key"])) if row["key"] is not None else None
        if existing is None:
            existing = by_id.get(row["id"])
        if existing is None:  # pragma: no cover - a conflict always has a stored row to explain it
            raise Conflict(f"{entity.label} could not be recorded", hint="retry the write")
        same_entity = existing["id"] == row["id"] and _same_facts(existing, row)
        same_content = (
            existing["key"] == row["key"]
            and existing["kind"] == row["kind"]
            and existing["project"] == row["project"]
            and row["content_hash"] is not None
            and existing["content_hash"] == row["content_hash"]
        )
        if not (same_entity or same_content):
            raise _conflict(entity, row, existing)
        stored[i] = codec.row_entity(existing["row"])
        if existing["id"] != row["id"]:
            redirect[row["id"]] = EntityId(existing["id"])
    return stored, redirect


def _same_facts(existing: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    keys = ("kind", "project", "name", "version", "key", "content_hash", "created_by")
    return all(existing[k] == row[k] for k in keys) and existing["created_at"] == row["created_at"]


def _conflict(entity: Entity, row: Mapping[str, Any], existing: Mapping[str, Any]) -> Conflict:
    if existing["id"] == row["id"] and existing["key"] != row["key"]:
        return Conflict(
            f"id {row['id']} is already recorded for another entity ({existing['kind']}:{existing['name']})",
            hint="give every new entity its own id",
            details={"id": str(row["id"])},
        )
    what = "with other content" if existing["content_hash"] else "and keys of this kind are unique"
    return Conflict(
        f"{entity.label} already exists in project {row['project']!r} {what} (id {existing['id']})",
        hint=f"use the recorded {row['kind']} or give the new one another name or version",
        details={"kind": row["kind"], "key": row["key"], "existing": str(existing["id"])},
    )


def _stored_by_key(
    conn: sa.Connection, d: SqlDialect, rows: list[dict[str, Any]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        groups.setdefault((row["project"], row["kind"]), []).append(row["key"])
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for (project, kind), keys in groups.items():
        query = sa.select(*entities.c).where(
            entities.c.project == project, entities.c.kind == kind, d.in_list(entities.c.key, set(keys))
        )
        for r in conn.execute(query):
            found[(project, kind, r.key)] = {**r._mapping, "row": r}
    return found


def _stored_by_id(conn: sa.Connection, d: SqlDialect, ids: list[EntityId]) -> dict[Any, dict[str, Any]]:
    query = sa.select(*entities.c).where(d.in_list(entities.c.id, set(ids)))
    return {r.id: {**r._mapping, "row": r} for r in conn.execute(query)}


def _insert_run_params(conn: sa.Connection, runs: list[Entity]) -> None:
    rows = [
        {"run": run.id, "key": key, "value_text": text, "value_num": num}
        for run in runs
        for key, (text, num) in flatten_params(getattr(run, "params", {})).items()
    ]
    if rows:
        conn.execute(sa.insert(run_params), rows)


def _insert_edges(
    conn: sa.Connection, d: SqlDialect, batch: WriteBatch, redirect: dict[EntityId, EntityId], known: set[Any]
) -> list[tuple[Any, str, Any]]:
    """Insert the batch's edges; the (src, relation, dst) of those the store did not hold yet."""
    if not batch.edges:
        return []
    rows = _edge_rows(batch.edges, redirect)
    require_entities(conn, d, {i for k in rows for i in (k[0], k[2])} - known, "an edge")
    new = d.insert_new_in_order(conn, edges, list(rows.values()), "seq", ("src", "relation", "dst"))
    derived = [k for k in rows if k[1] == Relation.DERIVED_FROM.value]
    if derived and new:
        _refuse_cycles(conn, d, new, derived)
    if len(new) == len(rows):
        return list(rows)
    inserted = conn.execute(
        sa.select(edges.c.src, edges.c.relation, edges.c.dst).where(d.in_list(edges.c.seq, new))
    )
    return [(r.src, r.relation, r.dst) for r in inserted]


#: A relation (member or its value) -> its value as plain text: Enum's ``.value`` is a Python-level
#: descriptor, and a bulk load asks it millions of times.
_RELATION_TEXT: dict[str, str] = {r.value: r.value for r in Relation}


def _edge_rows(
    batch_edges: Sequence[Edge], redirect: dict[EntityId, EntityId]
) -> dict[tuple[Any, str, Any], dict[str, Any]]:
    """The batch's edges as rows by (src, relation, dst), the first of duplicates kept, ids redirected
    to the stored entities. Millions of edges pass here in a bulk load, so the common cases (UUID ids,
    ``Relation`` members, a batch sharing one timestamp) skip the general conversions."""
    rows: dict[tuple[Any, str, Any], dict[str, Any]] = {}
    checked: datetime | None = None
    for edge in batch_edges:
        src, dst, rel, at = edge.src, edge.dst, edge.relation, edge.created_at
        if type(src) is not uuid.UUID:
            src = codec.as_id(src, "edge source")
        if type(dst) is not uuid.UUID:
            dst = codec.as_id(dst, "edge target")
        if redirect:
            src, dst = redirect.get(src, src), redirect.get(dst, dst)
        text = _RELATION_TEXT.get(rel) if isinstance(rel, str) else None
        rel = text if text is not None else codec.relation(rel).value
        if at is None:
            at = codec.now()
        elif at is not checked:
            checked = codec.aware(at, "edge created_at")
        key = (src, rel, dst)
        if key not in rows:
            rows[key] = {
                "src": src,
                "relation": rel,
                "dst": dst,
                "attrs": dict(edge.attrs),
                "created_at": at,
                "created_by": edge.created_by,
            }
    return rows


def _refuse_cycles(
    conn: sa.Connection, d: SqlDialect, new_seqs: list[int], derived: list[tuple[Any, str, Any]]
) -> None:
    for src, _, dst in derived:
        if src == dst:
            raise _cycle(src, dst)
    rel = Relation.DERIVED_FROM.value
    srcs = {k[0] for k in derived}
    # Only a source that something is derived from can be reached again.
    with_descendants = {
        r[0]
        for r in conn.execute(
            sa.select(edges.c.dst).where(edges.c.relation == rel, d.in_list(edges.c.dst, srcs)).distinct()
        )
    }
    if not with_descendants:
        return
    seeds = sa.select(edges.c.src.label("origin"), edges.c.dst.label("node")).where(
        d.in_list(edges.c.seq, new_seqs), edges.c.relation == rel, d.in_list(edges.c.src, with_descendants)
    )
    walk = seeds.cte("ancestry", recursive=True)
    up = edges.alias("up")
    walk = walk.union(
        sa.select(walk.c.origin, up.c.dst)
        .select_from(walk.join(up, up.c.src == walk.c.node))
        .where(up.c.relation == rel)
    )
    hit = conn.execute(sa.select(walk.c.origin).where(walk.c.node == walk.c.origin).limit(1)).first()
    if hit is not None:
        origin = hit[0]
        dst = next(k[2] for k in derived if k[0] == origin)
        raise _cycle(origin, dst)


def _cycle(src: Any, dst: Any) -> Conflict:
    return Conflict(
        f"{src} derived_from {dst} would make a derived_from cycle",
        hint="derived_from points from a derived entity to its ancestors; an ancestor cannot derive "
        "from its own descendant",
        details={"src": str(src), "dst": str(dst)},
    )


def _insert_audit(conn: sa.Connection, batch: WriteBatch, redirect: dict[EntityId, EntityId]) -> None:
    rows = [audit_row(e, redirect) for e in batch.audit]
    if rows:
        conn.execute(sa.insert(audit), rows)


def _upsert_statuses(
    conn: sa.Connection, d: SqlDialect, batch: WriteBatch, redirect: dict[EntityId, EntityId], known: set[Any]
) -> None:
    if not batch.statuses:
        return
    rows: dict[Any, dict[str, Any]] = {}
    for status in batch.statuses:
        run = codec.as_id(status.run, "run")
        rows[redirect.get(run, run)] = status_row(status, redirect.get(run, run))
    require_entities(conn, d, set(rows) - known, "a run status")
    upsert_statuses(conn, d, list(rows.values()))
