"""``MetadataStore.walk``: everything reachable upstream or downstream, as one recursive query.

How it works, and why. The walk has to be a recursive CTE on both backends, cycle-safe, depth-limited,
scoped to a project at *both* ends of every edge, return each entity once at its smallest depth with
one edge that reached it, and stay fast on large graphs with many diamonds (thousands of paths to one
node).

A recursive CTE that carries the depth (or the path) in its rows cannot do all of that: rows that
differ only in depth are distinct, so a node reached along many paths is expanded once per distinct
depth or path - exponential in layered "diamond" graphs, and unbounded on cycles without a depth cap.
So the work is split:

1. **Reachability in the CTE.** Without a depth limit the CTE's rows are bare node ids combined with
   ``UNION``, which both databases de-duplicate against everything produced so far: every node is
   expanded exactly once, so the cost is linear in the edges explored, cycles end by themselves, and
   diamonds cost nothing extra. With ``max_depth`` the rows are ``(id, depth)`` with ``depth <
   max_depth``: a node is expanded at most once per depth level at which it is reachable, a bounded
   cost that lets a shallow walk stop early instead of computing the whole closure. Project scoping
   joins the entity at the far end of each step (the start entities are filtered the same way), so
   the walk never enters an entity of another project.
2. **Depths in one pass.** The same statement then returns the edges leaving the reached nodes (same
   relation, kind and project conditions; only ``seq`` and the two ends, as the driver gives them) in
   recording order, and a breadth-first pass over that subgraph in Python gives every node its
   minimum depth and the first edge that reached it. The pass is linear in the rows returned, which
   are exactly the edges the CTE explored; only the edges that reached something are then read in
   full.

Orientation: upstream is an edge's dst, except for the relations of
:data:`rmtc.core.kinds.UPSTREAM_AT_SRC` (``member_of``), whose upstream is the src. Each step is
therefore one of two *legs*, src -> dst or dst -> src, chosen by relation and direction; a step with
both legs is one join with ``OR``-ed conditions, which both databases answer with one index probe per
leg: the unique ``(src, relation, dst)`` index and the ``(dst, relation, src)`` index.

``through`` (relation -> kinds) limits the walk to those relations, and an edge is followed only when
its *downstream* end is of one of its relation's kinds (see :data:`rmtc.core.kinds.MATERIAL`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from rmtc.core.ids import EntityId
from rmtc.core.kinds import UPSTREAM_AT_SRC, Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.schema import edges, entities
from rmtc.store.types import Edge, WalkStep

_AT_SRC = frozenset(r.value for r in UPSTREAM_AT_SRC)
_EDGE_COLUMNS = ("seq", "src", "relation", "dst", "attrs", "created_at", "created_by")
_RELATIONS = {r.value: r for r in Relation}


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
) -> list[WalkStep]:
    if direction not in ("up", "down"):
        raise InvalidInput(f"walk direction {direction!r} is not known", hint="use 'up' or 'down'")
    if max_depth is not None and (isinstance(max_depth, bool) or not isinstance(max_depth, int)):
        raise InvalidInput(f"max_depth {max_depth!r} is not an integer", hint="pass a whole number or None")
    starts = codec.as_ids(start)
    plan = _plan(direction == "up", relations, through, project, max_depth)
    if not starts or not plan.legs or (max_depth is not None and max_depth < 1):
        return []
    rows = conn.execute(_subgraph(d, starts, plan)).all()
    return _breadth_first(conn, d, starts, rows, max_depth)


def _plan(
    up: bool,
    relations: Sequence[Relation] | None,
    through: Mapping[Relation, Collection[Kind]] | None,
    project: str | None,
    max_depth: int | None,
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
    return _Plan(up, legs, kinds, project, max_depth)


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


def _step_conditions(plan: _Plan, stmt: Any, edge: Any, near: Any, far: Any) -> Any:
    """Kind and project conditions of one step, joining the entities they need: the far end's project,
    the downstream end's kind (the near end walking up, the far end walking down)."""
    far_entity = None
    if plan.project is not None:
        far_entity = entities.alias()
        stmt = stmt.join(far_entity, far_entity.c.id == far).where(far_entity.c.project == plan.project)
    if plan.through is not None:
        if far_entity is not None and not plan.up:
            ent = far_entity
        else:
            ent = entities.alias()
            stmt = stmt.join(ent, ent.c.id == (near if plan.up else far))
        stmt = stmt.where(_kinds_ok(plan, edge, ent.c.kind))
    return stmt


