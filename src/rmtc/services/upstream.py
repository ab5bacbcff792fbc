"""The material upstream of an artefact: everything it is made of, with the licences and talents that
reach it, gathered in a handful of batched queries so rights, contains and reports share one walk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, Entity, License, Party, Weights
from rmtc.core.ids import EntityId
from rmtc.core.kinds import MATERIAL, Relation, upstream_of
from rmtc.core.rights import Revocation
from rmtc.store.types import Edge

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker

#: Queries with ``IN (...)`` lists are sent in chunks of this many ids.
CHUNK = 900
_SOURCE_KINDS = (Asset, Weights)
_MADE_FROM = [Relation.GENERATED_BY, Relation.DERIVED_FROM, Relation.VARIANT_OF]


@dataclass
class Upstream:
    """An artefact's material closure and what governs it."""

    root: Entity
    entities: dict[EntityId, Entity]
    #: for each reached entity, the edge that reached it (the root has none)
    via: dict[EntityId, Edge]
    #: entity -> licences governing it directly
    governed: dict[EntityId, list[EntityId]] = field(default_factory=dict)
    #: asset -> talents it depicts
    depicts: dict[EntityId, list[EntityId]] = field(default_factory=dict)
    #: talent -> licences they are a party to (their agreements)
    agreements: dict[EntityId, list[EntityId]] = field(default_factory=dict)
    #: raw sources: assets and weights made of nothing else recorded here
    sources: list[EntityId] = field(default_factory=list)
    licenses: dict[EntityId, License] = field(default_factory=dict)
    talents: dict[EntityId, Party] = field(default_factory=dict)
    revoked: dict[EntityId, Revocation] = field(default_factory=dict)

    def path_to(self, entity: EntityId) -> list[tuple[Entity, Relation | None]]:
        """The chain from the root to ``entity``: each entity with the relation to the next one."""
        chain: list[tuple[Entity, Relation | None]] = [(self.entities[entity], None)]
        current = entity
        while current in self.via:
            edge = self.via[current]
            prev = edge.src if upstream_of(edge.relation) == "dst" else edge.dst
            chain.append((self.entities[prev], edge.relation))
            current = prev
        chain.reverse()  # now root first, each entity with the relation that leads to the next
        return chain


def gather(t: Tracker, root: Entity) -> Upstream:
    steps = t.store.walk([root.id], "up", through=MATERIAL, project=t.project)
    ids = [root.id, *(s.entity for s in steps)]
    entities = _get(t, ids)
    entities[root.id] = root
    up = Upstream(root, entities, {s.entity: s.via for s in steps if s.via is not None})
    for e in _edges(t, src=ids, relations=[Relation.GOVERNED_BY]):
        up.governed.setdefault(e.src, []).append(e.dst)
    asset_ids = [i for i, e in entities.items() if isinstance(e, Asset)]
    for e in _edges(t, src=asset_ids, relations=[Relation.DEPICTS]):
        up.depicts.setdefault(e.src, []).append(e.dst)
    talent_ids = sorted({p for ps in up.depicts.values() for p in ps}, key=str)
    for e in _edges(t, dst=talent_ids, relations=[Relation.ATTRIBUTED_TO]):
        up.agreements.setdefault(e.dst, []).append(e.src)
    lic_ids = {x for xs in up.governed.values() for x in xs} | {
        x for xs in up.agreements.values() for x in xs
    }
    found = _get(t, [*lic_ids, *talent_ids])
    up.licenses = {i: e for i, e in found.items() if isinstance(e, License)}
    up.talents = {i: e for i, e in found.items() if isinstance(e, Party)}
    for eid, flags in t.store.get_flags(list(up.licenses)).items():
        if "revoked" in flags:
            up.revoked[eid] = revocation_of(flags["revoked"])
    source_ids = [i for i, e in entities.items() if isinstance(e, _SOURCE_KINDS)]
    made = {e.src for e in _edges(t, src=source_ids, relations=_MADE_FROM)}
    up.sources = [i for i in source_ids if i not in made]
    return up


def revocation_of(flag: dict[str, Any]) -> Revocation:
    return Revocation(date.fromisoformat(str(flag["at"])), str(flag.get("reason", "")))


def _get(t: Tracker, ids: Sequence[EntityId]) -> dict[EntityId, Entity]:
    out: dict[EntityId, Entity] = {}
    for chunk in _chunks(ids):
        out.update(t.store.get_entities(chunk))
    return out


def _edges(
    t: Tracker,
    *,
    src: Sequence[EntityId] | None = None,
    dst: Sequence[EntityId] | None = None,
    relations: Sequence[Relation],
) -> list[Edge]:
    ids = src if src is not None else dst
    out: list[Edge] = []
    for chunk in _chunks(ids or []):
        if src is not None:
            out += t.store.find_edges(src=chunk, relations=relations)
        else:
            out += t.store.find_edges(dst=chunk, relations=relations)
    return out


def _chunks(ids: Iterable[EntityId]) -> Iterable[list[EntityId]]:
    batch: list[EntityId] = []
    for i in ids:
        batch.append(i)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch
