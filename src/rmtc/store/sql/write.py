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
``Database``). A large batch is first tried on PostgreSQL as one ``COPY`` straight into the table,
which succeeds when none of its rows is stored yet (a bulk load), and otherwise gives way to the
``ON CONFLICT`` insert (:meth:`PostgresDialect.insert_new_in_order`).

``derived_from`` cycles are checked inside the transaction, after the batch's edges are in and before
it commits: a recursive query from each new edge's ancestor looks for the edge's source. Edges whose
source has no descendant at all (the usual case: a new asset derived from existing ones) cannot close a
cycle and are not walked.

Ids travel as the driver takes them (:meth:`SqlDialect.raw_id`: 32 hex digits on SQLite), converted
once each: a bulk load names an entity in many edges, and the duplicate checks, the redirects and the
fact maintenance (:mod:`rmtc.store.sql.facts`) key their sets and mappings by these ids, where a text's
hash is computed in C (a ``uuid.UUID`` hashes in Python).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from rmtc.core import collector
from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import ENDS, Kind, Relation
from rmtc.errors import Conflict, InvalidInput
from rmtc.store.sql import codec, facts
from rmtc.store.sql.audit import audit_row
from rmtc.store.sql.dialect import SqlDialect, dumps
from rmtc.store.sql.entities import get_entities, require_entities
from rmtc.store.sql.runs import flatten_params, status_row, upsert_statuses
from rmtc.store.sql.schema import audit, edges, entities, run_params
from rmtc.store.types import Edge, WriteBatch, WriteResult

_ENTITY_ORDER = ("project", "kind", "key", "id")
_RUN = Kind.RUN.value
_EDGE_COLUMNS = ("src", "relation", "dst", "attrs", "created_at", "created_by")
_EDGE_KEY = ("src", "relation", "dst")


def write_batch(conn: sa.Connection, d: SqlDialect, batch: WriteBatch) -> WriteResult:
    """Write the batch in the caller's transaction: ``Database.transact(..., bulk=is_bulk(batch))``."""
    with collector.paused(is_bulk(batch)):
        return _write_batch(conn, d, batch)


#: From this many entities and edges on, a batch is a bulk write: written with the cyclic garbage
#: collector paused (:mod:`rmtc.core.collector`), and on SQLite with a large page cache and without
#: per-row foreign-key checks, which this module's own checks make redundant
#: (:meth:`SqliteDialect.begin_bulk <rmtc.store.sql.dialect.SqliteDialect.begin_bulk>`).
BULK_ROWS = 10_000


def is_bulk(batch: WriteBatch) -> bool:
    return len(batch.entities) + len(batch.edges) >= BULK_ROWS


def _write_batch(conn: sa.Connection, d: SqlDialect, batch: WriteBatch) -> WriteResult:
    batch_entities = list(batch.entities)
    rows = [codec.entity_row(e) for e in batch_entities]
    _refuse_reused_ids(rows)
    raw_ids, inserted = _insert_entities(conn, d, rows)
    stored, redirect = _resolve(conn, d, batch_entities, rows, raw_ids, inserted)
    _insert_run_params(
        conn,
        [
            e
            for e, row, raw in zip(batch_entities, rows, raw_ids, strict=True)
            if row["kind"] == _RUN and raw in inserted
        ],
    )
    # Edge ends are matched by their ids' 128-bit integers: hashed in C (a UUID hashes in Python), and
    # a bulk load matches millions.
    moved = {old.int: new for old, new in redirect.items()}
    known = (
        {redirect.get(row["id"], row["id"]).int: row["kind"] for row in rows}
        if redirect
        else {r["id"].int: r["kind"] for r in rows}
    )
    new_edges = _insert_edges(conn, d, batch.edges, moved, known)
    _insert_audit(conn, batch, redirect)
    _upsert_statuses(conn, d, batch, redirect, stored)
    created = {
        raw: (row["kind"], row["project"]) for row, raw in zip(rows, raw_ids, strict=True) if raw in inserted
    }
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


def _insert_entities(
    conn: sa.Connection, d: SqlDialect, rows: list[dict[str, Any]]
) -> tuple[list[Any], set[Any]]:
    """The raw id of every row, and those of the rows inserted."""
    if not rows:
        return [], set()
    columns = list(rows[0])
    values = d.driver_rows(entities, columns, rows)
    at = columns.index("id")
    raw_ids = [v[at] for v in values]
    return raw_ids, set(d.insert_new_in_order(conn, entities, columns, values, "id", _ENTITY_ORDER))


