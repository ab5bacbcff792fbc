"""Upstream facts: what every entity's material upstream holds, kept up to date by every write.

Why. Effective rights, ``contains`` and revocation ask of an artefact which licences govern, which
talents are depicted in, and which raw sources lack a licence in everything it is materially made of.
Walking that closure (every member of every dataset version a model was trained on: thousands of
entities) for each question costs tens of milliseconds and grows with the graph; the answer itself is
a handful of ids. So each entity carries the digest of its upstream's fact set (``facts``) and of the
facts it holds itself (``own``), and a question reads one row. The sets are content-addressed in
``fact_sets``: the frames of one plate, or the outputs of one model, share one set.

Definition (:meth:`UpstreamFacts.of_closure` computes the same from a closure; the conformance suite
holds the two equal):

- the **own** facts of an entity: ``license`` L for each ``governed_by`` edge to L; ``talent`` T for each
  ``depicts`` edge to T when the entity is an asset; ``ungoverned`` itself when it is an asset or weights
  with no made-from edge (``generated_by``, ``derived_from``, ``variant_of``) and no ``governed_by`` edge;
- its **facts**: its own, and the facts of every entity one :data:`~rmtc.core.kinds.MATERIAL` step
  upstream of it in the same project (the walks' orientation and kind rule).

Maintenance. A batch's new entities get theirs from their upstream neighbours in dependency order (a
fixpoint settles any cycle). An edge that changes an existing entity's own facts or upstream (a talent
tagged later, a licence attached afterwards) recomputes that entity and everything downstream of it, in
the same transaction. Facts derive from provenance alone, which is append-only, so :func:`rebuild` can
always recompute them (migration 0003 does, for stores written before). On PostgreSQL the step runs
under a transaction-level advisory lock: a writer never computes from a neighbour's facts that a
concurrent transaction is changing.

Ids are kept as the driver gives them (:meth:`SqlDialect.raw_id`: 32 hex digits on SQLite, UUIDs on
PostgreSQL), so that reading neighbours and writing the index convert none, and the sets and mappings
of a bulk load's hundreds of thousands of entities hash text in C rather than UUIDs in Python.
"""

from __future__ import annotations

import operator
import uuid
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import blake3
import sqlalchemy as sa

from rmtc.core.frozen import assembler
from rmtc.core.ids import EntityId
from rmtc.core.kinds import MATERIAL, UPSTREAM_AT_SRC, Kind, Relation
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect, driver_rows
from rmtc.store.sql.schema import edges, entities, fact_sets, upstream_facts
from rmtc.store.types import EntityRef, UpstreamFacts

LICENSE, TALENT, UNGOVERNED = "license", "talent", "ungoverned"
#: (role, raw id of the licence, talent or source)
Fact = tuple[str, Any]
FactSet = frozenset[Fact]

_MATERIAL = {r.value: frozenset(k.value for k in ks) for r, ks in MATERIAL.items()}
_AT_SRC = frozenset(r.value for r in UPSTREAM_AT_SRC)
_MADE_FROM = frozenset(r.value for r in (Relation.GENERATED_BY, Relation.DERIVED_FROM, Relation.VARIANT_OF))
_OWN = frozenset({Relation.GOVERNED_BY.value, Relation.DEPICTS.value}) | _MADE_FROM
_SOURCE_KINDS = frozenset({Kind.ASSET.value, Kind.WEIGHTS.value})
_EMPTY: FactSet = frozenset()
#: Rows per statement where ids go into ``IN`` lists or ``executemany`` batches.
_CHUNK = 5000
_LOCK_KEY = 0x726D7463  # "rmtc": the advisory lock of fact maintenance on PostgreSQL


def digest(facts: FactSet) -> str:
    """The content address of a fact set (order-free; the empty set has one too)."""
    text = "\n".join(sorted(f"{role}:{_hex(ref)}" for role, ref in facts))
    return blake3.blake3(text.encode()).hexdigest()[:32]


def _hex(ref: Any) -> str:
    """The 32 hex digits of a raw id: SQLite's raw id is that text already."""
    return ref if type(ref) is str else str(ref.hex)


