"""``MetadataStore.walk``: everything reachable upstream or downstream, breadth first.

What it has to do: be cycle-safe and depth-limited, stay scoped to a project at *both* ends of every
edge, return each entity once at its smallest depth with the first edge that reached it (first in
breadth-first order: the frontier in discovery order, each node's edges in recording order), and stay
fast on large graphs with many diamonds (thousands of paths to one node).

How: one statement per depth level, from Python, over the frontier (the entities first reached at the
previous level, one list parameter):

- The legs of a step join the frontier (with each entity's position in it) to the edges on the
  ``(src, relation, dst)`` and ``(dst, relation, src)`` indexes, and keep, per entity at the far end,
  only its *first* edge: the smallest ``position * 2**43 + seq``, which is exactly the edge breadth
  first would have followed first. So a level returns one row per entity it reaches, not one per
  edge explored: diamonds are folded in the database, where they cost an index entry each, instead of
  in Python, where every row costs objects.
- The far end's project is checked in the same statement (one lookup per entity reached, not per
  edge), and ``through`` kinds per edge, joined on the downstream end.
- Python drops what was already seen, orders the rest by that first edge (the order breadth first
  discovers them in) and makes it the next frontier. Every entity is expanded once: the cost is linear
  in the edges explored, cycles end by themselves, and ``max_depth`` simply stops the levels.

Only the edges that reached something are then read in full, once, at the end. With ``entities``, each
level also returns the full row of every entity it reaches (the statement joins that row already, for
the project), so a trace decodes its entities without a second read of each.

A recursive CTE would be one statement, but it cannot give depths and first edges without expanding a
node once per depth or path at which it is reached (rows differing in depth are distinct), so it had
to be followed by a second pass over every explored edge - about twice the index work of this.

Orientation: upstream is an edge's dst, except for the relations of
:data:`rmtc.core.kinds.UPSTREAM_AT_SRC` (``member_of``), whose upstream is the src. Each step is
therefore one of two *legs*, src -> dst or dst -> src, chosen by relation and direction.

Relations are matched as one index range per node where that is possible: the relation vocabulary is
closed (every edge is written with a :class:`~rmtc.core.kinds.Relation`), so "every ordinary relation"
is ``relation <> 'member_of'``, one range read of the node's index entries, where ``relation IN (9
names)`` would be nine probes per node.

``through`` (relation -> kinds) limits the walk to those relations, and an edge is followed only when
its *downstream* end is of one of its relation's kinds (see :data:`rmtc.core.kinds.MATERIAL`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from rmtc.core.ids import EntityId
from rmtc.core.kinds import UPSTREAM_AT_SRC, Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.types import Edge, WalkStep

_AT_SRC = frozenset(r.value for r in UPSTREAM_AT_SRC)
_RELATIONS = {r.value: r for r in Relation}
_VOCABULARY = frozenset(_RELATIONS)
#: A level's first edges are packed as ``position * _SEQ_SPAN + seq`` (edge seqs stay below 2**43);
#: frontiers are cut into chunks of ``_CHUNK`` positions so that stays below 2**62 on both backends.
_SEQ_SPAN = 1 << 43
_CHUNK = 1 << 19


@dataclass(frozen=True, slots=True)
class _Leg:
    """Edges followed from ``near`` to ``far`` (``src``/``dst`` column names): those whose relation is
    one of ``relations``."""

    near: str
    far: str
    relations: frozenset[str]

    def matches(self, edge: Any) -> ColumnElement[bool]:
        rel = edge.c.relation
        condition: ColumnElement[bool]
        if len(self.relations) == 1:
            condition = rel == next(iter(self.relations))
        else:
            condition = rel.in_(sorted(self.relations))
        return condition


@dataclass(frozen=True, slots=True)
class _Plan:
    up: bool
    legs: tuple[_Leg, ...]
    through: Mapping[str, frozenset[str]] | None
    project: str | None
    max_depth: int | None
    entities: bool = False


def walk(
    conn: sa.Connection,
    d: SqlDialect,
    start: Sequence[EntityId],
    direction: str,
    *,
    relations: Sequence[Relation] | None,
    max_depth: int | None,
    project: str | None,
    through: Mapping[Relation, Collection[Kind]] | None = None,
    entities: bool = False,
) -> list[WalkStep]:
    if direction not in ("up", "down"):
        raise InvalidInput(f"walk direction {direction!r} is not known", hint="use 'up' or 'down'")
    if max_depth is not None and (isinstance(max_depth, bool) or not isinstance(max_depth, int)):
        raise InvalidInput(f"max_depth {max_depth!r} is not an integer", hint="pass a whole number or None")
    starts = codec.as_ids(start)
    plan = _plan(direction == "up", relations, through, project, max_depth, entities)
    if not starts or not plan.legs or (max_depth is not None and max_depth < 1):
        return []
    return _Walk(conn, d, plan).run(starts)


def _plan(
    up: bool,
    relations: Sequence[Relation] | None,
    through: Mapping[Relation, Collection[Kind]] | None,
    project: str | None,
    max_depth: int | None,
    entities: bool = False,
) -> _Plan:
    allowed: set[str] | None = None
    if relations is not None:
        allowed = {codec.relation(r).value for r in relations}
    kinds: dict[str, frozenset[str]] | None = None
    if through is not None:
        kinds = {
            codec.relation(r).value: frozenset(Kind.parse(str(k)).value for k in ks)
            for r, ks in through.items()
        }
        allowed = set(kinds) if allowed is None else allowed & set(kinds)
    # Walking up, ordinary edges go src -> dst and member_of dst -> src; walking down, the reverse.
    # Relations are always listed (the vocabulary is closed): `relation IN (...)` is an index range on
    # both ends' indexes, where `relation NOT IN (...)` would read every edge of the node and filter.
    if allowed is None:
        allowed = {r.value for r in Relation}
    at_src = frozenset(allowed & _AT_SRC)
    ordinary = frozenset(allowed - _AT_SRC)
    forward = _Leg("src", "dst", ordinary if up else at_src)
    backward = _Leg("dst", "src", at_src if up else ordinary)
    legs = tuple(leg for leg in (forward, backward) if leg.relations)
    return _Plan(up, legs, kinds, project, max_depth, entities)


def _ends(plan: _Plan, edge: Any) -> tuple[Any, Any]:
    """The near and far end of a step over ``edge`` (a CASE when both legs are walked)."""
    if len(plan.legs) == 1:
        leg = plan.legs[0]
        return edge.c[leg.near], edge.c[leg.far]
    second = plan.legs[1].matches(edge)
    first_near, first_far = plan.legs[0].near, plan.legs[0].far
    return (
        sa.case((second, edge.c[first_far]), else_=edge.c[first_near]),
        sa.case((second, edge.c[first_near]), else_=edge.c[first_far]),
    )


def _kinds_ok(plan: _Plan, edge: Any, downstream_kind: Any) -> ColumnElement[bool]:
    assert plan.through is not None
    return sa.or_(
        *(
            sa.and_(edge.c.relation == rel, downstream_kind.in_(sorted(ks)))
            for rel, ks in plan.through.items()
        )
    )


class _Walk:
    """One walk, one level at a time (see the module docstring)."""

    def __init__(self, conn: sa.Connection, d: SqlDialect, plan: _Plan):
        self.conn = conn
        self.d = d
        self.plan = plan
        self.level_sql, self.legs = _level_sql(d, plan)
        self.rows: dict[Any, Any] = {}  # far -> its entity row, when the plan reads entities

    def run(self, starts: list[EntityId]) -> list[WalkStep]:
        plan = self.plan
        seen = {self.d.raw_id(s) for s in starts}
        frontier = list(seen)
        if plan.project is not None:
            frontier = self._in_project(frontier)
        reached: list[tuple[int, Any, Any, Any]] = []  # (depth, seq of the first edge, near, far)
        if frontier and self.legs:
            self.d.probe_indexes(self.conn)
        depth = 0
        while frontier and self.legs and (plan.max_depth is None or depth < plan.max_depth):
            depth += 1
            firsts = self._firsts(frontier, seen)
            nxt: list[Any] = []
            for far, first in sorted(firsts.items(), key=itemgetter(1)):
                position, seq = divmod(first, _SEQ_SPAN)
                seen.add(far)
                nxt.append(far)
                reached.append((depth, seq, frontier[position], far))
            frontier = nxt
        return self._steps_of(reached)

    def _in_project(self, ids: list[Any]) -> list[Any]:
        """Those of ``ids`` that are entities of the walk's project, in the same order."""
        sql = f"SELECT id, project FROM entities WHERE {self.d.raw_in('id')}"  # noqa: S608 - fixed text
        rows = self.conn.exec_driver_sql(sql, (self.d.raw_list(ids),)).all()
        inside = {rid for rid, project in rows if project == self.plan.project}
        return [i for i in ids if i in inside]

    def _firsts(self, frontier: list[Any], seen: set[Any]) -> dict[Any, int]:
        """Every entity one step from ``frontier`` and not in ``seen`` -> its packed first edge."""
        firsts: dict[Any, int] = {}
        tail = () if self.plan.project is None else (self.plan.project,)
        for start in range(0, len(frontier), _CHUNK):
            param = self.d.raw_list(frontier[start : start + _CHUNK])
            rows = self.conn.exec_driver_sql(self.level_sql, (param,) * self.legs + tail).all()
            offset = start * _SEQ_SPAN
            for row in rows:
                far, first = row[0], row[1]
                if far not in seen and far not in firsts:  # an earlier chunk's edge comes first
                    firsts[far] = first + offset
                    if self.plan.entities:
                        self.rows[far] = row[2:]
        return firsts

    def _steps_of(self, reached: list[tuple[int, Any, Any, Any]]) -> list[WalkStep]:
        """The walk's answer: the edges that reached something, read in full, ids and times converted
        once each."""
        if not reached:
            return []
        d, up = self.d, self.plan.up
        attrs = codec.raw_json("attrs")
        sql = f"SELECT seq, relation, {attrs}, created_at, created_by FROM edges WHERE {d.raw_in('seq')}"  # noqa: S608
        rows = self.conn.exec_driver_sql(sql, (d.raw_list([r[1] for r in reached]),)).all()
        rest = {row[0]: row for row in rows}
        nodes: dict[Any, Any] = {}
        if self.plan.entities:
            wanted = [self.rows[r[3]] for r in reached]
            nodes = {r[3]: e for r, e in zip(reached, codec.raw_entities(d, wanted), strict=True)}
        ids: dict[Any, EntityId] = {}
        times: dict[Any, Any] = {}
        out: list[WalkStep] = []
        for depth, seq, near, far in reached:
            _, rel, attrs, at, by = rest[seq]
            near_id = ids.get(near)
            if near_id is None:
                near_id = ids[near] = EntityId(codec.uuid_of(near))
            node = nodes.get(far)
            # Each entity is reached once; its decoded row has its id already.
            far_id = ids[far] = node.id if node is not None else EntityId(codec.uuid_of(far))
            created = times.get(at)
            if created is None:
                created = times[at] = d.time_of(at)
            relation, attrs = _RELATIONS[rel], d.json_of(attrs) or {}
            if (rel in _AT_SRC) is up:  # the step went dst -> src
                edge = Edge(far_id, relation, near_id, attrs, created, by)
            else:
                edge = Edge(near_id, relation, far_id, attrs, created, by)
            out.append(WalkStep(far_id, depth, edge, node))
        return out


