""":class:`SqlStore`: the :class:`~rmtc.store.protocol.MetadataStore` over SQLite and PostgreSQL.

Each method is one read connection or one retrying write transaction (:class:`Database`) around a
function of the module for its concern. The contract is documented on the protocol and not repeated
here; where this implementation goes beyond the words of the protocol it says so:

- re-writing the very same entity (same id, same facts) resolves to it instead of raising
  ``Conflict``, so a retried write (a lost reply from the service, a re-run command) is harmless;
- ``set_run_status``, ``stage_members``, ``set_alias`` and ``set_flag`` raise ``NotFound`` for an id
  that is not a stored entity; ``walk`` from unknown ids returns nothing;
- ``walk(through=...)`` follows only the relations named in ``through`` (and in ``relations``, when
  both are given), each only where the edge's downstream end is of one of that relation's kinds.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.store.protocol import Direction
from rmtc.store.sql import audit, migrate, operational
from rmtc.store.sql import closure as closure_queries
from rmtc.store.sql import edges as edge_queries
from rmtc.store.sql import entities as entity_queries
from rmtc.store.sql import facts as facts_queries
from rmtc.store.sql import runs as run_queries
from rmtc.store.sql import walk as walk_queries
from rmtc.store.sql.engine import Database
from rmtc.store.sql.guided import check_guided, guided_closure
from rmtc.store.sql.write import is_bulk, write_batch
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


class SqlStore:
    """The metadata store in a SQL database. Build one with :mod:`rmtc.store.sql.factory`."""

    def __init__(self, db: Database):
        self._db = db
        self.url: str = db.url

    @property
    def database(self) -> Database:
        """The engine and dialect behind the store (for maintenance and SQL-level tests)."""
        return self._db

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def schema_version(self) -> int:
        return migrate.schema_version(self._db)

    def reading(self) -> AbstractContextManager[None]:
        return self._db.reading()

    # -- provenance --------------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteResult:
        return self._db.transact(lambda conn: write_batch(conn, self._db.dialect, batch), bulk=is_bulk(batch))

    def get_entity(self, entity_id: EntityId) -> Entity:
        with self._db.read() as conn:
            return entity_queries.get_entity(conn, self._db.dialect, entity_id)

    def get_entities(self, ids: Iterable[EntityId]) -> dict[EntityId, Entity]:
        with self._db.read() as conn:
            return entity_queries.get_entities(conn, self._db.dialect, ids)

    def find_entities(
        self, query: EntityQuery, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Entity]:
        with self._db.read() as conn:
            return entity_queries.find_entities(conn, self._db.dialect, query, limit, cursor)

    def count_entities(self, query: EntityQuery) -> int:
        with self._db.read() as conn:
            return entity_queries.count_entities(conn, self._db.dialect, query)

    def find_edges(
        self,
        *,
        src: Sequence[EntityId] | None = None,
        dst: Sequence[EntityId] | None = None,
        relations: Sequence[Relation] | None = None,
        limit: int | None = None,
    ) -> list[Edge]:
        with self._db.read() as conn:
            return edge_queries.find_edges(
                conn, self._db.dialect, src=src, dst=dst, relations=relations, limit=limit
            )

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
        with self._db.read() as conn:
            if having is not None:
                check_guided(direction, through)
                return guided_closure(
                    conn,
                    self._db.dialect,
                    start,
                    project=project,
                    having=having,
                    nearest=nearest,
                    annotate=annotate,
                )
            return closure_queries.closure(
                conn, self._db.dialect, start, direction, through=through, project=project, annotate=annotate
            )

    def upstream_facts(self, ids: Iterable[EntityId]) -> dict[EntityId, UpstreamFacts]:
        with self._db.read() as conn:
            return facts_queries.upstream_of(conn, self._db.dialect, ids)

    def holding(self, facts: Collection[EntityId], *, project: str) -> dict[EntityId, EntityRef]:
        with self._db.read() as conn:
            return facts_queries.holding(conn, self._db.dialect, facts, project)

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
        with self._db.read() as conn:
            return walk_queries.walk(
                conn,
                self._db.dialect,
                start,
                direction,
                relations=relations,
                max_depth=max_depth,
                project=project,
                through=through,
                entities=entities,
            )

    # -- audit -------------------------------------------------------------------------------------
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
        with self._db.read() as conn:
            return audit.find_audit(
                conn, target=target, actor=actor, action=action, project=project, limit=limit, cursor=cursor
            )

    # -- runs --------------------------------------------------------------------------------------
    def set_run_status(self, status: RunStatus) -> None:
        self._db.transact(lambda conn: run_queries.set_run_status(conn, self._db.dialect, status))

    def get_run_status(self, run: EntityId) -> RunStatus:
        with self._db.read() as conn:
            return run_queries.get_run_status(conn, run)

    def log_metrics(self, run: EntityId, points: Sequence[MetricPoint]) -> None:
        self._db.transact(lambda conn: run_queries.log_metrics(conn, self._db.dialect, run, points))

    def get_metrics(self, run: EntityId, keys: Sequence[str] | None = None) -> dict[str, list[MetricPoint]]:
        with self._db.read() as conn:
            return run_queries.get_metrics(conn, self._db.dialect, run, keys)

    def latest_metrics(self, runs: Sequence[EntityId]) -> dict[EntityId, dict[str, float]]:
        with self._db.read() as conn:
            return run_queries.latest_metrics_of(conn, self._db.dialect, runs)

    def find_runs(self, query: RunQuery, *, limit: int = 100, cursor: str | None = None) -> Page[Entity]:
        with self._db.read() as conn:
            return run_queries.find_runs(conn, self._db.dialect, query, limit, cursor)

    # -- staging, aliases, flags -------------------------------------------------------------------
    def stage_members(self, dataset: EntityId, members: Sequence[Mapping[str, Any]]) -> int:
        return self._db.transact(
            lambda conn: operational.stage_members(conn, self._db.dialect, dataset, members)
        )

    def unstage_members(self, dataset: EntityId, assets: Sequence[EntityId]) -> int:
        return self._db.transact(
            lambda conn: operational.unstage_members(conn, self._db.dialect, dataset, assets)
        )

    def staged_members(self, dataset: EntityId) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            return operational.staged_members(conn, dataset)

    def set_alias(self, target_kind: str, name: str, alias: str, entity: EntityId | None) -> None:
        self._db.transact(
            lambda conn: operational.set_alias(conn, self._db.dialect, target_kind, name, alias, entity)
        )

    def get_alias(self, target_kind: str, name: str, alias: str) -> EntityId | None:
        with self._db.read() as conn:
            return operational.get_alias(conn, target_kind, name, alias)

    def aliases_of(self, entity: EntityId) -> list[str]:
        with self._db.read() as conn:
            return operational.aliases_of(conn, entity)

    def set_flag(self, entity: EntityId, flag: str, value: Mapping[str, Any] | None) -> None:
        self._db.transact(lambda conn: operational.set_flag(conn, self._db.dialect, entity, flag, value))

    def get_flags(self, entities: Sequence[EntityId]) -> dict[EntityId, dict[str, dict[str, Any]]]:
        with self._db.read() as conn:
            return operational.get_flags(conn, self._db.dialect, entities)