@dataclass(slots=True)
class _Nodes:
    """The entities whose facts are computed, by raw id, and what their edges say of them.

    Kept as a few mappings over all of them rather than an object each: a bulk load computes a
    hundred thousand per batch, and most have no own facts, or no upstream neighbour.
    """

    #: (kind, project) of every entity to compute
    meta: dict[Any, tuple[str, str]]
    #: their upstream neighbours (one per material edge), for those that have any
    ups: dict[Any, list[Any]] = field(default_factory=dict)
    #: their licence and talent facts, for those that have any
    own: dict[Any, set[Fact]] = field(default_factory=dict)
    #: those with a made-from edge, and those with a ``governed_by`` edge
    made: set[Any] = field(default_factory=set)
    licensed: set[Any] = field(default_factory=set)

    def add_edge(self, me: Any, src: Any, rel: str, dst: Any) -> None:
        """Take in one edge touching ``me`` (either end)."""
        kind = self.meta[me][0]
        if src == me:
            if rel == "governed_by":
                self.own.setdefault(me, set()).add((LICENSE, dst))
                self.licensed.add(me)
            elif rel == "depicts":
                if kind == "asset":
                    self.own.setdefault(me, set()).add((TALENT, dst))
            elif rel in _MADE_FROM:
                self.made.add(me)
        kinds = _MATERIAL.get(rel)
        if kinds is not None and kind in kinds:
            down, up = (dst, src) if rel in _AT_SRC else (src, dst)
            if down == me and up != me:
                self.ups.setdefault(me, []).append(up)


# -- maintenance -------------------------------------------------------------------------------------
def refresh(
    conn: sa.Connection,
    d: SqlDialect,
    created: Mapping[Any, tuple[str, str]],
    new_edges: Sequence[tuple[Any, str, Any]],
) -> None:
    """Bring the facts up to date after a write: ``created`` maps the raw id of each entity the batch
    inserted to its (kind, project); ``new_edges`` are the edges it inserted, as (src, relation, dst)
    with raw ids."""
    if not created and not new_edges:
        return
    if d.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    nodes = _Nodes(dict(created))
    touched: set[Any] = set()  # stored entities whose own facts or upstream the batch changed
    get, ups, own, made, licensed = nodes.meta.get, nodes.ups, nodes.own, nodes.made, nodes.licensed
    for src, rel, dst in new_edges:  # _Nodes.add_edge, inlined: this loop sees every edge of bulk loads
        kinds = _MATERIAL.get(rel)
        if kinds is not None:
            down, up = (dst, src) if rel in _AT_SRC else (src, dst)
            meta = get(down)
            if meta is None:
                touched.add(down)
            elif meta[0] in kinds and up != down:
                if (found := ups.get(down)) is None:
                    ups[down] = [up]
                else:
                    found.append(up)
        if rel in _OWN:
            meta = get(src)
            if meta is None:
                touched.add(src)
            elif rel == "governed_by":
                own.setdefault(src, set()).add((LICENSE, dst))
                licensed.add(src)
            elif rel == "depicts":
                if meta[0] == "asset":
                    own.setdefault(src, set()).add((TALENT, dst))
            else:
                made.add(src)
    stale = touched - nodes.meta.keys()
    if stale:
        from rmtc.store.sql.closure import closure

        start = [EntityId(d.id_of(raw)) for raw in stale]
        reach = closure(conn, d, start, "down", through=MATERIAL, project=None, annotate=())
        _load_existing(conn, d, nodes, [raw for i in reach.kinds if (raw := d.raw_id(i)) not in nodes.meta])
    _write(conn, d, _compute(conn, d, nodes), fresh=created)


def rebuild(conn: sa.Connection, d: SqlDialect) -> None:
    """Recompute every entity's facts from provenance (after a migration, or to check the index)."""
    conn.execute(sa.delete(upstream_facts))
    conn.execute(sa.delete(fact_sets))
    stmt = sa.select(_raw(entities.c.id), entities.c.kind, entities.c.project).order_by(entities.c.seq)
    nodes = _Nodes({raw: (kind, project) for raw, kind, project in conn.execute(stmt)})
    _attach_edges(conn, d, nodes, None)
    _write(conn, d, _compute(conn, d, nodes), fresh=nodes.meta)