def _resolve(
    conn: sa.Connection,
    d: SqlDialect,
    batch: list[Entity],
    rows: list[dict[str, Any]],
    raw_ids: list[Any],
    inserted: set[Any],
) -> tuple[list[Entity], dict[EntityId, EntityId]]:
    """The stored entity standing for each batch entity, and batch id -> stored id where they differ."""
    pending = [i for i, raw in enumerate(raw_ids) if raw not in inserted]
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
    conn: sa.Connection,
    d: SqlDialect,
    batch_edges: Sequence[Edge],
    redirect: dict[int, EntityId],
    known: dict[int, str],
) -> list[tuple[Any, str, Any]]:
    """Insert the batch's edges; the (src, relation, dst) of those the store did not hold yet, with
    raw ids. ``redirect`` (batch id -> stored id) and ``known`` (the kind of each of the batch's
    entities by id, as stored) hold ids as their 128-bit integers."""
    if not batch_edges:
        return []
    rows, raws = _edge_rows(d, batch_edges, redirect)
    _require_entities(conn, d, rows, raws, known)
    values = list(rows.values())
    new = d.insert_new_in_order(conn, edges, _EDGE_COLUMNS, values, "seq", _EDGE_KEY)
    derived = [v[:3] for v in values if v[1] == _DERIVED_FROM]
    if derived and new:
        _refuse_cycles(conn, d, new, derived)
    if len(new) == len(values):
        return [v[:3] for v in values]
    inserted = conn.execute(
        sa.select(_raw(edges.c.src), edges.c.relation, _raw(edges.c.dst)).where(d.in_list(edges.c.seq, new))
    )
    return [(src, rel, dst) for src, rel, dst in inserted]


#: :data:`rmtc.core.kinds.ENDS` by relation value: the kinds each end of such an edge may be.
_ENDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    r.value: (frozenset(k.value for k in src), frozenset(k.value for k in dst))
    for r, (src, dst) in ENDS.items()
}


def _stored_kinds_required(
    rows: Mapping[tuple[int, str, int], Any], known: Mapping[int, str]
) -> dict[frozenset[str], set[int]]:
    """The kinds that entities not in ``known`` (id -> kind) must be, with the ids of those that must
    be each: the ends of edges whose relation fixes them (:data:`rmtc.core.kinds.ENDS`). An end in
    ``known`` is checked here and then, and a wrong kind is refused naming the edge."""
    required: dict[frozenset[str], set[int]] = {}
    for key in rows:
        ends = _ENDS.get(key[1])
        if ends is None:
            continue
        for end, kinds in ((key[0], ends[0]), (key[2], ends[1])):
            kind = known.get(end)
            if kind is None:
                required.setdefault(kinds, set()).add(end)
            elif kind not in kinds:
                raise _wrong_end(key, end, kind, kinds)
    return required


def _wrong_end(key: tuple[int, str, int], end: int, kind: str, kinds: frozenset[str]) -> InvalidInput:
    src, relation, dst = uuid.UUID(int=key[0]), key[1], uuid.UUID(int=key[2])
    which = "source" if end == key[0] else "target"
    sources, targets = (" or ".join(sorted(k)) for k in _ENDS[relation])
    return InvalidInput(
        f"edge {src} {relation} {dst}: its {which} is of kind {kind}, not {' or '.join(sorted(kinds))}",
        hint=f"{relation} joins kind {sources} to kind {targets}: check the edge's ends and direction",
    )


def _require_entities(
    conn: sa.Connection,
    d: SqlDialect,
    rows: Mapping[tuple[int, str, int], Any],
    raws: Mapping[int, Any],
    known: Mapping[int, str],
) -> None:
    """Every end of the batch's edges is an entity of the batch or a stored one, of a kind its
    relation allows (:data:`rmtc.core.kinds.ENDS`).

    One count settles it nearly always, each stored id looked up once and as the driver takes it; only
    a missing entity or a wrong kind costs the conversion to UUIDs (which the error names)."""
    required = _stored_kinds_required(rows, known)
    constrained = set().union(*required.values())
    named = {k[0] for k in rows}
    named.update(k[2] for k in rows)
    stored = named - known.keys()
    groups = [(kinds, ids) for kinds, ids in [(None, stored - constrained), *required.items()] if ids]
    if not groups:
        return
    parts, params = [], []
    for kinds, ids in groups:
        among = "" if kinds is None else f" AND kind IN ({codec.literals(kinds)})"
        parts.append(f"(SELECT count(*) FROM entities WHERE {d.raw_in('id')}{among})")  # noqa: S608
        params.append(d.raw_list([raws[i] for i in ids]))
    expected = sum(len(ids) for _, ids in groups)
    if conn.exec_driver_sql(f"SELECT {' + '.join(parts)}", tuple(params)).scalar_one() == expected:
        return
    require_entities(conn, d, {uuid.UUID(int=i) for i in stored}, "an edge")
    found = get_entities(conn, d, [EntityId(uuid.UUID(int=i)) for i in constrained])
    _stored_kinds_required(rows, {**known, **{e.id.int: e.kind.value for e in found.values()}})


