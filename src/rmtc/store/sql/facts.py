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
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import blake3
import sqlalchemy as sa

from rmtc.core.ids import EntityId
from rmtc.core.kinds import MATERIAL, UPSTREAM_AT_SRC, Kind, Relation
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.schema import edges, entities, fact_sets, upstream_facts
from rmtc.store.types import EntityRef, UpstreamFacts

LICENSE, TALENT, UNGOVERNED = "license", "talent", "ungoverned"
Fact = tuple[str, uuid.UUID]
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
    text = "\n".join(sorted(f"{role}:{ref.hex}" for role, ref in facts))
    return blake3.blake3(text.encode()).hexdigest()[:32]


@dataclass(slots=True)
class _Node:
    kind: str
    project: str
    own: set[Fact] = field(default_factory=set)
    ups: list[uuid.UUID] = field(default_factory=list)
    made: bool = False
    licensed: bool = False

    def add_edge(self, me: uuid.UUID, src: uuid.UUID, rel: str, dst: uuid.UUID) -> None:
        """Take in one edge touching this entity (either end)."""
        if src == me:
            if rel == "governed_by":
                self.own.add((LICENSE, dst))
                self.licensed = True
            elif rel == "depicts":
                if self.kind == "asset":
                    self.own.add((TALENT, dst))
            elif rel in _MADE_FROM:
                self.made = True
        kinds = _MATERIAL.get(rel)
        if kinds is not None and self.kind in kinds:
            down, up = (dst, src) if rel in _AT_SRC else (src, dst)
            if down == me and up != me:
                self.ups.append(up)

    def own_facts(self, me: uuid.UUID) -> FactSet:
        if self.kind in _SOURCE_KINDS and not self.made and not self.licensed:
            return frozenset((*self.own, (UNGOVERNED, me)))
        return frozenset(self.own)


# -- maintenance -------------------------------------------------------------------------------------
def refresh(
    conn: sa.Connection,
    d: SqlDialect,
    created: Mapping[uuid.UUID, tuple[str, str]],
    new_edges: Sequence[tuple[uuid.UUID, str, uuid.UUID]],
) -> None:
    """Bring the facts up to date after a write: ``created`` maps each entity the batch inserted to its
    (kind, project); ``new_edges`` are the edges it inserted, as (src, relation, dst)."""
    if not created and not new_edges:
        return
    if d.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    nodes = {eid: _Node(kind, project) for eid, (kind, project) in created.items()}
    touched: set[uuid.UUID] = set()  # stored entities whose own facts or upstream the batch changed
    get = nodes.get
    for src, rel, dst in new_edges:  # Node.add_edge, inlined: this loop sees every edge of bulk loads
        kinds = _MATERIAL.get(rel)
        if kinds is not None:
            down, up = (dst, src) if rel in _AT_SRC else (src, dst)
            node = get(down)
            if node is None:
                touched.add(down)
            elif node.kind in kinds and up != down:
                node.ups.append(up)
        if rel in _OWN:
            node = get(src)
            if node is None:
                touched.add(src)
            elif rel == "governed_by":
                node.own.add((LICENSE, dst))
                node.licensed = True
            elif rel == "depicts":
                if node.kind == "asset":
                    node.own.add((TALENT, dst))
            else:
                node.made = True
    stale = touched - nodes.keys()
    if stale:
        from rmtc.store.sql.closure import closure

        reach = closure(conn, d, list(stale), "down", through=MATERIAL, project=None, annotate=())
        _load_existing(conn, d, nodes, [i for i in reach.kinds if i not in nodes])
    _write(conn, d, _compute(conn, d, nodes))


def rebuild(conn: sa.Connection, d: SqlDialect) -> None:
    """Recompute every entity's facts from provenance (after a migration, or to check the index)."""
    conn.execute(sa.delete(upstream_facts))
    conn.execute(sa.delete(fact_sets))
    nodes: dict[uuid.UUID, _Node] = {}
    for raw, kind, project in conn.execute(
        sa.select(_raw(entities.c.id), entities.c.kind, entities.c.project).order_by(entities.c.seq)
    ):
        nodes[d.id_of(raw)] = _Node(kind, project)
    _attach_edges(conn, d, nodes, None)
    _write(conn, d, _compute(conn, d, nodes))


def _load_existing(conn: sa.Connection, d: SqlDialect, nodes: dict[uuid.UUID, _Node], ids: list[Any]) -> None:
    """Add stored entities to ``nodes`` with every edge of theirs (they are to be recomputed)."""
    added: dict[uuid.UUID, _Node] = {}
    for chunk in _chunks(ids):
        stmt = sa.select(_raw(entities.c.id), entities.c.kind, entities.c.project).where(
            d.in_list(entities.c.id, chunk)
        )
        for raw, kind, project in conn.execute(stmt):
            added[d.id_of(raw)] = _Node(kind, project)
    _attach_edges(conn, d, added, list(added))
    nodes.update(added)


