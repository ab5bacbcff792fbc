"""The Tracker: the one facade every interface (CLI, service, Nuke, notebooks) uses.

It holds the injected store, blob store, clock and user, resolves the references people type into
entities, and records facts with their audit trail in one transaction. The nouns built on it
(datasets, parties and licences, runs, ingest, lineage, verification) are services reached as
attributes (``tracker.datasets.snapshot(…)``), each a small module of its own.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rmtc.blobs.protocol import BlobStore
from rmtc.core.clock import Clock
from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId, Ref, new_id
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import AmbiguousReference, InvalidInput, NotFound
from rmtc.store.protocol import MetadataStore
from rmtc.store.types import AuditEvent, Edge, EntityQuery, Page, RunStatus, WriteBatch, WriteResult

if TYPE_CHECKING:
    from rmtc.services.datasets import Datasets
    from rmtc.services.derive import Deriver
    from rmtc.services.ingest.service import Ingestor
    from rmtc.services.lineage import Lineage
    from rmtc.services.parties import Parties
    from rmtc.services.purge import Purger
    from rmtc.services.revoke import Revoker
    from rmtc.services.rights import Rights
    from rmtc.services.runs import Runs
    from rmtc.services.verify import Verifier

E = TypeVar("E", bound=Entity)
RefLike = str | uuid.UUID | Ref | Entity

#: Versioned kinds and the kind a ``kind:name@version`` reference on their parent means.
_VERSIONED = {Kind.DATASET: Kind.DATASET_VERSION, Kind.MODEL: Kind.MODEL_VERSION}
_AMBIGUITY_SHOWN = 5


class Tracker:
    """A connected project. Build one with :func:`rmtc.open`; close it (or use ``with``) when done."""

    def __init__(
        self,
        store: MetadataStore,
        blobs: BlobStore,
        *,
        clock: Clock,
        user: str,
        project: str = "default",
        root: Path | None = None,
    ):
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.user = user
        self.project = project
        self.root = root

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Tracker {self.store.url} project={self.project!r} user={self.user!r}>"

    # -- services --------------------------------------------------------------------------------
    @functools.cached_property
    def datasets(self) -> Datasets:
        from rmtc.services.datasets import Datasets

        return Datasets(self)

    @functools.cached_property
    def parties(self) -> Parties:
        from rmtc.services.parties import Parties

        return Parties(self)

    @functools.cached_property
    def rights(self) -> Rights:
        from rmtc.services.rights import Rights

        return Rights(self)

    @functools.cached_property
    def deriver(self) -> Deriver:
        from rmtc.services.derive import Deriver

        return Deriver(self)

    @functools.cached_property
    def revoker(self) -> Revoker:
        from rmtc.services.revoke import Revoker

        return Revoker(self)

    @functools.cached_property
    def purger(self) -> Purger:
        from rmtc.services.purge import Purger

        return Purger(self)

    @functools.cached_property
    def runs(self) -> Runs:
        from rmtc.services.runs import Runs

        return Runs(self)

    @functools.cached_property
    def ingestor(self) -> Ingestor:
        from rmtc.services.ingest.service import Ingestor

        return Ingestor(self)

    @functools.cached_property
    def lineage(self) -> Lineage:
        from rmtc.services.lineage import Lineage

        return Lineage(self)

    @functools.cached_property
    def verifier(self) -> Verifier:
        from rmtc.services.verify import Verifier

        return Verifier(self)

    # -- building and recording facts ------------------------------------------------------------
    def new(self, cls: type[E], name: str, *, entity_id: EntityId | None = None, **fields: Any) -> E:
        """A new entity of ``cls`` stamped with a fresh id (or ``entity_id``, drawn in advance with
        :func:`rmtc.core.ids.new_ids`), the clock, the user and the project. Nothing is written until it
        is passed to :meth:`record`."""
        if not name or not name.strip():
            raise InvalidInput(f"a {cls.KIND.value} needs a name", hint="give a non-empty name")
        return cls(
            id=new_id() if entity_id is None else entity_id,
            name=name,
            created_at=self.clock.now(),
            created_by=self.user,
            project=self.project,
            **fields,
        )

    def edge(self, src: Entity | EntityId, relation: Relation, dst: Entity | EntityId, **attrs: Any) -> Edge:
        return Edge(
            src=_id_of(src),
            relation=relation,
            dst=_id_of(dst),
            attrs=attrs,
            created_at=self.clock.now(),
            created_by=self.user,
        )

    def record(
        self,
        entities: Sequence[Entity] = (),
        edges: Sequence[Edge] = (),
        *,
        action: str | None = None,
        target: Entity | EntityId | None = None,
        detail: Mapping[str, Any] | None = None,
        statuses: Sequence[RunStatus] = (),
    ) -> WriteResult:
        """Write entities and edges, and when ``action`` is given one audit event, in one transaction."""
        audit: list[AuditEvent] = []
        if action is not None:
            audit.append(self.audit_event(action, target=target, detail=detail))
        return self.store.write(WriteBatch(entities=entities, edges=edges, audit=audit, statuses=statuses))

    def audit_event(
        self, action: str, *, target: Entity | EntityId | None = None, detail: Mapping[str, Any] | None = None
    ) -> AuditEvent:
        return AuditEvent(
            action=action,
            actor=self.user,
            at=self.clock.now(),
            target=_id_of(target) if target is not None else None,
            project=self.project,
            detail=dict(detail or {}),
        )

    def link(
        self,
        src: RefLike,
        relation: Relation | str,
        dst: RefLike,
        **attrs: Any,
    ) -> Edge:
        """Record one edge between two existing entities (idempotent)."""
        rel = relation if isinstance(relation, Relation) else Relation.parse(relation)
        a, b = self.resolve(src), self.resolve(dst)
        edge = self.edge(a, rel, b, **attrs)
        self.record(edges=[edge], action="link", target=a, detail={"relation": rel.value, "dst": str(b.id)})
        return edge

    # -- reading ---------------------------------------------------------------------------------
    def get(self, entity_id: EntityId | uuid.UUID) -> Entity:
        entity = self.store.get_entity(EntityId(entity_id))
        if entity.project != self.project:
            raise NotFound(f"no entity {entity_id} in project {self.project!r}", hint="check the project")
        return entity

    def query(self, kind: Kind | str | None = None, **filters: Any) -> EntityQuery:
        """An :class:`EntityQuery` in this project; unknown keyword filters match kind fields."""
        k = Kind.parse(kind) if isinstance(kind, str) else kind
        names = {f.name for f in dataclasses.fields(EntityQuery)}
        known = {key: value for key, value in filters.items() if key in names}
        fields = {key: value for key, value in filters.items() if key not in names}
        return EntityQuery(kind=k, project=self.project, fields=fields, **known)

    def find(
        self, kind: Kind | str | None = None, *, limit: int = 100, cursor: str | None = None, **filters: Any
    ) -> Page[Entity]:
        return self.store.find_entities(self.query(kind, **filters), limit=limit, cursor=cursor)

    def iter(self, query: EntityQuery, *, page_size: int = 1000) -> Iterator[Entity]:
        """Every entity matching ``query``, page by page, without holding them all in memory."""
        cursor: str | None = None
        while True:
            page = self.store.find_entities(query, limit=page_size, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def resolve(self, ref: RefLike, kind: Kind | None = None) -> Entity:
        """The one entity a reference names, or a clear error.

        Accepts an entity, a UUID, a unique UUID prefix, or ``kind:name[@version]`` where a version is
        a number, ``latest``, or an alias (``model_version:matte@production``). ``dataset:plates@3``
        means version 3 of dataset ``plates``. ``kind``, when given, is what the caller expects.

        Raises:
            NotFound: nothing matches. AmbiguousReference: several match (the ids are listed).
            InvalidInput: the reference cannot be read, or names another kind than expected.
        """
        if isinstance(ref, Entity):
            entity = ref
        else:
            parsed = ref if isinstance(ref, Ref) else Ref.parse(ref)
            entity = self._resolve(parsed)
        if kind is not None and entity.kind is not kind:
            raise InvalidInput(
                f"{entity.label} is a {entity.kind.value}, not a {kind.value}",
                hint=f"give a {kind.value} reference",
            )
        return entity

    def resolve_named(self, ref: RefLike, kind: Kind) -> Entity:
        """Like :meth:`resolve`, but a bare name (``plates``, ``plates@2``) means ``kind:name``.

        Used where the kind is obvious from the context (``rmtc dataset snapshot plates``); a bare
        text that names nothing of ``kind`` is then tried as a UUID or prefix.
        """
        if isinstance(ref, str) and ":" not in ref and not ref.startswith("rmtc://"):
            try:
                return self.resolve(f"{kind.value}:{ref}")
            except NotFound:
                try:
                    parsed = Ref.parse(ref)
                except InvalidInput:
                    raise NotFound(
                        f"{kind.value}:{ref} matches nothing", hint=f"list them with `rmtc ls {kind.value}`"
                    ) from None
                return self.resolve(parsed)
        return self.resolve(ref)

    def _resolve(self, ref: Ref) -> Entity:
        if ref.id is not None:
            return self.get(ref.id)
        if ref.prefix is not None:
            matches = self.store.find_entities(
                EntityQuery(project=self.project, id_prefix=ref.prefix), limit=_AMBIGUITY_SHOWN + 1
            ).items
            return _one(matches, str(ref))
        assert ref.kind is not None and ref.name is not None
        kind = ref.kind
        if ref.version is None:
            matches = self.store.find_entities(
                EntityQuery(kind=kind, project=self.project, name=ref.name), limit=_AMBIGUITY_SHOWN + 1
            ).items
            return _one(matches, str(ref))
        kind = _VERSIONED.get(kind, kind)
        return self._resolve_version(kind, ref.name, ref.version, str(ref))

    def _resolve_version(self, kind: Kind, name: str, version: str, text: str) -> Entity:
        if version.isdigit():
            page = self.store.find_entities(
                EntityQuery(kind=kind, project=self.project, name=name, version=int(version)), limit=2
            )
            return _one(page.items, text)
        if version == "latest":
            latest = self._latest(kind, name)
            if latest is None:
                raise NotFound(
                    f"{text} matches nothing: {name!r} has no versions", hint="snapshot or publish first"
                )
            return latest
        target = self.store.get_alias(kind.value, name, version)
        if target is None:
            raise NotFound(
                f"{text} matches nothing: no version and no alias {version!r}",
                hint="use a version number, `latest`, or an alias that exists",
            )
        return self.get(target)

    def latest_version(self, parent_kind: Kind, name: str) -> Entity | None:
        """The highest version of a dataset or model by name, or ``None`` when it has none."""
        return self._latest(_VERSIONED[parent_kind], name)

    def _latest(self, kind: Kind, name: str) -> Entity | None:
        best: Entity | None = None
        for entity in self.iter(EntityQuery(kind=kind, project=self.project, name=name)):
            if best is None or (entity.version or 0) > (best.version or 0):
                best = entity
        return best

    def neighbours(
        self, entity: Entity | EntityId, relation: Relation, *, direction: str = "out"
    ) -> list[Entity]:
        """Entities one edge away: ``out`` follows src -> dst, ``in`` the reverse."""
        eid = _id_of(entity)
        if direction == "out":
            ids = [e.dst for e in self.store.find_edges(src=[eid], relations=[relation])]
        else:
            ids = [e.src for e in self.store.find_edges(dst=[eid], relations=[relation])]
        found = self.store.get_entities(ids)
        return [found[i] for i in ids if i in found]


def _id_of(thing: Entity | EntityId | uuid.UUID) -> EntityId:
    return thing.id if isinstance(thing, Entity) else EntityId(thing)


def _one(matches: Iterable[Entity], text: str) -> Entity:
    found = list(matches)
    if not found:
        raise NotFound(f"{text} matches nothing", hint="list what exists with `rmtc ls KIND`")
    if len(found) > 1:
        shown = ", ".join(f"{e.id} ({e.label})" for e in found[:_AMBIGUITY_SHOWN])
        more = " and more" if len(found) > _AMBIGUITY_SHOWN else ""
        raise AmbiguousReference(
            f"{text} matches several entities: {shown}{more}",
            hint="give the full UUID or a longer prefix",
        )
    return found[0]
