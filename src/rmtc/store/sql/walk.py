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

A leg whose relations fix the kind of entity they start from (:data:`rmtc.core.kinds.ENDS`:
``member_of`` joins an asset to a dataset version, and the store refuses any other) is asked only from
the entities of the frontier of that kind: the others are ``None`` in its list parameter, so positions
stay those of the frontier. The level rows carry each reached entity's kind for that. A trace reaches
a thousand assets, and their ``member_of`` probes upstream found nothing, a fifth of the level's time
on PostgreSQL.

The levels are pipelined (:meth:`SqlDialect.pipeline`): a level is sent as soon as the one before is
read and its new entities picked, and the one before is decoded while the server computes it.

Each entity a level reaches comes with the rest of its first edge's row (looked up by its seq, the
primary key, in the same statement) and, with ``entities``, with its own row (joined already for the
project check), so nothing is read a second time: a trace decodes its entities and edges from the
level rows.

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

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from rmtc.core.frozen import assembler
from rmtc.core.ids import EntityId
from rmtc.core.kinds import ENDS, UPSTREAM_AT_SRC, Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import Send, SqlDialect
from rmtc.store.types import Edge, WalkStep

_AT_SRC = frozenset(r.value for r in UPSTREAM_AT_SRC)
_VOCABULARY = frozenset(codec.RELATION_OF)
#: A level's first edges are packed as ``position * _SEQ_SPAN + seq`` (edge seqs stay below 2**43);
#: frontiers are cut into chunks of ``_CHUNK`` positions so that stays below 2**62 on both backends.
_SEQ_SPAN = 1 << 43
_CHUNK = 1 << 19


@dataclass(frozen=True, slots=True)
class _Leg:
    """Edges followed from ``near`` to ``far`` (``src``/``dst`` column names): those whose relation is
    one of ``relations``. ``near_kinds``: the only kinds of entity such an edge can start from, where
    the vocabulary fixes them (:data:`rmtc.core.kinds.ENDS`); ``None`` for any."""

    near: str
    far: str
    relations: frozenset[str]
    near_kinds: frozenset[str] | None = None

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
    forward = ("src", "dst", ordinary if up else at_src)
    backward = ("dst", "src", at_src if up else ordinary)
    legs = tuple(
        _Leg(near, far, rels, _near_kinds(near, rels)) for near, far, rels in (forward, backward) if rels
    )
    return _Plan(up, legs, kinds, project, max_depth, entities)


