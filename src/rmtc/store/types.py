"""Value types that cross the store boundary. Plain frozen dataclasses: they travel as JSON too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from rmtc.core.entities import Entity, label_of
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Edge:
    """``src --relation--> dst``. ``attrs`` qualify it (a paired member's ``role`` and ``pair``)."""

    src: EntityId
    relation: Relation
    dst: EntityId
    attrs: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the append-only audit log: who did what to which entity, when."""

    action: str
    actor: str
    at: datetime
    target: EntityId | None = None
    project: str = "default"
    detail: Mapping[str, Any] = field(default_factory=dict)
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class MetricPoint:
    key: str
    step: int
    value: float
    at: datetime | None = None


RunState = Literal["created", "running", "finished", "failed", "killed"]


@dataclass(frozen=True, slots=True)
class RunStatus:
    run: EntityId
    state: RunState
    updated_at: datetime
    message: str = ""


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """Everything one logical write records, committed in one transaction.

    Entities whose natural key already exists with the same content hash are not written again: the
    existing entity stands for them, and edges and audit events in the batch that named the new id
    are redirected to it (see :class:`WriteResult`). ``params`` indexes run parameters for search.
    """

    entities: Sequence[Entity] = ()
    edges: Sequence[Edge] = ()
    audit: Sequence[AuditEvent] = ()
    statuses: Sequence[RunStatus] = ()


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a batch became: ``entities`` in the batch's order, each the stored one (new or existing);
    ``created`` counts those actually inserted; ``edges_created`` the new edges."""

    entities: Sequence[Entity]
    created: int
    edges_created: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; pass ``next_cursor`` back to get the next, ``None`` when there is none."""

    items: Sequence[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """A filter over entities; every set field must match (AND).

    ``name_like`` matches case-insensitively anywhere in the name; ``id_prefix`` matches the start of
    the UUID's canonical text; ``fields`` matches kind-specific fields by equality (e.g.
    ``{"sequence": "/shots/sh010/plate.####.exr"}``); ``ids`` restricts to a set of ids.
    """

    kind: Kind | None = None
    project: str | None = None
    name: str | None = None
    name_like: str | None = None
    version: int | None = None
    key: str | None = None
    content_hash: str | None = None
    id_prefix: str | None = None
    ids: Sequence[EntityId] | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    created_after: datetime | None = None
    created_before: datetime | None = None
    newest_first: bool = False


ParamValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Find runs by parameter values and latest metric values.

    ``params`` must all be equal; ``metrics`` are ``(key, op, value)`` with op one of
    ``< <= > >= = !=`` against each metric's latest value.
    """

    project: str | None = None
    run_type: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    metrics: Sequence[tuple[str, str, float]] = ()
    states: Sequence[RunState] = ()


@dataclass(frozen=True, slots=True)
class Closure:
    """Everything reachable from some start entities, in compact form: what rights, ``contains`` and
    impact questions need, without loading a single entity.

    ``kinds`` holds the starts and every reached entity in breadth-first order (by depth, then in the
    order the reaching edges were recorded). ``parent`` gives each reached entity the neighbour it was
    first reached from and the relation of that edge (follow it back to a start for an evidence
    path); ``depth`` its distance from the starts. ``annotations`` are the edges of the requested
    relations whose src is one of ``kinds`` (``governed_by``, ``depicts`` ...), as ``(src, relation,
    dst)``, whether or not their dst was reached.
    """

    kinds: dict[EntityId, Kind]
    parent: dict[EntityId, tuple[EntityId, Relation]]
    depth: dict[EntityId, int]
    annotations: list[tuple[EntityId, Relation, EntityId]] = field(default_factory=list)

    def path(self, entity: EntityId) -> list[tuple[EntityId, Relation | None]]:
        """From a start to ``entity``: each entity with the relation of the edge to the next one."""
        nodes, relations = [entity], []
        while nodes[-1] in self.parent:
            prev, relation = self.parent[nodes[-1]]
            nodes.append(prev)
            relations.append(relation)
        nodes.reverse()
        relations.reverse()
        return list(zip(nodes, [*relations, None], strict=True))


@dataclass(frozen=True, slots=True)
class UpstreamFacts:
    """What an entity's material upstream holds (itself included, within its project, through
    :data:`rmtc.core.kinds.MATERIAL`): the licences governing any of it, the talents its assets depict,
    and the raw sources (assets and weights made of nothing recorded) that no licence governs.

    Every fact is an entity id, so one collection of them can ask a walk for the entities holding any
    (:meth:`~rmtc.store.protocol.MetadataStore.closure` ``having``).
    """

    licenses: frozenset[EntityId] = frozenset()
    talents: frozenset[EntityId] = frozenset()
    ungoverned: frozenset[EntityId] = frozenset()

    #: The ``annotate`` relations :meth:`of_closure` needs.
    RELATIONS: ClassVar[tuple[Relation, ...]] = (
        Relation.GOVERNED_BY,
        Relation.DEPICTS,
        Relation.GENERATED_BY,
        Relation.DERIVED_FROM,
        Relation.VARIANT_OF,
    )

    @property
    def all(self) -> frozenset[EntityId]:
        return self.licenses | self.talents | self.ungoverned

    @classmethod
    def of_closure(cls, closure: Closure) -> UpstreamFacts:
        """The facts of a material upstream closure's start, from the closure itself (annotated with
        :attr:`RELATIONS`): the definition the kept facts are held to."""
        licensed: dict[EntityId, set[EntityId]] = {}
        talents: set[EntityId] = set()
        made: set[EntityId] = set()
        for src, rel, dst in closure.annotations:
            if rel is Relation.GOVERNED_BY:
                licensed.setdefault(src, set()).add(dst)
            elif rel is Relation.DEPICTS:
                if closure.kinds.get(src) is Kind.ASSET:
                    talents.add(dst)
            elif rel in cls.RELATIONS:
                made.add(src)
        return cls(
            licenses=frozenset(x for xs in licensed.values() for x in xs),
            talents=frozenset(talents),
            ungoverned=frozenset(
                eid
                for eid, kind in closure.kinds.items()
                if kind in (Kind.ASSET, Kind.WEIGHTS) and eid not in made and not licensed.get(eid)
            ),
        )


@dataclass(frozen=True, slots=True)
class EntityRef:
    """What names an entity, without its fields: enough to list and label the thousands of entities a
    revocation touches without reading and decoding each one."""

    id: EntityId
    kind: Kind
    name: str
    version: int | None = None

    @property
    def label(self) -> str:
        """``kind:name[@version]``, as :attr:`rmtc.core.entities.Entity.label`."""
        return label_of(self.kind, self.name, self.version)


@dataclass(frozen=True, slots=True)
class WalkStep:
    """One entity reached by a walk: how far, and by which edge it was first reached; ``node`` is the
    entity itself when the walk was asked for entities (``None`` otherwise)."""

    entity: EntityId
    depth: int
    via: Edge | None
    node: Entity | None = None
