"""Lineage: what an artefact came from (upstream) and what was made from it (downstream).

A trace is a walk over the one edge table, done by the store (a recursive query), scoped to the
tracker's project at both ends of every edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.store.types import Edge

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

Direction = Literal["up", "down", "both"]


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

    def trace(
        self,
        ref: RefLike,
        *,
        direction: Direction = "up",
        depth: int | None = None,
        relations: Sequence[Relation] | None = None,
        kinds: Sequence[Kind] | None = None,
    ) -> Trace:
        """Walk from an entity. ``kinds`` filters what is shown, never what is walked through."""
        root = self.t.resolve(ref)
        nodes = [TraceNode(root, 0, "root", None)]
        for way in ("up", "down"):
            if direction not in (way, "both"):
                continue
            steps = self.t.store.walk(
                [root.id], way, relations=relations, max_depth=depth, project=self.t.project
            )
            found = self.t.store.get_entities(s.entity for s in steps)
            nodes += [
                TraceNode(found[s.entity], s.depth, way, s.via)  # type: ignore[arg-type]
                for s in steps
                if s.entity in found
            ]
        if kinds:
            wanted = set(kinds)
            nodes = [n for n in nodes if n.direction == "root" or n.entity.kind in wanted]
        return Trace(root, nodes)

    def upstream_ids(self, ref: RefLike, relations: Sequence[Relation] | None = None) -> list[EntityId]:
        root = self.t.resolve(ref)
        return [
            s.entity for s in self.t.store.walk([root.id], "up", relations=relations, project=self.t.project)
        ]