def _attach_edges(
    conn: sa.Connection, d: SqlDialect, nodes: dict[uuid.UUID, _Node], ids: list[uuid.UUID] | None
) -> None:
    """Every stored edge touching ``nodes`` that facts depend on (all edges when ``ids`` is None)."""
    wanted = sorted(_OWN | _MATERIAL.keys())
    cols = (_raw(edges.c.src), edges.c.relation, _raw(edges.c.dst))
    statements = []
    if ids is None:
        statements.append(sa.select(*cols).where(edges.c.relation.in_(wanted)).order_by(edges.c.seq))
    else:
        for chunk in _chunks(ids):
            by_src = sa.select(*cols).where(edges.c.relation.in_(wanted), d.in_list(edges.c.src, chunk))
            statements.append(by_src)
            statements.append(
                sa.select(*cols).where(edges.c.relation.in_(sorted(_AT_SRC)), d.in_list(edges.c.dst, chunk))
            )
    for stmt in statements:
        for raw_src, rel, raw_dst in conn.execute(stmt):
            src, dst = d.id_of(raw_src), d.id_of(raw_dst)
            if (node := nodes.get(src)) is not None:
                node.add_edge(src, src, rel, dst)
            if dst != src and (node := nodes.get(dst)) is not None and (ids is None or rel in _AT_SRC):
                node.add_edge(dst, src, rel, dst)


def _compute(
    conn: sa.Connection, d: SqlDialect, nodes: dict[uuid.UUID, _Node]
) -> dict[uuid.UUID, tuple[FactSet, FactSet, int]]:
    """Facts and own facts of every node, from their upstream neighbours (stored ones read here)."""
    outside = _stored_neighbours(conn, d, nodes)
    deps: dict[uuid.UUID, list[uuid.UUID]] = {}
    fixed: dict[uuid.UUID, list[FactSet]] = {}
    for eid, node in nodes.items():
        inner, outer = [], []
        for up in node.ups:
            if up in nodes:
                if nodes[up].project == node.project:
                    inner.append(up)
            else:
                found = outside.get(up)
                if found is not None and found[0] == node.project:
                    outer.append(found[1])
        deps[eid] = inner
        fixed[eid] = outer
    interned: dict[FactSet, FactSet] = {_EMPTY: _EMPTY}
    own = {eid: _intern(interned, node.own_facts(eid)) for eid, node in nodes.items()}
    facts: dict[uuid.UUID, FactSet] = {}
    order, cyclic = _order(deps)
    for eid in order:
        facts[eid] = _union(interned, own[eid], fixed[eid], [facts[u] for u in deps[eid]])
    if cyclic:  # on or behind a cycle of material edges: the least fixpoint, which is reachability
        for eid in cyclic:
            facts[eid] = _union(interned, own[eid], fixed[eid], [facts[u] for u in deps[eid] if u in facts])
        changed = True
        while changed:
            changed = False
            for eid in cyclic:
                new = _union(interned, facts[eid], [], [facts[u] for u in deps[eid]])
                if new != facts[eid]:
                    facts[eid], changed = new, True
    return {eid: (facts[eid], own[eid], len(set(deps[eid])) + len(fixed[eid])) for eid in nodes}


def _stored_neighbours(
    conn: sa.Connection, d: SqlDialect, nodes: dict[uuid.UUID, _Node]
) -> dict[uuid.UUID, tuple[str, FactSet]]:
    """The project and facts of every upstream neighbour not being recomputed. One without facts (a
    store whose index was never built) is recomputed with the others instead."""
    wanted = list({up for node in nodes.values() for up in node.ups if up not in nodes})
    if not wanted:
        return {}
    rows: dict[uuid.UUID, tuple[str, str | None]] = {}
    for chunk in _chunks(wanted):
        stmt = (
            sa.select(_raw(entities.c.id), entities.c.project, upstream_facts.c.facts)
            .select_from(entities.outerjoin(upstream_facts, upstream_facts.c.entity == entities.c.id))
            .where(d.in_list(entities.c.id, chunk))
        )
        for raw, project, facts_digest in conn.execute(stmt):
            rows[d.id_of(raw)] = (project, facts_digest)
    missing = [eid for eid, (_, dg) in rows.items() if dg is None]
    if missing:
        _load_existing(conn, d, nodes, missing)
        return _stored_neighbours(conn, d, nodes)
    sets = read_sets(conn, d, {dg for _, dg in rows.values() if dg is not None})
    return {eid: (project, sets.get(dg, _EMPTY)) for eid, (project, dg) in rows.items() if dg is not None}


