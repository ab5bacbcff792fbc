"""Lineage: what an artefact came from (upstream) and what was made from it (downstream).

A trace is a walk over the one edge table, done by the store (a recursive query), scoped to the
tracker's project at both ends of every edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rmtc.core import collector
from rmtc.core.entities import Entity
from rmtc.core.frozen import assembler
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.services.reads import one_transaction
from rmtc.store.types import Edge

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

Direction = Literal["up", "down", "both"]

#: One colour per kind, shared by the DOT export, the report's SVG and the Explorer.
KIND_COLOURS = {
    "asset": "#cfe8ff",
    "dataset": "#d9f2d0",
    "dataset_version": "#b7e4a5",
    "party": "#ffd6a5",
    "license": "#ffadad",
    "right": "#ffc6c6",
    "solution": "#e0d7ff",
    "run": "#fdffb6",
    "model": "#e4c1f9",
    "weights": "#d0bfff",
    "checkpoint": "#ddd0ff",
    "model_version": "#b197fc",
    "inference": "#a0e7e5",
    "session": "#c8f4f2",
}


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True, slots=True)
class TraceNode:
    entity: Entity
    depth: int
    direction: Literal["up", "down", "root"]
    via: Edge | None


@dataclass(frozen=True, slots=True)
class Trace:
    root: Entity
    nodes: list[TraceNode]

    def entities(self, kind: Kind | None = None) -> list[Entity]:
        return [n.entity for n in self.nodes if kind is None or n.entity.kind is kind]

    def to_dot(self) -> str:
        """Graphviz DOT: one node per entity coloured by kind, one labelled arrow per edge walked."""
        lines = [
            "digraph provenance {",
            "  rankdir=BT;",
            '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        ]
        for n in self.nodes:
            colour = KIND_COLOURS.get(n.entity.kind.value, "#eeeeee")
            lines.append(f'  "{n.entity.id}" [label="{_dot_escape(n.entity.label)}", fillcolor="{colour}"];')
        for n in self.nodes:
            if n.via is not None:
                e = n.via
                lines.append(f'  "{e.src}" -> "{e.dst}" [label="{e.relation.value}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, object]:
        return {
            "root": self.root.to_json(),
            "nodes": [
                {
                    **n.entity.to_json(),
                    "depth": n.depth,
                    "direction": n.direction,
                    "via": None
                    if n.via is None
                    else {"src": str(n.via.src), "relation": n.via.relation.value, "dst": str(n.via.dst)},
                }
                for n in self.nodes
            ],
        }


class Lineage:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    @one_transaction
    def trace(
        self,
        ref: RefLike,
        *,
        direction: Direction = "up",
        depth: int | None = None,
        relations: Sequence[Relation] | None = None,
        kinds: Sequence[Kind] | None = None,
    ) -> Trace:
        """Walk from an entity. ``kinds`` filters what is shown, never what is walked through.

        With the cyclic collector paused (:mod:`rmtc.core.collector`): a trace builds an entity, an
        edge and a node for each of thousands of entities, all kept until it returns, and the
        collections that triggers were a tenth of a trace's time on PostgreSQL."""
        with collector.paused():
            return self._trace(ref, direction, depth, relations, kinds)

    def _trace(
        self,
        ref: RefLike,
        direction: Direction,
        depth: int | None,
        relations: Sequence[Relation] | None,
        kinds: Sequence[Kind] | None,
    ) -> Trace:
        root = self.t.resolve(ref)
        nodes = [TraceNode(root, 0, "root", None)]
        for way in ("up", "down"):
            if direction not in (way, "both"):
                continue
            steps = self.t.store.walk(
                [root.id], way, relations=relations, max_depth=depth, project=self.t.project, entities=True
            )
            node = assembler(TraceNode)  # thousands per trace, from the walk's own values
            nodes.extend(node(s.node, s.depth, way, s.via) for s in steps if s.node is not None)
        if kinds:
            wanted = set(kinds)
            nodes = [n for n in nodes if n.direction == "root" or n.entity.kind in wanted]
        return Trace(root, nodes)

    @one_transaction
    def path(self, a: RefLike, b: RefLike) -> list[tuple[Entity, Edge | None]] | None:
        """The shortest chain of edges from ``a`` to ``b``, upstream or downstream (``None`` if they are
        not connected that way): each entity with the edge that leads to the next."""
        start, goal = self.t.resolve(a), self.t.resolve(b)
        if start.id == goal.id:
            return [(start, None)]
        for way in ("up", "down"):
            steps = self.t.store.walk([start.id], way, project=self.t.project)
            via = {s.entity: s.via for s in steps if s.via is not None}
            if goal.id not in via:
                continue
            chain: list[EntityId] = [goal.id]
            edges: list[Edge] = []
            while chain[-1] != start.id:
                edge = via[chain[-1]]
                edges.append(edge)
                chain.append(edge.src if edge.dst == chain[-1] and edge.src != chain[-1] else edge.dst)
            chain.reverse()
            edges.reverse()
            found = self.t.store.get_entities(chain)
            return [(found[i], edges[k] if k < len(edges) else None) for k, i in enumerate(chain)]
        return None

    def upstream_ids(self, ref: RefLike, relations: Sequence[Relation] | None = None) -> list[EntityId]:
        root = self.t.resolve(ref)
        return [
            s.entity for s in self.t.store.walk([root.id], "up", relations=relations, project=self.t.project)
        ]