def _near_kinds(near: str, relations: frozenset[str]) -> frozenset[str] | None:
    """The kinds an edge of one of ``relations`` can have at its ``near`` end, if every one of them
    fixes them (:data:`rmtc.core.kinds.ENDS`); otherwise ``None``."""
    kinds: set[str] = set()
    for rel in relations:
        ends = ENDS.get(codec.RELATION_OF[rel])
        if ends is None:
            return None
        kinds.update(k.value for k in ends[0 if near == "src" else 1])
    return frozenset(kinds)


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
    """One walk, one level at a time (see the module docstring).

    A frontier travels as three parallel lists: the ids as 32 hex digits (the statement's parameter,
    see :meth:`SqlDialect.hex_list`), their kinds where known (for the legs that start from some kinds
    only) and their ids. Each entity reached is hashed once, as text, into the set of those seen."""

    def __init__(self, conn: sa.Connection, d: SqlDialect, plan: _Plan):
        self.conn = conn
        self.d = d
        self.plan = plan
        level = _level_sql(d, plan)
        self.level_sql, self.legs, self.kind_at = level.sql, level.legs, level.kind_at
        self._times: dict[Any, Any] = {}  # raw time -> datetime, converted once per walk

    def run(self, starts: list[EntityId]) -> list[WalkStep]:
        plan, d = self.plan, self.d
        by_raw = {codec.hex_of(s): s for s in starts}
        seen = set(by_raw)
        out: list[WalkStep] = []
        if not self.legs:
            return out
        # Each level is sent before the one before it is decoded, so the server computes it meanwhile
        # (on PostgreSQL; see SqlDialect.pipeline).
        with d.pipeline(self.conn) as send, d.probing_indexes(self.conn, send):
            kinds: dict[Any, str | None] = dict.fromkeys(by_raw)  # in the order given
            if plan.project is not None:
                kinds = self._in_project(send, list(by_raw))
            frontier = _Frontier(list(kinds), list(kinds.values()), [by_raw[r] for r in kinds])
            if not frontier.raw:
                return out
            depth, pending = 1, self._send(send, frontier)
            kind_at = self.kind_at
            while pending:
                found = self._collect(pending, seen)
                raw = [row[0] for _, row in found]
                reached = _Frontier(
                    raw, [row[kind_at] for _, row in found] if kind_at is not None else [], []
                )
                more = raw and (plan.max_depth is None or depth < plan.max_depth)
                next_pending = self._send(send, reached) if more else []
                out.extend(self._steps_of(depth, frontier.ids, found, reached.ids))
                frontier, pending = reached, next_pending
                depth += 1
        return out

    def _in_project(self, send: Send, ids: list[str]) -> dict[Any, str | None]:
        """Those of ``ids`` that are entities of the walk's project, with their kinds."""
        d = self.d
        sql = f"SELECT {d.hex_id('e.id')}, e.project, e.kind FROM {d.hex_table('j')} CROSS JOIN entities e"  # noqa: S608
        rows = send(f"{sql} WHERE e.id = j.value", (d.hex_list(ids),))()
        inside = {rid: kind for rid, project, kind in rows if project == self.plan.project}
        return {i: inside[i] for i in ids if i in inside}

    def _send(self, send: Send, frontier: _Frontier) -> list[tuple[int, Callable[[], list[Any]]]]:
        """The level statements from ``frontier`` (one per chunk of it), sent: each chunk's first
        position, packed as in a first edge, and the function that gives its rows."""
        tail = () if self.plan.project is None else (self.plan.project,)
        hex_list, raw, kinds = self.d.hex_list, frontier.raw, frontier.kinds
        pending = []
        for start in range(0, len(raw), _CHUNK):
            chunk = raw[start : start + _CHUNK]
            params = []
            for leg in self.legs:
                if leg.near_kinds is None:
                    params.append(hex_list(chunk))
                else:  # None in their places, so positions still order the first edges
                    near = leg.near_kinds
                    chunk_kinds = kinds[start : start + _CHUNK]
                    kept = [
                        i if k is None or k in near else None for i, k in zip(chunk, chunk_kinds, strict=True)
                    ]
                    params.append(hex_list(kept))
            pending.append((start * _SEQ_SPAN, send(self.level_sql, (*params, *tail))))
        return pending

    @staticmethod
    def _collect(pending: list[tuple[int, Callable[[], list[Any]]]], seen: set[Any]) -> list[tuple[int, Any]]:
        """Every entity a level reached and not in ``seen`` (added to it), as its packed first edge
        and its level row, in the order breadth first reaches them."""
        found: list[tuple[int, Any]] = []
        add = seen.add
        for offset, rows in pending:
            for row in rows():
                far = row[0]
                # One hash for both the test and the insertion.
                size = len(seen)
                add(far)
                if len(seen) != size:  # not in an earlier chunk, where an earlier edge reached it
                    found.append((row[1] + offset, row))
        found.sort(key=itemgetter(0))
        return found

    def _steps_of(
        self, depth: int, near_ids: list[EntityId], found: list[tuple[int, Any]], far_ids: list[EntityId]
    ) -> list[WalkStep]:
        """A level's part of the walk's answer, from its rows and the ids of the frontier it started
        from: each entity reached with the edge that first reached it (and the entity, if asked for).
        The ids of the entities reached are appended to ``far_ids``, in their order."""
        if not found:
            return []
        d, up = self.d, self.plan.up
        nodes: Iterable[Any] = repeat(None)
        if self.plan.entities:
            nodes = codec.raw_entities(d, [row[6:] for _, row in found])
        times = self._times
        out: list[WalkStep] = []
        # Thousands of each per trace, from rows the store wrote: built without __init__.
        new_edge, new_step = assembler(Edge), assembler(WalkStep)
        uuid_of, time_of, json_of, keep = codec.uuid_of, d.time_of, d.json_of, far_ids.append
        relation_of = codec.RELATION_OF
        for (first, row), node in zip(found, nodes, strict=False):
            _, _, rel, attrs, at, by = row[:6]
            near_id = near_ids[first // _SEQ_SPAN]
            # Each entity is reached once; its decoded row has its id already.
            far_id = node.id if node is not None else EntityId(uuid_of(row[0]))
            keep(far_id)
            created = times.get(at)
            if created is None:
                created = times[at] = time_of(at)
            relation, attrs = relation_of[rel], json_of(attrs) or {}
            if (rel in _AT_SRC) is up:  # the step went dst -> src
                edge = new_edge(far_id, relation, near_id, attrs, created, by)
            else:
                edge = new_edge(near_id, relation, far_id, attrs, created, by)
            out.append(new_step(far_id, depth, edge, node))
        return out


@dataclass(slots=True)
class _Frontier:
    """The entities a level starts from, in order: ids as hex digits, kinds (``None`` where not known; empty
    when no leg needs them) and ids (filled as the level before is decoded)."""

    raw: list[str]
    kinds: list[str | None]
    ids: list[EntityId]


@dataclass(frozen=True, slots=True)
class _Level:
    """A walk's level statement: its text, the legs it walks (each takes a list parameter, then the
    project if the plan has one) and the column of its rows that holds the reached entity's kind."""

    sql: str
    legs: tuple[_Leg, ...]
    kind_at: int | None


def _level_sql(d: SqlDialect, plan: _Plan) -> _Level:
    """The statement of one level: per entity reached, ``far``, its packed first edge, that edge's
    ``relation, attrs, created_at, created_by`` and, with ``entities``, the entity's row (else its
    kind, where a leg needs the kinds of the frontier)."""
    branches, legs = [], []
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
        frontier = d.hex_table("j", sparse=leg.near_kinds is not None)
        branches.append(
            f"SELECT {far} AS far, j.key * {_SEQ_SPAN} + e.seq AS first "  # noqa: S608 - schema names
            f"FROM {frontier} CROSS JOIN edges e{joins} WHERE {where}"
        )
        legs.append(leg)
    if not branches:
        return _Level("", (), None)
    grouped = f"SELECT far, min(first) AS first FROM ({' UNION ALL '.join(branches)}) AS s GROUP BY far"  # noqa: S608
    # Each entity reached comes with the rest of its first edge's row (by its seq, the primary key),
    # and with the plan's project, its project checked and, with ``entities``, its own row. CROSS JOIN
    # fixes SQLite's join order: without statistics it could read the whole project through its index.
    attrs = codec.raw_json("x.attrs")
    kinds_needed = any(leg.near_kinds is not None for leg in legs)
    columns, kind_at = "", None
    if plan.entities:
        columns, kind_at = f", {codec.raw_entity_select(d, 'f')}", 6 + codec.RAW_ENTITY_COLUMNS.index("kind")
    elif kinds_needed:
        columns, kind_at = ", f.kind", 6
    # (``&``, not ``%``: the span is a power of two, and ``%`` is psycopg's placeholder mark.)
    joins, where = " CROSS JOIN edges x", f"x.seq = g.first & {_SEQ_SPAN - 1}"
    if plan.project is not None or plan.entities or kinds_needed:
        joins += " CROSS JOIN entities f"
        where += " AND f.id = g.far"
        if plan.project is not None:
            where += f" AND f.project = {d.placeholder}"
    sql = (
        f"SELECT {d.hex_id('g.far')}, g.first, x.relation, {attrs}, x.created_at, x.created_by{columns} "  # noqa: S608
        f"FROM ({grouped}) AS g{joins} WHERE {where}"
    )
    return _Level(sql, tuple(legs), kind_at)


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
