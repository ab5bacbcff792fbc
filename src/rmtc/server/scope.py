""":class:`ScopedStore`: the server's store as one principal may see and change it.

Every request works through one of these, never through the shared store directly, so that two rules
hold for every route, the low-level store routes and the domain routes alike:

- **attribution**: every write is recorded as the principal's: ``created_by`` of entities and edges and
  the ``actor`` of audit events are overwritten with the principal's user name, whatever the client
  sent;
- **project scope**: an entity of a project outside the principal's scopes behaves as if it did not
  exist: reads raise ``NotFound`` (never ``Forbidden``: existence must not leak), listings leave it out,
  writes naming it are refused with ``NotFound``.

A principal scoped to every project (``"*"``) skips the scope checks entirely.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import NotFound
from rmtc.store.protocol import Direction, MetadataStore
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

if TYPE_CHECKING:
    from rmtc.server.deps import Principal


def hidden(what: str) -> NotFound:
    return NotFound(f"no {what}", hint="check the id, and that your token's projects include its project")


class ScopedStore:
    """A :class:`~rmtc.store.protocol.MetadataStore` wrapping the shared one for one principal."""

    def __init__(self, store: MetadataStore, principal: Principal):
        self._store = store
        self.principal = principal
        self.url = store.url
        self._all = principal.sees_all

    # -- scope helpers -------------------------------------------------------------------------------
    def sees(self, project: str | None) -> bool:
        return self._all or (project is not None and self.principal.sees(project))

    def _entity(self, entity_id: EntityId) -> Entity:
        entity = self._store.get_entity(entity_id)
        if not self.sees(entity.project):
            raise hidden(f"entity {entity_id}")
        return entity

    def _require(self, ids: Iterable[EntityId]) -> None:
        if self._all:
            return
        wanted = list(dict.fromkeys(ids))
        found = self._store.get_entities(wanted)
        for i in wanted:
            if i in found and not self.sees(found[i].project):
                raise hidden(f"entity {i}")

    def _keep(self, ids: Iterable[EntityId]) -> set[EntityId]:
        """Those of ``ids`` the principal may see."""
        wanted = list(dict.fromkeys(ids))
        if self._all:
            return set(wanted)
        found = self._store.get_entities(wanted)
        return {i for i, e in found.items() if self.sees(e.project)}

    def _project(self, project: str | None) -> str | None:
        """The project a query is limited to: its own when visible; the only scope when it has one."""
        if project is not None:
            if not self.sees(project):
                raise hidden(f"project {project!r}")
            return project
        if not self._all and len(self.principal.projects) == 1:
            return next(iter(self.principal.projects))
        return None

    # -- lifecycle -----------------------------------------------------------------------------------
    def close(self) -> None:
        """The shared store outlives every request: closing a scoped view does nothing."""

    def schema_version(self) -> int:
        return self._store.schema_version()

    def reading(self) -> AbstractContextManager[None]:
        return self._store.reading()

    # -- provenance ----------------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteResult:
        user = self.principal.user
        entities = [
            e if e.created_by == user else dataclasses.replace(e, created_by=user) for e in batch.entities
        ]
        edges = [e if e.created_by == user else dataclasses.replace(e, created_by=user) for e in batch.edges]
        audit = [a if a.actor == user else dataclasses.replace(a, actor=user) for a in batch.audit]
        if not self._all:
            for e in entities:
                if not self.sees(e.project):
                    raise hidden(f"project {e.project!r} for {e.label}")
            for a in audit:
                if not self.sees(a.project):
                    raise hidden(f"project {a.project!r}")
            in_batch = {e.id for e in entities}
            named = [i for e in edges for i in (e.src, e.dst)]
            named += [a.target for a in audit if a.target is not None]
            named += [s.run for s in batch.statuses]
            self._require(i for i in named if i not in in_batch)
        return self._store.write(WriteBatch(entities, edges, audit, batch.statuses))

    def get_entity(self, entity_id: EntityId) -> Entity:
        return self._entity(entity_id)

    def get_entities(self, ids: Iterable[EntityId]) -> dict[EntityId, Entity]:
        found = self._store.get_entities(ids)
        return found if self._all else {i: e for i, e in found.items() if self.sees(e.project)}

    def find_entities(
        self, query: EntityQuery, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Entity]:
        return self._store.find_entities(self._scoped(query), limit=limit, cursor=cursor)

    def count_entities(self, query: EntityQuery) -> int:
        return self._store.count_entities(self._scoped(query))

    def _scoped(self, query: EntityQuery) -> EntityQuery:
        project = self._project(query.project)
        if project is None and not self._all:
            # Several scopes: no single-project filter can express them, so restrict by ids.
            ids = self._ids_in_scope(query)
            return dataclasses.replace(query, ids=ids)
        return dataclasses.replace(query, project=project)

    def _ids_in_scope(self, query: EntityQuery) -> list[EntityId]:
        ids: list[EntityId] = []
        for project in sorted(self.principal.projects):
            cursor: str | None = None
            while True:
                page = self._store.find_entities(
                    dataclasses.replace(query, project=project), limit=1000, cursor=cursor
                )
                ids += [e.id for e in page.items]
                if (cursor := page.next_cursor) is None:
                    break
        return ids

    def find_edges(
        self,
        *,
        src: Sequence[EntityId] | None = None,
        dst: Sequence[EntityId] | None = None,
        relations: Sequence[Relation] | None = None,
        limit: int | None = None,
    ) -> list[Edge]:
        edges = self._store.find_edges(src=src, dst=dst, relations=relations, limit=limit)
        if self._all:
            return edges
        seen = self._keep(i for e in edges for i in (e.src, e.dst))
        return [e for e in edges if e.src in seen and e.dst in seen]

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
        project = self._project(project)
        seen_starts = self._keep(start)
        starts = [i for i in start if i in seen_starts]
        steps = self._store.walk(
            starts,
            direction,
            relations=relations,
            max_depth=max_depth,
            project=project,
            through=through,
            entities=entities,
        )
        if self._all or project is not None:
            return steps
        seen = self._keep(s.entity for s in steps)
        return [s for s in steps if s.entity in seen]

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
        project = self._project(project)
        seen_starts = self._keep(start)
        reach = self._store.closure(
            [i for i in start if i in seen_starts],
            direction,
            through=through,
            project=project,
            annotate=annotate,
            having=having,
            nearest=nearest,
        )
        if self._all or project is not None:
            return reach
        seen = self._keep([*reach.kinds, *(d for _, _, d in reach.annotations)])
        return Closure(
            kinds={i: k for i, k in reach.kinds.items() if i in seen},
            parent={i: p for i, p in reach.parent.items() if i in seen and p[0] in seen},
            depth={i: d for i, d in reach.depth.items() if i in seen},
            annotations=[a for a in reach.annotations if a[0] in seen and a[2] in seen],
        )

    def upstream_facts(self, ids: Iterable[EntityId]) -> dict[EntityId, UpstreamFacts]:
        """Facts of the visible entities; a fact naming an entity the principal may not see is left
        out (a licence of another project governing a shared asset, say)."""
        found = self._store.upstream_facts(self._keep(ids))
        if self._all:
            return found
        seen = self._keep(x for f in found.values() for x in (*f.licenses, *f.talents, *f.ungoverned))
        return {
            i: UpstreamFacts(
                licenses=f.licenses & seen, talents=f.talents & seen, ungoverned=f.ungoverned & seen
            )
            for i, f in found.items()
        }

    def holding(self, facts: Collection[EntityId], *, project: str) -> dict[EntityId, EntityRef]:
        return self._store.holding(facts, project=self._project(project) or project)

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
        project = self._project(project)
        if target is not None:
            self._require([target])
        page = self._store.find_audit(
            target=target, actor=actor, action=action, project=project, limit=limit, cursor=cursor
        )
        if self._all or project is not None:
            return page
        return Page([a for a in page.items if self.sees(a.project)], page.next_cursor)

    # -- operational -----------------------------------------------------------------------------------
    def set_run_status(self, status: RunStatus) -> None:
        self._require([status.run])
        self._store.set_run_status(status)

    def get_run_status(self, run: EntityId) -> RunStatus:
        self._require([run])
        return self._store.get_run_status(run)

    def log_metrics(self, run: EntityId, points: Sequence[MetricPoint]) -> None:
        self._require([run])
        self._store.log_metrics(run, points)

    def get_metrics(self, run: EntityId, keys: Sequence[str] | None = None) -> dict[str, list[MetricPoint]]:
        self._require([run])
        return self._store.get_metrics(run, keys)

    def latest_metrics(self, runs: Sequence[EntityId]) -> dict[EntityId, dict[str, float]]:
        seen = self._keep(runs)
        return self._store.latest_metrics([r for r in runs if r in seen])

    def find_runs(self, query: RunQuery, *, limit: int = 100, cursor: str | None = None) -> Page[Entity]:
        project = self._project(query.project)
        page = self._store.find_runs(dataclasses.replace(query, project=project), limit=limit, cursor=cursor)
        if self._all or project is not None:
            return page
        return Page([e for e in page.items if self.sees(e.project)], page.next_cursor)

    def stage_members(self, dataset: EntityId, members: Sequence[Mapping[str, Any]]) -> int:
        self._require([dataset, *_member_ids(members)])
        return self._store.stage_members(dataset, members)

    def unstage_members(self, dataset: EntityId, assets: Sequence[EntityId]) -> int:
        self._require([dataset])
        return self._store.unstage_members(dataset, assets)

    def staged_members(self, dataset: EntityId) -> list[dict[str, Any]]:
        self._require([dataset])
        return self._store.staged_members(dataset)

    def set_alias(self, target_kind: str, name: str, alias: str, entity: EntityId | None) -> None:
        current = self._store.get_alias(target_kind, name, alias)
        self._require([i for i in (entity, current) if i is not None])
        self._store.set_alias(target_kind, name, alias, entity)

    def get_alias(self, target_kind: str, name: str, alias: str) -> EntityId | None:
        found = self._store.get_alias(target_kind, name, alias)
        return found if found is None or found in self._keep([found]) else None

    def aliases_of(self, entity: EntityId) -> list[str]:
        self._require([entity])
        return self._store.aliases_of(entity)

    def set_flag(self, entity: EntityId, flag: str, value: Mapping[str, Any] | None) -> None:
        self._require([entity])
        self._store.set_flag(entity, flag, value)

    def get_flags(self, entities: Sequence[EntityId]) -> dict[EntityId, dict[str, dict[str, Any]]]:
        seen = self._keep(entities)
        return self._store.get_flags([e for e in entities if e in seen])


def _member_ids(members: Sequence[Mapping[str, Any]]) -> list[EntityId]:
    return [EntityId(v) for m in members for v in m.values() if isinstance(v, uuid.UUID)]
