"""``MetadataStore.closure(..., having=...)``: the part of a material closure that leads to some facts.

A model version's material closure holds every member of every dataset version it was trained on, yet
the entities that lead to one licence or one talent are usually a few, and a question about withheld
rights needs only the nearest holder of each. The upstream facts index (:mod:`rmtc.store.sql.facts`)
says of every entity which facts its upstream holds, so the walk enters only entities whose facts meet
``having``, one level per query, and with ``nearest`` stops after the first level at which every fact
of ``having`` has a direct holder.

The result is exactly the full closure restricted to those entities (same breadth-first order, depths
and first parents): whatever lies on a path from the start to a holder of a fact has that fact in its
upstream, so no such path is cut, and the order in which the kept entities are reached is the order in
which the full walk reaches them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from rmtc.core.ids import EntityId
from rmtc.core.kinds import MATERIAL, UPSTREAM_AT_SRC, Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.schema import entities, upstream_facts
from rmtc.store.types import Closure

_MATERIAL = {r.value: frozenset(k.value for k in ks) for r, ks in MATERIAL.items()}
_AT_SRC = sorted(r.value for r in UPSTREAM_AT_SRC)
_AT_DST = sorted(r for r in _MATERIAL if r not in _AT_SRC)
_RAW = sa.types.NullType()


def check_guided(direction: str, through: Any) -> None:
    """Facts are kept for material upstream walks only: refuse ``having`` on any other walk."""
    given = (
        None
        if through is None
        else {Relation(r): frozenset(Kind(k) for k in ks) for r, ks in through.items()}
    )
    if direction != "up" or given != MATERIAL:
        raise InvalidInput(
            "closure(having=...) answers material upstream walks only",
            hint="pass direction='up' and through=rmtc.core.kinds.MATERIAL",
        )


def guided_closure(
    conn: sa.Connection,
    d: SqlDialect,
    start: Sequence[EntityId],
    *,
    project: str | None,
    having: Collection[EntityId],
    nearest: bool,
    annotate: Sequence[Relation],
) -> Closure:
    if project is None:
        raise InvalidInput(
            "a walk guided by upstream facts needs a project",
            hint="facts are kept per project: pass project=",
        )
    want = frozenset(uuid.UUID(str(x)) for x in having)
    hits = _Hits(conn, d, want)
    seeds = conn.execute(
        sa.select(_raw(entities.c.id), entities.c.kind, upstream_facts.c.own, upstream_facts.c.ups)
        .select_from(entities.outerjoin(upstream_facts, upstream_facts.c.entity == entities.c.id))
        .where(
            d.in_list(entities.c.id, [d.raw_id(s) for s in start]), entities.c.project.concat("") == project
        )
    ).all()
    by_raw = {raw: (kind, own, ups) for raw, kind, own, ups in seeds}
    # Each entity entered, by raw id: its kind, its own facts' digest and its id. One map, so an entity
    # is hashed once when entered and once per edge that reaches it again (PostgreSQL's raw ids are
    # ``uuid.UUID``, whose hash and equality are Python code); the frontier's own are in parallel lists.
    entered: dict[Any, tuple[str, str | None, EntityId]] = {}
    kinds: dict[EntityId, Kind] = {}
    frontier: list[Any] = []
    frontier_kinds: list[str] = []
    frontier_ids: list[EntityId] = []
    for s in start:
        raw = d.raw_id(s)
        if raw in by_raw and raw not in entered:
            kind, own, ups = by_raw[raw]
            entered[raw] = (kind, own, s)
            kinds[s] = codec.KIND_OF[kind]
            if ups != 0:  # nothing lies above an entity with no material upstream
                frontier.append(raw)
                frontier_kinds.append(kind)
                frontier_ids.append(s)
    found = set().union(*(hits.of(own) for _, own, _ in entered.values()))
    parent: dict[EntityId, tuple[EntityId, Relation]] = {}
    depth: dict[EntityId, int] = {}
    level = 0
    id_of, kind_of, relation_of = d.id_of, codec.KIND_OF, codec.RELATION_OF
    with d.probing_indexes(conn):  # each level joins the frontier's list to the edges
        while frontier and not (nearest and found >= want):
            level += 1
            step = _step(d, frontier, set(frontier_kinds), project)
            if step is None:
                break
            # In breadth-first order: by the near end's place in the frontier, then by edge.
            rows = conn.exec_driver_sql(step[0], tuple(step[1])).all()
            hits.learn(r[5] for r in rows)
            nxt: list[Any] = []
            nxt_kinds: list[str] = []
            nxt_ids: list[EntityId] = []
            for at, _, rel, far, far_kind, facts_dg, own_dg, ups in rows:
                if frontier_kinds[at] not in _MATERIAL[rel] or far in entered or not hits.of(facts_dg):
                    continue
                eid = EntityId(id_of(far))
                entered[far] = (far_kind, own_dg, eid)
                kinds[eid] = kind_of[far_kind]
                parent[eid] = (frontier_ids[at], relation_of[rel])
                depth[eid] = level
                found |= hits.of(own_dg)
                if ups != 0:
                    nxt.append(far)
                    nxt_kinds.append(far_kind)
                    nxt_ids.append(eid)
            frontier, frontier_kinds, frontier_ids = nxt, nxt_kinds, nxt_ids
        holders = [raw for raw, (_, own, _) in entered.items() if hits.of(own)]
        if nearest:  # only the first holder of each fact, breadth first
            first: dict[uuid.UUID, Any] = {}
            digests: set[str | None] = set()  # a holder of digests seen before holds no fact first
            for raw in holders:
                own = entered[raw][1]
                if own not in digests:
                    digests.add(own)
                    for fact in hits.of(own):
                        first.setdefault(fact, raw)
            firsts = set(first.values())
            holders = [raw for raw in holders if raw in firsts]
        ids = {raw: entered[raw][2] for raw in holders}
        return Closure(kinds, parent, depth, _annotations(conn, d, holders, ids, annotate, want))


class _Hits:
    """Which facts of ``want`` the fact set of each digest holds (asked once per digest)."""

    def __init__(self, conn: sa.Connection, d: SqlDialect, want: frozenset[uuid.UUID]):
        self.conn, self.d, self.want = conn, d, want
        self.known: dict[str, frozenset[uuid.UUID]] = {}

    def learn(self, digests: Any) -> None:
        new = {dg for dg in digests if dg is not None and dg not in self.known}
        if not new:
            return
        for dg in new:
            self.known[dg] = frozenset()
        found: dict[str, set[uuid.UUID]] = {}
        d = self.d
        sql = f"SELECT digest, ref FROM fact_sets WHERE {d.raw_in('digest')} AND {d.raw_in('ref')}"  # noqa: S608
        params = (d.raw_list(sorted(new)), d.raw_list(d.raw_id(x) for x in self.want))
        for dg, raw in self.conn.exec_driver_sql(sql, params):
            found.setdefault(dg, set()).add(self.d.id_of(raw))
        for dg, refs in found.items():
            self.known[dg] = frozenset(refs)

    def of(self, dg: str | None) -> frozenset[uuid.UUID]:
        if dg is None:
            return frozenset()
        if dg not in self.known:
            self.learn([dg])
        return self.known[dg]


def _step(d: SqlDialect, frontier: list[Any], kinds: set[str], project: str) -> tuple[str, list[Any]] | None:
    """The material edges one step upstream of ``frontier``, each with its near end's place in the
    frontier and the far end's kind and digests, in breadth-first order (by that place, then by
    edge); only the relations some entity of the frontier can be the downstream end of (None: no
    such relation). Raw SQL: the statement runs once per level of every walk, and building it with
    SQLAlchemy cost more than running it."""
    p = d.placeholder
    branches, params = [], []
    for near, far, every in (("src", "dst", _AT_DST), ("dst", "src", _AT_SRC)):
        relations = [r for r in every if _MATERIAL[r] & kinds]
        if not relations:
            continue
        named = ", ".join(f"'{r}'" for r in relations)  # the fixed vocabulary, never input
        # CROSS JOIN fixes SQLite's join order: from the frontier, not from the project's entities.
        branches.append(
            f"SELECT j.key, s.seq, s.relation, s.{far}, e.kind, f.facts, f.own, f.ups "  # noqa: S608
            f"FROM {d.raw_table('j')} CROSS JOIN edges s JOIN entities e ON e.id = s.{far} "
            f"JOIN upstream_facts f ON f.entity = s.{far} "
            f"WHERE s.{near} = j.value AND s.relation IN ({named}) "
            # ``|| ''`` keeps SQLite from driving the join from the project index (every entity of
            # the project) instead of from the frontier's edges.
            f"AND e.project || '' = {p}"
        )
        params += [d.raw_list(frontier), project]
    if not branches:
        return None
    return " UNION ALL ".join(branches) + " ORDER BY 1, 2", params


def _annotations(
    conn: sa.Connection,
    d: SqlDialect,
    holders: list[Any],
    ids: dict[Any, EntityId],
    annotate: Sequence[Relation],
    want: frozenset[uuid.UUID],
) -> list[tuple[EntityId, Relation, EntityId]]:
    relations = sorted({r.value for r in annotate})
    if not holders or not relations:
        return []
    named = ", ".join(f"'{r}'" for r in relations)  # the fixed vocabulary, never input
    sql = (
        f"SELECT src, relation, dst FROM edges WHERE {d.raw_in('src')} AND relation IN ({named}) "  # noqa: S608
        f"AND {d.raw_in('dst')} ORDER BY seq"
    )
    rows = conn.exec_driver_sql(sql, (d.raw_list(holders), d.raw_list(d.raw_id(x) for x in want))).all()
    facts: dict[Any, EntityId] = {}
    out = []
    for src, rel, dst in rows:
        fact = facts.get(dst)
        if fact is None:
            fact = facts[dst] = EntityId(d.id_of(dst))
        out.append((ids[src], codec.RELATION_OF[rel], fact))
    return out


def _raw(column: Any) -> Any:
    return sa.type_coerce(column, _RAW)
