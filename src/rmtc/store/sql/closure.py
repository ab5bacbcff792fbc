"""``MetadataStore.closure``: a walk's reach as ids, kinds and parent pointers, in one statement.

It answers the same reachability as :mod:`rmtc.store.sql.walk` (same legs, ``through`` and project
rules), but for questions over closures of thousands of entities of which only a few are shown, so
it never decodes an entity or an edge in full:

- the recursive CTE carries each reached entity's **kind** beside its id (a functional dependency,
  so ``UNION`` still expands every entity once). The far end of every step is joined anyway for the
  project, and walking up, the ``through`` kind condition reads the near end's kind from the CTE row
  instead of joining the entity again;
- one ``UNION ALL`` then returns, tagged, the edges among reached entities (for the breadth-first
  pass that picks every entity's smallest depth and first parent, as the walk does), the reached
  entities with their kinds, and the ``annotate`` edges leaving them;
- ids come back as the driver gives them and each distinct one is converted once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.schema import edges, entities
from rmtc.store.sql.walk import _ends, _kinds_ok, _Plan, _plan
from rmtc.store.types import Closure

_EDGE, _NODE, _NOTE = 0, 1, 2


def closure(
    conn: sa.Connection,
    d: SqlDialect,
    start: Sequence[EntityId],
    direction: str,
    *,
    through: Mapping[Relation, Collection[Kind]] | None,
    project: str | None,
    annotate: Sequence[Relation],
) -> Closure:
    if direction not in ("up", "down"):
        raise InvalidInput(f"walk direction {direction!r} is not known", hint="use 'up' or 'down'")
    starts = codec.as_ids(start)
    plan = _plan(direction == "up", None, through, project, None)
    notes = sorted({codec.relation(r).value for r in annotate})
    if not starts:
        return Closure({}, {}, {})
    rows = conn.execute(_statement(d, starts, plan, notes)).all()
    return _assemble(d, starts, rows)


def _statement(d: SqlDialect, starts: list[EntityId], plan: _Plan, notes: list[str]) -> Any:
    seeds = sa.select(entities.c.id.label("id"), entities.c.kind.label("kind")).where(
        d.in_list(entities.c.id, starts)
    )
    if plan.project is not None:
        seeds = seeds.where(entities.c.project.concat("") == plan.project)  # see walk: look ids up
    reach = seeds.cte("reach", recursive=True)
    raw = sa.types.NullType()
    branches: list[Any] = []
    if plan.legs:
        step_edge = edges.alias("step")
        far_entity = entities.alias("far")
        _, far_id = _ends(plan, step_edge)
        joined = sa.or_(
            *(sa.and_(step_edge.c[leg.near] == reach.c.id, leg.matches(step_edge)) for leg in plan.legs)
        )
        step = sa.select(far_entity.c.id, far_entity.c.kind).select_from(
            reach.join(step_edge, joined).join(far_entity, far_entity.c.id == far_id)
        )
        if plan.project is not None:
            step = step.where(far_entity.c.project == plan.project)
        if plan.through is not None:
            downstream_kind = reach.c.kind if plan.up else far_entity.c.kind
            step = step.where(_kinds_ok(plan, step_edge, downstream_kind))
        reach = reach.union(step)
        for leg in plan.legs:
            out = edges.alias(f"out_{leg.near}")
            near = reach.alias(f"near_{leg.near}")
            branch = (
                sa.select(
                    sa.literal(_EDGE).label("tag"),
                    sa.type_coerce(out.c.seq, raw).label("seq"),
                    sa.type_coerce(out.c[leg.near], raw).label("a"),
                    sa.type_coerce(out.c[leg.far], raw).label("b"),
                    out.c.relation.label("label"),
                )
                .select_from(near.join(out, out.c[leg.near] == near.c.id))
                .where(leg.matches(out), sa.exists().where(reach.c.id == out.c[leg.far]))
            )
            if plan.through is not None:
                if plan.up:
                    branch = branch.where(_kinds_ok(plan, out, near.c.kind))
                else:
                    far = entities.alias(f"far_{leg.near}")
                    branch = branch.join(far, far.c.id == out.c[leg.far]).where(
                        _kinds_ok(plan, out, far.c.kind)
                    )
            branches.append(branch)
    branches.append(
        sa.select(
            sa.literal(_NODE).label("tag"),
            sa.null().label("seq"),
            sa.type_coerce(reach.c.id, raw).label("a"),
            sa.null().label("b"),
            reach.c.kind.label("label"),
        )
    )
    if notes:
        note = edges.alias("note")
        owner = reach.alias("owner")
        branches.append(
            sa.select(
                sa.literal(_NOTE).label("tag"),
                sa.type_coerce(note.c.seq, raw).label("seq"),
                sa.type_coerce(note.c.src, raw).label("a"),
                sa.type_coerce(note.c.dst, raw).label("b"),
                note.c.relation.label("label"),
            )
            .select_from(owner.join(note, note.c.src == owner.c.id))
            .where(note.c.relation.in_(notes) if len(notes) > 1 else note.c.relation == notes[0])
        )
    return sa.union_all(*branches)


def _assemble(d: SqlDialect, starts: list[EntityId], rows: Sequence[Any]) -> Closure:
    """Breadth first over the edge rows in recording order, as :func:`rmtc.store.sql.walk.walk` does."""
    ids: dict[Any, EntityId] = {}

    def id_of(value: Any) -> EntityId:
        found = ids.get(value)
        if found is None:
            found = ids[value] = EntityId(d.id_of(value))
        return found

    adjacency: dict[Any, list[tuple[Any, Any, str]]] = {}
    kind_of: dict[Any, str] = {}
    notes: list[tuple[int, Any, str, Any]] = []
    for tag, seq, a, b, label in rows:
        if tag == _EDGE:
            adjacency.setdefault(a, []).append((seq, b, label))
        elif tag == _NODE:
            kind_of[a] = label
        else:
            notes.append((seq, a, label, b))
    for edges_of in adjacency.values():
        edges_of.sort(key=lambda x: x[0])
    raw_starts = [d.raw_id(s) for s in starts]
    kinds: dict[EntityId, Kind] = {}
    for s, raw_s in zip(starts, raw_starts, strict=True):
        if raw_s in kind_of:
            ids[raw_s] = s
            kinds[s] = codec.KIND_OF[kind_of[raw_s]]
    parent: dict[EntityId, tuple[EntityId, Relation]] = {}
    depth: dict[EntityId, int] = {}
    frontier = list(dict.fromkeys(r for r in raw_starts if r in kind_of))
    seen = set(frontier)
    level = 0
    kind_named, relation_named = codec.KIND_OF, codec.RELATION_OF
    while frontier:
        level += 1
        nxt = []
        for node in frontier:
            for _, far, rel in adjacency.get(node, ()):
                if far not in seen:
                    seen.add(far)
                    nxt.append(far)
                    eid = id_of(far)
                    kinds[eid] = kind_named[kind_of[far]]
                    parent[eid] = (id_of(node), relation_named[rel])
                    depth[eid] = level
        frontier = nxt
    notes.sort(key=lambda x: x[0])
    annotations = [(id_of(a), codec.RELATION_OF[rel], id_of(b)) for _, a, rel, b in notes]
    return Closure(kinds, parent, depth, annotations)
