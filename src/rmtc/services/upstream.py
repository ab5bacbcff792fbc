"""The material upstream of an artefact: everything it is made of, with the licences and talents that
reach it, gathered in two round trips so rights, contains and reports share one walk.

The closure of a model version spans thousands of entities (every member of every dataset version it
was trained on) while the answers about it name a handful: its licences, its talents, one evidence
path per reason. So the closure arrives as ids, kinds and parent pointers
(:meth:`~rmtc.store.protocol.MetadataStore.closure`), with the ``governed_by``, ``depicts`` and
made-from edges leaving it; only the licences and talents are loaded with it, and any other entity
when something asks for it (:meth:`Upstream.load`, :meth:`Upstream.path_to`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity, License, Party
from rmtc.core.ids import EntityId
from rmtc.core.kinds import MATERIAL, Kind, Relation
from rmtc.core.rights import Revocation
from rmtc.store.types import Closure, Edge

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker

#: Queries with ``IN (...)`` lists are sent in chunks of this many ids.
CHUNK = 900
_SOURCE_KINDS = (Kind.ASSET, Kind.WEIGHTS)
_MADE_FROM = (Relation.GENERATED_BY, Relation.DERIVED_FROM, Relation.VARIANT_OF)
_ANNOTATE = (Relation.GOVERNED_BY, Relation.DEPICTS, *_MADE_FROM)


@dataclass
class Upstream:
    """An artefact's material closure and what governs it."""

    tracker: Tracker
    root: Entity
    closure: Closure
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
    _loaded: dict[EntityId, Entity] = field(default_factory=dict, repr=False)

    @property
    def kinds(self) -> dict[EntityId, Kind]:
        """Every entity of the closure (the root first, then breadth first) with its kind."""
        return self.closure.kinds

    def load(self, ids: Iterable[EntityId]) -> dict[EntityId, Entity]:
        """These entities, fetched once and kept."""
        missing = [i for i in dict.fromkeys(ids) if i not in self._loaded]
        if missing:
            self._loaded.update(get_entities(self.tracker, missing))
        return self._loaded

    @property
    def entities(self) -> dict[EntityId, Entity]:
        """Every entity of the closure, loaded (for reports; the questions load only what they name)."""
        loaded = self.load(self.closure.kinds)
        return {i: loaded[i] for i in self.closure.kinds if i in loaded}

    def path_to(self, entity: EntityId) -> list[tuple[Entity, Relation | None]]:
        """The chain from the root to ``entity``: each entity with the relation to the next one."""
        return self.paths_to([entity])[0]

    def paths_to(self, targets: Sequence[EntityId]) -> list[list[tuple[Entity, Relation | None]]]:
        """:meth:`path_to` for several entities, loading every entity on them in one go."""
        chains = [self.closure.path(t) for t in targets]
        loaded = self.load(i for chain in chains for i, _ in chain)
        return [[(loaded[i], r) for i, r in chain] for chain in chains]


def gather(t: Tracker, root: Entity) -> Upstream:
    closure = t.store.closure([root.id], "up", through=MATERIAL, project=t.project, annotate=_ANNOTATE)
    if root.id not in closure.kinds:  # another project's entity, resolved by id: nothing upstream
        closure.kinds[root.id] = root.kind
    up = Upstream(t, root, closure, _loaded={root.id: root})
    made: set[EntityId] = set()
    for src, relation, dst in closure.annotations:
        if relation is Relation.GOVERNED_BY:
            up.governed.setdefault(src, []).append(dst)
        elif relation is Relation.DEPICTS:
            if closure.kinds.get(src) is Kind.ASSET:
                up.depicts.setdefault(src, []).append(dst)
        else:
            made.add(src)
    terms = governance(
        t, {x for xs in up.governed.values() for x in xs}, {p for ps in up.depicts.values() for p in ps}
    )
    up._loaded.update(terms.loaded)
    up.agreements, up.licenses, up.talents, up.revoked = (
        terms.agreements,
        terms.licenses,
        terms.talents,
        terms.revoked,
    )
    up.sources = [i for i, k in closure.kinds.items() if k in _SOURCE_KINDS and i not in made]
    return up


@dataclass
class Governance:
    """The licences and talents that reach an artefact, loaded: every licence governing its upstream
    and every agreement of a talent depicted in it, whether each is revoked, and each talent's
    agreements."""

    licenses: dict[EntityId, License]
    talents: dict[EntityId, Party]
    agreements: dict[EntityId, list[EntityId]]
    revoked: dict[EntityId, Revocation]
    loaded: dict[EntityId, Entity]


def governance(t: Tracker, licenses: Iterable[EntityId], talents: Iterable[EntityId]) -> Governance:
    talent_ids = sorted(set(talents), key=str)
    agreements: dict[EntityId, list[EntityId]] = {}
    for e in find_edges(t, dst=talent_ids, relations=[Relation.ATTRIBUTED_TO]):
        agreements.setdefault(e.dst, []).append(e.src)
    lic_ids = set(licenses) | {x for xs in agreements.values() for x in xs}
    found = get_entities(t, [*sorted(lic_ids, key=str), *talent_ids])
    lics = {i: lic for i in lic_ids if isinstance(lic := found.get(i), License)}
    revoked = {
        eid: revocation_of(flags["revoked"])
        for eid, flags in t.store.get_flags(list(lics)).items()
        if "revoked" in flags
    }
    return Governance(
        licenses=lics,
        talents={i: who for i in talent_ids if isinstance(who := found.get(i), Party)},
        agreements=agreements,
        revoked=revoked,
        loaded=found,
    )


def revocation_of(flag: dict[str, Any]) -> Revocation:
    return Revocation(date.fromisoformat(str(flag["at"])), str(flag.get("reason", "")))


def get_entities(t: Tracker, ids: Sequence[EntityId]) -> dict[EntityId, Entity]:
    """Entities by id, in chunks the databases' parameter limits allow."""
    out: dict[EntityId, Entity] = {}
    for chunk in _chunks(ids):
        out.update(t.store.get_entities(chunk))
    return out


def find_edges(
    t: Tracker,
    *,
    src: Sequence[EntityId] | None = None,
    dst: Sequence[EntityId] | None = None,
    relations: Sequence[Relation],
) -> list[Edge]:
    """Edges from (or to) many ids, in chunks."""
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