def _order(deps: dict[uuid.UUID, list[uuid.UUID]]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """A dependency order of the nodes (Kahn) and, apart, those on or behind a cycle."""
    waiting = {eid: len(ups) for eid, ups in deps.items()}
    users: dict[uuid.UUID, list[uuid.UUID]] = {}
    for eid, ups in deps.items():
        for up in ups:
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
    conn: sa.Connection, d: SqlDialect, computed: dict[uuid.UUID, tuple[FactSet, FactSet, int]]
) -> None:
    if not computed:
        return
    digests: dict[FactSet, str] = {}

    def address(facts: FactSet) -> str:
        found = digests.get(facts)
        if found is None:
            found = digests[facts] = digest(facts)
        return found

    rows = [(d.raw_id(eid), address(facts), address(own), ups) for eid, (facts, own, ups) in computed.items()]
    stored = _stored_digests(conn, d, [dg for facts, dg in digests.items() if facts])
    set_rows = [
        (dg, d.raw_id(ref), role)
        for facts, dg in digests.items()
        if facts and dg not in stored
        for role, ref in sorted(facts)
    ]
    p = d.placeholder  # the driver's placeholder; no value is ever formatted into the SQL
    if set_rows:
        sql = f"INSERT INTO fact_sets (digest, ref, role) VALUES ({p}, {p}, {p}) ON CONFLICT DO NOTHING"  # noqa: S608
        for chunk in _chunks(set_rows):
            conn.exec_driver_sql(sql, chunk)
    sql = (
        f"INSERT INTO upstream_facts (entity, facts, own, ups) VALUES ({p}, {p}, {p}, {p}) "  # noqa: S608
        "ON CONFLICT (entity) DO UPDATE SET facts = excluded.facts, own = excluded.own, ups = excluded.ups"
    )
    for chunk in _chunks(rows):
        conn.exec_driver_sql(sql, chunk)


def _stored_digests(conn: sa.Connection, d: SqlDialect, wanted: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(wanted):
        stmt = sa.select(fact_sets.c.digest).where(d.in_list(fact_sets.c.digest, chunk)).distinct()
        found.update(conn.execute(stmt).scalars())
    return found


# -- reading -----------------------------------------------------------------------------------------
def read_sets(conn: sa.Connection, d: SqlDialect, wanted: Collection[str]) -> dict[str, FactSet]:
    """The fact sets of these digests (a digest with no rows is the empty set)."""
    found: dict[str, set[Fact]] = {}
    for chunk in _chunks(list(wanted)):
        stmt = sa.select(fact_sets.c.digest, fact_sets.c.role, _raw(fact_sets.c.ref)).where(
            d.in_list(fact_sets.c.digest, chunk)
        )
        for dg, role, raw in conn.execute(stmt):
            found.setdefault(dg, set()).add((role, d.id_of(raw)))
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
    return {eid: as_upstream(sets[dg]) for eid, dg in rows.items()}


def as_upstream(facts: Iterable[Fact]) -> UpstreamFacts:
    by_role: dict[str, set[EntityId]] = {LICENSE: set(), TALENT: set(), UNGOVERNED: set()}
    for role, ref in facts:
        by_role[role].add(EntityId(ref))
    return UpstreamFacts(
        licenses=frozenset(by_role[LICENSE]),
        talents=frozenset(by_role[TALENT]),
        ungoverned=frozenset(by_role[UNGOVERNED]),
    )


def holding(
    conn: sa.Connection, d: SqlDialect, refs: Collection[EntityId], project: str
) -> dict[EntityId, EntityRef]:
    """Every entity of ``project`` whose facts hold one of ``refs`` (so: everything materially
    downstream of the entities holding them directly, those included), in recording order."""
    if not refs:
        return {}
    digests = sa.select(fact_sets.c.digest).where(d.in_list(fact_sets.c.ref, list(refs))).distinct()
    stmt = (
        sa.select(_raw(entities.c.id), entities.c.kind, entities.c.name, entities.c.version)
        .select_from(upstream_facts.join(entities, entities.c.id == upstream_facts.c.entity))
        .where(upstream_facts.c.facts.in_(digests), entities.c.project.concat("") == project)
        .order_by(entities.c.seq)
    )
    kinds = {k.value: k for k in Kind}
    found: dict[EntityId, EntityRef] = {}
    for raw, kind, name, version in conn.execute(stmt):
        eid = EntityId(d.id_of(raw))
        found[eid] = EntityRef(eid, kinds[kind], name, version)
    return found


def _raw(column: Any) -> Any:
    """A column as the driver gives it (no per-row type processing: see ``SqlDialect.id_of``)."""
    return sa.type_coerce(column, sa.types.NullType())


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