def _level_sql(d: SqlDialect, plan: _Plan) -> tuple[str, int]:
    """The statement of one level and how many legs it has (each takes the frontier parameter; the
    project, if any, is the last parameter): ``(far, packed first edge)`` per entity reached."""
    branches = []
    for leg in plan.legs:
        near, far = f"e.{leg.near}", f"e.{leg.far}"
        joins = ""
        conditions = [f"{near} = j.value", _relations_sql(leg.relations)]
        if plan.through is not None:
            kinds = _kinds_sql(plan.through, leg.relations)
            if kinds is None:
                continue  # no relation of this leg may be followed to any kind
            joins = " CROSS JOIN entities k"
            conditions += [f"k.id = {near if plan.up else far}", kinds]
        where = " AND ".join(c for c in conditions if c)
        branches.append(
            f"SELECT {far} AS far, j.key * {_SEQ_SPAN} + e.seq AS first "  # noqa: S608 - schema names
            f"FROM {d.raw_table('j')} CROSS JOIN edges e{joins} WHERE {where}"
        )
    if not branches:
        return "", 0
    legs = " UNION ALL ".join(branches)
    sql = f"SELECT far, min(first) AS first FROM ({legs}) AS s GROUP BY far"  # noqa: S608
    if plan.project is not None or plan.entities:
        # The entities reached are looked up by id (CROSS JOIN fixes SQLite's join order: without
        # statistics it would otherwise read the whole project through its index).
        columns = f", {codec.raw_entity_select('f')}" if plan.entities else ""
        where = "" if plan.project is None else f" AND f.project = {d.placeholder}"
        sql = (
            f"SELECT g.far, g.first{columns} FROM ({sql}) AS g CROSS JOIN entities f "  # noqa: S608
            f"WHERE f.id = g.far{where}"
        )
    return sql, len(branches)


def _relations_sql(relations: frozenset[str]) -> str:
    """``relation`` is one of ``relations`` (closed-vocabulary spellings, safe as literals), written as
    the shorter of the two lists (see the module docstring); empty when every relation is meant."""
    others = _VOCABULARY - relations
    if not others:
        return ""
    if len(others) < len(relations):
        return f"e.relation NOT IN ({codec.literals(others)})"
    return f"e.relation IN ({codec.literals(relations)})"


def _kinds_sql(through: Mapping[str, frozenset[str]], relations: frozenset[str]) -> str | None:
    """The ``through`` condition on the downstream end ``k`` for the relations of one leg, or ``None``
    when none of them can be followed."""
    options = [
        f"(e.relation = '{rel}' AND k.kind IN ({codec.literals(kinds)}))"
        for rel, kinds in sorted(through.items())
        if rel in relations and kinds
    ]
    return f"({' OR '.join(options)})" if options else None