def _subgraph(d: SqlDialect, starts: list[EntityId], plan: _Plan) -> Any:
    """One statement: the recursive reachability CTE, then the edges leaving every reached node."""
    depth = plan.max_depth is not None
    seed_cols: list[Any] = [entities.c.id.label("id")]
    if depth:
        seed_cols.append(sa.literal(0, sa.Integer()).label("depth"))
    seeds = sa.select(*seed_cols).where(d.in_list(entities.c.id, starts))
    if plan.project is not None:
        # `project || ''` is not indexable: without statistics SQLite would otherwise scan the whole
        # project through its index instead of looking the start ids up.
        seeds = seeds.where(entities.c.project.concat("") == plan.project)
    reach = seeds.cte("reach", recursive=True)

    step_edge = edges.alias("step")
    _, far = _ends(plan, step_edge)
    joined = sa.or_(
        *(sa.and_(step_edge.c[leg.near] == reach.c.id, leg.matches(step_edge)) for leg in plan.legs)
    )
    step_cols: list[Any] = [far.label("id")]
    if depth:
        step_cols.append((reach.c.depth + 1).label("depth"))
    step = sa.select(*step_cols).select_from(reach.join(step_edge, joined))
    step = _step_conditions(plan, step, step_edge, reach.c.id, far)
    if depth:
        step = step.where(reach.c.depth < plan.max_depth)
    reach = reach.union(step)

    frontier = sa.select(reach.c.id)
    if depth:
        frontier = frontier.where(reach.c.depth < plan.max_depth)
    raw = sa.types.NullType()  # the driver's values as they are: only compared and hashed here
    branches = []
    for leg in plan.legs:
        out = edges.alias(f"out_{leg.near}")
        near_col, far_col = out.c[leg.near], out.c[leg.far]
        branch = sa.select(
            sa.type_coerce(out.c.seq, raw).label("seq"),
            sa.type_coerce(near_col, raw).label("near"),
            sa.type_coerce(far_col, raw).label("far"),
            sa.literal(leg.far == "dst").label("far_is_dst"),
        ).where(near_col.in_(frontier), leg.matches(out))
        if plan.through is not None:
            ent = entities.alias()
            downstream = near_col if plan.up else far_col
            branch = branch.join(ent, ent.c.id == downstream).where(_kinds_ok(plan, out, ent.c.kind))
        if plan.project is not None:
            # The reached set is already scoped: an edge may be followed iff its far end was reached.
            # (EXISTS, not IN: an IN here lets SQLite drive the scan from the far end's index, which
            # visits every edge *into* a reached node instead of only those leaving one.)
            branch = branch.where(sa.exists().where(reach.c.id == far_col))
        branches.append(branch)
    if len(branches) == 1:
        return branches[0].order_by(sa.literal_column("seq"))
    return sa.union_all(*branches).order_by(sa.literal_column("seq"))


def _breadth_first(
    conn: sa.Connection,
    d: SqlDialect,
    starts: list[EntityId],
    rows: Sequence[Any],
    max_depth: int | None,
) -> list[WalkStep]:
    """Minimum depths and first edges over the ``(seq, near, far, far_is_dst)`` rows, in recording
    order; only the edges that reached something are then read in full."""
    adjacency: dict[Any, list[tuple[Any, Any, Any]]] = {}
    for seq, near, far, far_is_dst in rows:
        adjacency.setdefault(near, []).append((seq, far, far_is_dst))
    seen = {d.raw_id(s) for s in starts}
    reached: list[tuple[int, Any, bool]] = []  # (depth, seq of the first edge, is the far end its dst)
    frontier = list(seen)
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        nxt: list[Any] = []
        for node in frontier:
            for seq, far, far_is_dst in adjacency.get(node, ()):
                if far not in seen:
                    seen.add(far)
                    nxt.append(far)
                    reached.append((depth, seq, bool(far_is_dst)))
        frontier = nxt
    if not reached:
        return []
    via = _edges_by_seq(conn, d, [seq for _, seq, _ in reached])
    return [
        WalkStep(entity=via[seq].dst if is_dst else via[seq].src, depth=depth, via=via[seq])
        for depth, seq, is_dst in reached
    ]


def _edges_by_seq(conn: sa.Connection, d: SqlDialect, seqs: list[Any]) -> dict[Any, Edge]:
    """The edges with these seqs, decoded by hand from the driver's values (ids repeat a lot: each is
    converted once)."""
    raw = sa.types.NullType()
    stmt = sa.select(*(sa.type_coerce(edges.c[c], raw) for c in _EDGE_COLUMNS)).where(
        d.in_list(edges.c.seq, seqs)
    )
    ids: dict[Any, EntityId] = {}

    def id_of(value: Any) -> EntityId:
        found = ids.get(value)
        if found is None:
            found = ids[value] = EntityId(d.id_of(value))
        return found

    rows: list[Any] = list(conn.execute(stmt))
    return {
        seq: Edge(id_of(src), _RELATIONS[rel], id_of(dst), d.json_of(attrs) or {}, d.time_of(at), by)
        for seq, src, rel, dst, attrs, at, by in rows
    }