#: A relation (member or its value) -> its value as plain text: Enum's ``.value`` is a Python-level
#: descriptor, and a bulk load asks it millions of times.
_RELATION_TEXT: dict[str, str] = {r.value: r.value for r in Relation}
_DERIVED_FROM = Relation.DERIVED_FROM.value


def _edge_rows(
    d: SqlDialect, batch_edges: Sequence[Edge], redirect: dict[int, EntityId]
) -> tuple[dict[tuple[int, str, int], tuple[Any, ...]], dict[int, Any]]:
    """The batch's edges as driver-ready rows of :data:`_EDGE_COLUMNS` by (src, relation, dst) with the
    ids as integers, the first of duplicates kept, ids redirected to the stored entities; and the raw
    id of each id integer. Millions of edges pass here in a bulk load, so the common cases (UUID ids,
    ``Relation`` members, a batch sharing one timestamp) skip the general conversions, each id and
    time is converted once, and the keys hash in C."""
    raw_id, raw_time, now, uuid_type = d.raw_id, d.raw_time, codec.now, uuid.UUID
    raws: dict[int, Any] = {}  # UUID.int -> raw id
    rows: dict[tuple[int, str, int], tuple[Any, ...]] = {}
    last: datetime | None = None
    last_raw: Any = None
    for edge in batch_edges:
        src, dst, rel, at = edge.src, edge.dst, edge.relation, edge.created_at
        if type(src) is not uuid_type:
            src = codec.as_id(src, "edge source")
        if type(dst) is not uuid_type:
            dst = codec.as_id(dst, "edge target")
        si, ti = src.int, dst.int
        if redirect:
            if (stored := redirect.get(si)) is not None:
                src, si = stored, stored.int
            if (stored := redirect.get(ti)) is not None:
                dst, ti = stored, stored.int
        text = _RELATION_TEXT.get(rel) if isinstance(rel, str) else None
        relation = text if text is not None else codec.relation(rel).value
        if at is None:
            at_raw = raw_time(now())
        elif at is not last:
            last, last_raw = at, raw_time(codec.aware(at, "edge created_at"))
            at_raw = last_raw
        else:
            at_raw = last_raw
        key = (si, relation, ti)
        if key not in rows:
            s = raws.get(si)
            if s is None:
                s = raws[si] = raw_id(src)
            t = raws.get(ti)
            if t is None:
                t = raws[ti] = raw_id(dst)
            attrs = edge.attrs
            if type(attrs) is not dict:
                attrs = dict(attrs)
            attrs_text = dumps(attrs) if attrs else "{}"
            rows[key] = (s, relation, t, attrs_text, at_raw, edge.created_by)
    return rows, raws


def _refuse_cycles(
    conn: sa.Connection, d: SqlDialect, new_seqs: list[int], derived: list[tuple[Any, str, Any]]
) -> None:
    for src, _, dst in derived:
        if src == dst:
            raise _cycle(d, src, dst)
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
    seeds = sa.select(_raw(edges.c.src).label("origin"), _raw(edges.c.dst).label("node")).where(
        d.in_list(edges.c.seq, new_seqs), edges.c.relation == rel, d.in_list(edges.c.src, with_descendants)
    )
    walk = seeds.cte("ancestry", recursive=True)
    up = edges.alias("up")
    walk = walk.union(
        sa.select(walk.c.origin, _raw(up.c.dst))
        .select_from(walk.join(up, up.c.src == walk.c.node))
        .where(up.c.relation == rel)
    )
    hit = conn.execute(sa.select(walk.c.origin).where(walk.c.node == walk.c.origin).limit(1)).first()
    if hit is not None:
        origin = hit[0]
        dst = next(k[2] for k in derived if k[0] == origin)
        raise _cycle(d, origin, dst)


def _cycle(d: SqlDialect, raw_src: Any, raw_dst: Any) -> Conflict:
    src, dst = d.id_of(raw_src), d.id_of(raw_dst)
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
    conn: sa.Connection,
    d: SqlDialect,
    batch: WriteBatch,
    redirect: dict[EntityId, EntityId],
    stored: list[Entity],
) -> None:
    if not batch.statuses:
        return
    known = {e.id for e in stored}
    rows: dict[Any, dict[str, Any]] = {}
    for status in batch.statuses:
        run = codec.as_id(status.run, "run")
        rows[redirect.get(run, run)] = status_row(status, redirect.get(run, run))
    require_entities(conn, d, set(rows) - known, "a run status")
    upsert_statuses(conn, d, list(rows.values()))


def _raw(column: Any) -> Any:
    """A column as the driver gives it (raw ids, comparable with those of the batch)."""
    return sa.type_coerce(column, sa.types.NullType())