def _load_existing(conn: sa.Connection, d: SqlDialect, nodes: _Nodes, ids: list[Any]) -> None:
    """Add stored entities (raw ids) to ``nodes`` with every edge of theirs (they are to be recomputed)."""
    added: dict[Any, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        stmt = sa.select(_raw(entities.c.id), entities.c.kind, entities.c.project).where(
            d.in_list(entities.c.id, chunk)
        )
        for raw, kind, project in conn.execute(stmt):
            added[raw] = (kind, project)
    nodes.meta.update(added)
    _attach_edges(conn, d, nodes, list(added))


def _attach_edges(conn: sa.Connection, d: SqlDialect, nodes: _Nodes, ids: list[Any] | None) -> None:
    """Every stored edge touching ``ids`` (raw ids of ``nodes``) that facts depend on (all edges of
    every node when ``ids`` is None)."""
    wanted = sorted(_OWN | _MATERIAL.keys())
    cols = (_raw(edges.c.src), edges.c.relation, _raw(edges.c.dst))
    statements = []
    if ids is None:
        statements.append(sa.select(*cols).where(edges.c.relation.in_(wanted)).order_by(edges.c.seq))
        attach: Collection[Any] = nodes.meta.keys()
    else:
        for chunk in _chunks(ids):
            by_src = sa.select(*cols).where(edges.c.relation.in_(wanted), d.in_list(edges.c.src, chunk))
            statements.append(by_src)
            statements.append(
                sa.select(*cols).where(edges.c.relation.in_(sorted(_AT_SRC)), d.in_list(edges.c.dst, chunk))
            )
        attach = set(ids)
    for stmt in statements:
        for src, rel, dst in conn.execute(stmt):
            if src in attach:
                nodes.add_edge(src, src, rel, dst)
            if dst != src and dst in attach and (ids is None or rel in _AT_SRC):
                nodes.add_edge(dst, src, rel, dst)


def _compute(conn: sa.Connection, d: SqlDialect, nodes: _Nodes) -> dict[Any, tuple[FactSet, FactSet, int]]:
    """Facts and own facts of every node, from their upstream neighbours (stored ones read here)."""
    outside = _stored_neighbours(conn, d, nodes)
    meta = nodes.meta
    deps: dict[Any, list[Any]] = {}  # a node's upstream neighbours computed here (those with any)
    fixed: dict[Any, list[FactSet]] = {}  # the facts of its stored upstream neighbours (those with any)
    for eid, ups in nodes.ups.items():
        project = meta[eid][1]
        inner, outer = [], []
        for up in ups:
            if (found := meta.get(up)) is not None:
                if found[1] == project:
                    inner.append(up)
            elif (stored := outside.get(up)) is not None and stored[0] == project:
                outer.append(stored[1])
        if inner:
            deps[eid] = inner
        if outer:
            fixed[eid] = outer
    interned: dict[FactSet, FactSet] = {_EMPTY: _EMPTY}
    own: dict[Any, FactSet] = {}
    own_of, made, licensed = nodes.own, nodes.made, nodes.licensed
    for eid, (kind, _) in meta.items():
        held = own_of.get(eid)
        if kind in _SOURCE_KINDS and eid not in made and eid not in licensed:
            # Its own ungoverned fact makes the set unlike any other node's own: nothing to intern.
            own[eid] = frozenset((*held, (UNGOVERNED, eid))) if held else frozenset(((UNGOVERNED, eid),))
        else:
            own[eid] = _intern(interned, frozenset(held)) if held else _EMPTY
    # Nodes without an upstream neighbour computed here first (most of a bulk load), then the others
    # in dependency order.
    facts: dict[Any, FactSet] = {}
    for eid, base in own.items():
        if eid not in deps:
            held_up = fixed.get(eid)
            facts[eid] = _union(interned, base, held_up, []) if held_up else base
    order, cyclic = _order(deps)
    for eid in order:
        facts[eid] = _union(interned, own[eid], fixed.get(eid, []), [facts[u] for u in deps[eid]])
    if cyclic:  # on or behind a cycle of material edges: the least fixpoint, which is reachability
        for eid in cyclic:
            inner = [facts[u] for u in deps[eid] if u in facts]
            facts[eid] = _union(interned, own[eid], fixed.get(eid, []), inner)
        changed = True
        while changed:
            changed = False
            for eid in cyclic:
                new = _union(interned, facts[eid], [], [facts[u] for u in deps[eid]])
                if new != facts[eid]:
                    facts[eid], changed = new, True
    return {
        eid: (facts[eid], base, len(set(deps.get(eid, ()))) + len(fixed.get(eid, ())))
        for eid, base in own.items()
    }


def _stored_neighbours(conn: sa.Connection, d: SqlDialect, nodes: _Nodes) -> dict[Any, tuple[str, FactSet]]:
    """The project and facts of every upstream neighbour not being recomputed. One without facts (a
    store whose index was never built) is recomputed with the others instead."""
    meta = nodes.meta
    # In key order: the lookups then walk the indexes in order (a third cheaper than at random).
    wanted = _in_key_order({up for ups in nodes.ups.values() for up in ups if up not in meta})
    if not wanted:
        return {}
    rows: dict[Any, tuple[str, str | None]] = {}
    # SQL text with the ids as one driver-ready list: a bulk load asks for a hundred thousand.
    sql = "SELECT e.id, e.project, u.facts FROM entities e LEFT JOIN upstream_facts u ON u.entity = e.id"
    sql += f" WHERE {d.raw_in('e.id')}"
    for chunk in _chunks(wanted):
        for raw, project, facts_digest in conn.exec_driver_sql(sql, (d.raw_list(chunk),)).all():
            rows[raw] = (project, facts_digest)
    missing = [eid for eid, (_, dg) in rows.items() if dg is None]
    if missing:
        _load_existing(conn, d, nodes, missing)
        return _stored_neighbours(conn, d, nodes)
    sets = read_sets(conn, d, {dg for _, dg in rows.values() if dg is not None})
    return {eid: (project, sets.get(dg, _EMPTY)) for eid, (project, dg) in rows.items() if dg is not None}


def _in_key_order(raw_ids: Collection[Any]) -> list[Any]:
    """Raw ids in the order of their index: text as it is (SQLite), UUIDs (PostgreSQL) by their
    128-bit integer, which compares in C (``UUID.__lt__`` is Python: a bulk load's batch sorts a
    hundred thousand)."""
    if raw_ids and isinstance(next(iter(raw_ids)), uuid.UUID):
        return sorted(raw_ids, key=_UUID_INT)
    return sorted(raw_ids)


_UUID_INT = operator.attrgetter("int")


def _order(deps: dict[Any, list[Any]]) -> tuple[list[Any], list[Any]]:
    """A dependency order of the nodes of ``deps`` (Kahn; an upstream neighbour that is not in ``deps``
    counts as done) and, apart, those on or behind a cycle."""
    waiting = {eid: 0 for eid in deps}
    users: dict[Any, list[Any]] = {}
    for eid, ups in deps.items():
        for up in ups:
            if up in waiting:
                waiting[eid] += 1
                users.setdefault(up, []).append(eid)
    ready = deque(eid for eid, n in waiting.items() if n == 0)
    order = []
    while ready:
        eid = ready.popleft()
        order.append(eid)
        for user in users.get(eid, ()):
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    done = set(order)
    return order, [eid for eid in deps if eid not in done]


def _union(
    interned: dict[FactSet, FactSet], base: FactSet, outer: list[FactSet], inner: list[FactSet]
) -> FactSet:
    parts = {id(s): s for s in (*outer, *inner) if s}
    if not parts:
        return base
    if len(parts) == 1:
        (only,) = parts.values()
        if base <= only:
            return only
    merged = set(base)
    for part in parts.values():
        merged |= part
    return _intern(interned, frozenset(merged))


def _intern(interned: dict[FactSet, FactSet], facts: FactSet) -> FactSet:
    return interned.setdefault(facts, facts)


def _write(
    conn: sa.Connection,
    d: SqlDialect,
    computed: dict[Any, tuple[FactSet, FactSet, int]],
    fresh: Collection[Any],
) -> None:
    """Store the computed facts. The rows of ``fresh`` entities (created in this transaction, or all
    of them after :func:`rebuild` emptied the table) cannot be stored yet, so they are plainly
    inserted (a ``COPY`` on PostgreSQL); the others replace what is stored."""
    if not computed:
        return
    digests: dict[FactSet, str] = {}

    def address(facts: FactSet) -> str:
        found = digests.get(facts)
        if found is None:
            found = digests[facts] = digest(facts)
        return found

    rows = [(eid, address(facts), address(own), ups) for eid, (facts, own, ups) in computed.items()]
    stored = _stored_digests(conn, d, [dg for facts, dg in digests.items() if facts])
    set_rows = [
        (dg, ref, role)
        for facts, dg in digests.items()
        if facts and dg not in stored
        for role, ref in sorted(facts)
    ]
    for chunk in _chunks(set_rows):
        d.upsert(conn, fact_sets, ("digest", "ref", "role"), chunk)
    columns = ("entity", "facts", "own", "ups")
    new = [row for row in rows if row[0] in fresh]
    d.insert_fresh(conn, upstream_facts, columns, new)
    if len(new) < len(rows):
        for chunk in _chunks([row for row in rows if row[0] not in fresh]):
            d.upsert(conn, upstream_facts, columns, chunk, update=("facts", "own", "ups"))


def _stored_digests(conn: sa.Connection, d: SqlDialect, wanted: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(wanted):
        stmt = sa.select(fact_sets.c.digest).where(d.in_list(fact_sets.c.digest, chunk)).distinct()
        found.update(conn.execute(stmt).scalars())
    return found


# -- reading -----------------------------------------------------------------------------------------
def read_sets(conn: sa.Connection, d: SqlDialect, wanted: Collection[str]) -> dict[str, FactSet]:
    """The fact sets of these digests (a digest with no rows is the empty set), with raw ids."""
    found: dict[str, set[Fact]] = {}
    for chunk in _chunks(list(wanted)):
        stmt = sa.select(fact_sets.c.digest, fact_sets.c.role, _raw(fact_sets.c.ref)).where(
            d.in_list(fact_sets.c.digest, chunk)
        )
        for dg, role, raw in conn.execute(stmt):
            found.setdefault(dg, set()).add((role, raw))
    return {dg: frozenset(found.get(dg, ())) for dg in wanted}


def upstream_of(conn: sa.Connection, d: SqlDialect, ids: Iterable[EntityId]) -> dict[EntityId, UpstreamFacts]:
    """The upstream facts of these entities (an id with no stored entity is left out)."""
    rows: dict[EntityId, str] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        stmt = sa.select(_raw(upstream_facts.c.entity), upstream_facts.c.facts).where(
            d.in_list(upstream_facts.c.entity, chunk)
        )
        for raw, dg in conn.execute(stmt):
            rows[EntityId(d.id_of(raw))] = dg
    sets = read_sets(conn, d, set(rows.values()))
    return {eid: as_upstream(d, sets[dg]) for eid, dg in rows.items()}


def as_upstream(d: SqlDialect, facts: Iterable[Fact]) -> UpstreamFacts:
    by_role: dict[str, set[EntityId]] = {LICENSE: set(), TALENT: set(), UNGOVERNED: set()}
    for role, ref in facts:
        by_role[role].add(EntityId(d.id_of(ref)))
    return UpstreamFacts(
        licenses=frozenset(by_role[LICENSE]),
        talents=frozenset(by_role[TALENT]),
        ungoverned=frozenset(by_role[UNGOVERNED]),
    )


def holding(
    conn: sa.Connection, d: SqlDialect, refs: Collection[EntityId], project: str
) -> dict[EntityId, EntityRef]:
    """Every entity of ``project`` whose facts hold one of ``refs`` (so: everything materially
    downstream of the entities holding them directly, those included), in recording order.

    A talent's impact is tens of thousands of entities: the rows are the driver's own, fetched at
    once, and each reference is built without ``__init__`` (:mod:`rmtc.core.frozen`)."""
    if not refs:
        return {}
    sql = (
        "SELECT e.id, e.kind, e.name, e.version FROM upstream_facts u "  # noqa: S608 - schema names
        "JOIN entities e ON e.id = u.entity "
        f"WHERE u.facts IN (SELECT DISTINCT digest FROM fact_sets WHERE {d.raw_in('ref')}) "
        # ``|| ''``: the project's index would otherwise drive the join on SQLite (see guided).
        f"AND e.project || '' = {d.placeholder} ORDER BY e.seq"
    )
    rows = driver_rows(conn, sql, (d.raw_list(d.raw_id(r) for r in refs), project))
    kinds, id_of, new_ref = codec.KIND_OF, d.id_of, assembler(EntityRef)
    found: dict[EntityId, EntityRef] = {}
    for raw, kind, name, version in rows:
        eid = EntityId(id_of(raw))
        found[eid] = new_ref(eid, kinds[kind], name, version)
    return found


def _raw(column: Any) -> Any:
    """A column as the driver gives it (no per-row type processing: see ``SqlDialect.id_of``)."""
    return sa.type_coerce(column, sa.types.NullType())


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
