"""The metadata store contract.

Every implementation (SQLite and PostgreSQL through one SQL implementation, the remote store over the
REST service, a facility's own) must behave exactly as documented here; ``rmtc.testing.conformance``
proves it. Implementations add only what differs, never more semantics.

Two sides are kept apart. The *provenance* side (entities, edges, audit log) is append-only: nothing
is updated or deleted, so history stays provable. The *operational* side (run status, metric series,
dataset staging, aliases) changes at high rates and never touches provenance tables.

Errors are :mod:`rmtc.errors` classes: ``NotFound`` for a missing id, ``Conflict`` for a natural key
that already exists with other content or an edge that would close a ``derived_from`` cycle,
``StoreError`` when the store cannot be reached, ``SchemaTooNew`` when it was written by a newer rmtc.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, runtime_checkable

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.store.types import (
    AuditEvent,
    Closure,
    Edge,
    EntityQuery,
    EntityRef,
    MetricPoint,
    Page,
    RunQuery,
    RunStatus,
    UpstreamFacts,
    WalkStep,
    WriteBatch,
    WriteResult,
)

Direction = Literal["up", "down"]


@runtime_checkable
class MetadataStore(Protocol):
    """Where entities, edges, the audit log and operational state are kept."""

    #: The location this store was opened from, safe to print (no password).
    url: str

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""
        ...

    def schema_version(self) -> int:
        """The schema revision of the data, for ``rmtc verify`` and support."""
        ...

    def reading(self) -> AbstractContextManager[None]:
        """A context in which this thread's reads share what they can (one connection and transaction
        of a SQL store): for a question that takes several reads, such as the effective rights of an
        artefact. Nested, it is the outer one. Writes inside go on as outside it."""
        ...

    # -- provenance: writes ----------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteResult:
        """Record a batch of entities, edges, audit events and run statuses in one transaction.

        Idempotent by content: an entity whose ``(project, kind, key)`` exists with the same
        ``content_hash`` (both not ``None``) resolves to the stored one and is not written again;
        edges referring to its batch id are redirected to the stored id. An existing key with another
        content hash, or without one, raises ``Conflict`` naming the entity, and nothing of the batch
        is written. An edge already recorded (same src, relation, dst) is not duplicated. An edge to
        an id that is neither in the batch nor stored raises ``NotFound``. A ``derived_from`` edge
        that would make a cycle raises ``Conflict``.

        Returns:
            The stored entities in batch order and counts of what was created.
        """
        ...

    # -- provenance: reads -----------------------------------------------------------------------
    def get_entity(self, entity_id: EntityId) -> Entity:
        """The entity with this id; raises ``NotFound``."""
        ...

    def get_entities(self, ids: Iterable[EntityId]) -> dict[EntityId, Entity]:
        """The entities among ``ids`` that exist (missing ids are absent, not an error)."""
        ...

    def find_entities(
        self, query: EntityQuery, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Entity]:
        """Entities matching ``query``, oldest first (``newest_first`` reverses), ``limit`` per page."""
        ...

    def count_entities(self, query: EntityQuery) -> int:
        """How many entities match ``query``."""
        ...

    def find_edges(
        self,
        *,
        src: Sequence[EntityId] | None = None,
        dst: Sequence[EntityId] | None = None,
        relations: Sequence[Relation] | None = None,
        limit: int | None = None,
    ) -> list[Edge]:
        """Edges whose src is in ``src`` and/or whose dst is in ``dst`` (AND), optionally by relation,
        in the order they were recorded."""
        ...

    def walk(
        self,
        start: Sequence[EntityId],
        direction: Direction,
        *,
        relations: Sequence[Relation] | None = None,
        max_depth: int | None = None,
        project: str | None = None,
        through: Mapping[Relation, Collection[Kind]] | None = None,
        entities: bool = False,
    ) -> list[WalkStep]:
        """Every entity reachable from ``start``: ``up`` walks towards sources, ``down`` towards what was
        made from them.

        Upstream is the edge's dst for every relation except those in
        :data:`rmtc.core.kinds.UPSTREAM_AT_SRC` (``member_of``: an asset is upstream of the dataset
        version it is a member of), so ``up`` follows most edges src -> dst and ``member_of`` dst -> src,
        and ``down`` the reverse of each.

        Each entity appears once, at its smallest depth, with one edge that reached it; the start
        entities themselves are not included. Cycle-safe. When ``project`` is set, the walk never
        enters an entity of another project, at either end of an edge. With ``entities``, each step
        carries its entity (``node``), read with the walk itself: what a trace shows, without a second
        read of each entity it reaches.
        """
        ...

    def closure(
        self,
        start: Sequence[EntityId],
        direction: Direction,
        *,
        through: Mapping[Relation, Collection[Kind]] | None = None,
        project: str | None = None,
        annotate: Sequence[Relation] = (),
        having: Collection[EntityId] | None = None,
        nearest: bool = False,
    ) -> Closure:
        """The same reach as :meth:`walk` (same orientation, ``through`` and project rules, every
        entity at its smallest depth), as ids, kinds and parent pointers instead of entities and
        edges, plus the ``annotate`` edges leaving every entity of it (starts included).

        The questions asked of large graphs (effective rights, ``contains``, revocation impact) need
        the shape of a closure of thousands of entities but only a handful of the entities
        themselves: this answers them in one round trip, and the caller loads what it will show.

        ``having`` (a material upstream walk in a project only: ``direction="up"``,
        ``through=MATERIAL``): keep only the entities whose :meth:`upstream_facts` hold one of these
        facts (the starts always), and only the ``annotate`` edges whose dst is one of them. The
        result is the full closure restricted to those entities, same order, depths and parents.
        With ``nearest``, stop after the first depth at which every fact has a direct holder (a
        licence: an entity governed by it; a talent: an asset depicting it; an ungoverned source:
        itself), and annotate only the first holder of each fact (breadth first).
        """
        ...

    def upstream_facts(self, ids: Iterable[EntityId]) -> dict[EntityId, UpstreamFacts]:
        """What the material upstream of each entity holds (see :class:`UpstreamFacts`), kept up to
        date by every write; ids of no stored entity are left out."""
        ...

    def holding(self, facts: Collection[EntityId], *, project: str) -> dict[EntityId, EntityRef]:
        """Every entity of ``project`` whose :meth:`upstream_facts` hold one of ``facts`` (so the
        material downstream of their direct holders, those included), in recording order, with its
        kind, name and version: the impact of revoking a licence or a talent's consent, without a walk
        and without decoding every entity it touches."""
        ...

    # -- audit -----------------------------------------------------------------------------------
    def find_audit(
        self,
        *,
        target: EntityId | None = None,
        actor: str | None = None,
        action: str | None = None,
        project: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[AuditEvent]:
        """Audit events, newest first."""
        ...

    # -- operational: runs -----------------------------------------------------------------------
    def set_run_status(self, status: RunStatus) -> None:
        """Record a run's current state (operational: replaces the previous one)."""
        ...

    def get_run_status(self, run: EntityId) -> RunStatus:
        """A run's current state; raises ``NotFound`` if the run was never given one."""
        ...

    def log_metrics(self, run: EntityId, points: Sequence[MetricPoint]) -> None:
        """Append metric points to a run's series in one batch, and keep each key's latest value
        (highest step, then latest write) for searches. Raises ``NotFound`` for an unknown run."""
        ...

    def get_metrics(self, run: EntityId, keys: Sequence[str] | None = None) -> dict[str, list[MetricPoint]]:
        """A run's metric series by key, each ordered by step then time of writing."""
        ...

    def latest_metrics(self, runs: Sequence[EntityId]) -> dict[EntityId, dict[str, float]]:
        """The latest value of every metric of each run."""
        ...

    def find_runs(self, query: RunQuery, *, limit: int = 100, cursor: str | None = None) -> Page[Entity]:
        """Runs whose params and latest metrics satisfy ``query``, oldest first."""
        ...

    # -- operational: dataset staging and aliases ------------------------------------------------
    def stage_members(self, dataset: EntityId, members: Sequence[Mapping[str, Any]]) -> int:
        """Add members to a dataset's working set, the draft its next snapshot freezes.

        Each member is ``{"asset": id}`` or, paired, ``{"input": id, "target": id}``; staging a member
        twice keeps one. Returns how many were new.
        """
        ...

    def unstage_members(self, dataset: EntityId, assets: Sequence[EntityId]) -> int:
        """Remove from the working set every member that uses one of ``assets``; returns how many."""
        ...

    def staged_members(self, dataset: EntityId) -> list[dict[str, Any]]:
        """The working set, in the order it was staged."""
        ...

    def set_alias(self, target_kind: str, name: str, alias: str, entity: EntityId | None) -> None:
        """Point ``name@alias`` (e.g. ``model_version`` ``matte@production``) at an entity, or remove
        the alias when ``entity`` is ``None``."""
        ...

    def get_alias(self, target_kind: str, name: str, alias: str) -> EntityId | None:
        """Where an alias points, or ``None``."""
        ...

    def aliases_of(self, entity: EntityId) -> list[str]:
        """The aliases that point at an entity."""
        ...

    # -- operational: key-value flags ------------------------------------------------------------
    def set_flag(self, entity: EntityId, flag: str, value: Mapping[str, Any] | None) -> None:
        """Set (or clear, with ``None``) an operational flag on an entity: ``blocked``, ``revoked``,
        ``purged``, ``undecodable``. Flags are state, not history: the audit log records each change."""
        ...

    def get_flags(self, entities: Sequence[EntityId]) -> dict[EntityId, dict[str, dict[str, Any]]]:
        """The flags of each entity that has any."""
        ...
