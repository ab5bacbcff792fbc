""":class:`RemoteStore`: the :class:`~rmtc.store.protocol.MetadataStore` over the rmtc service.

Each method is one request to ``/api/v1/store/…`` of ``rmtc serve``; the contract is the protocol's
and is not repeated here. What differs, because the service enforces it:

- writes are attributed to the token's user: the service overwrites ``created_by`` of entities and
  edges and the ``actor`` of audit events with it;
- the token's project scopes apply: entities of other projects read as missing (``NotFound``), are left
  out of listings, and writing them is refused with ``NotFound``;
- roles apply: a viewer's writes raise ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.store.protocol import Direction
from rmtc.store.remote import wire
from rmtc.store.remote.http import Session
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


class RemoteStore:
    """The metadata store behind an rmtc service. Build one with :func:`rmtc.store.remote.open_remote`."""

    def __init__(self, session: Session):
        self._s = session
        self.url: str = session.url
        self._info: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._s.close()

    def info(self) -> dict[str, Any]:
        """What the service says about the store and the token's user (``user``, ``role``, ``projects``)."""
        if self._info is None:
            self._info = dict(self._s.call("GET", "/store/info"))
        return self._info

    def schema_version(self) -> int:
        return int(self._s.call("GET", "/store/info")["schema_version"])

    def reading(self) -> AbstractContextManager[None]:
        # Each call is its own request; the service shares nothing between them.
        return nullcontext()

    # -- provenance ----------------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteResult:
        return wire.parse_result(self._s.call("POST", "/store/write", wire.batch(batch)))

    def get_entity(self, entity_id: EntityId) -> Entity:
        return wire.parse_entity(self._s.call("GET", f"/store/entities/{entity_id}"))

    def get_entities(self, ids: Iterable[EntityId]) -> dict[EntityId, Entity]:
        wanted = [str(i) for i in ids]
        if not wanted:
            return {}
        items = self._s.call("POST", "/store/entities/get", {"ids": wanted})["items"]
        found = [wire.parse_entity(e) for e in items]
        return {e.id: e for e in found}

    def find_entities(
        self, query: EntityQuery, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Entity]:
        body = {"query": wire.entity_query(query), "limit": limit, "cursor": cursor}
        data = self._s.call("POST", "/store/entities/find", body)
        return Page([wire.parse_entity(e) for e in data["items"]], data["next"])

    def count_entities(self, query: EntityQuery) -> int:
        return int(
            self._s.call("POST", "/store/entities/count", {"query": wire.entity_query(query)})["count"]
        )

    def find_edges(
        self,
        *,
        src: Sequence[EntityId] | None = None,
        dst: Sequence[EntityId] | None = None,
        relations: Sequence[Relation] | None = None,
        limit: int | None = None,
    ) -> list[Edge]:
        body = {
            "src": None if src is None else [str(i) for i in src],
            "dst": None if dst is None else [str(i) for i in dst],
            "relations": None if relations is None else [Relation(r).value for r in relations],
            "limit": limit,
        }
        return [wire.parse_edge(e) for e in self._s.call("POST", "/store/edges/find", body)["items"]]

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
        body = {
            "start": [str(i) for i in start],
            "direction": direction,
            "relations": None if relations is None else [Relation(r).value for r in relations],
            "max_depth": max_depth,
            "project": project,
            "through": _through(through),
            "entities": entities,
        }
        return [wire.parse_step(s) for s in self._s.call("POST", "/store/walk", body)["items"]]

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
        body = {
            "start": [str(i) for i in start],
            "direction": direction,
            "project": project,
            "through": _through(through),
            "annotate": [Relation(r).value for r in annotate],
            "having": None if having is None else [str(i) for i in having],
            "nearest": nearest,
        }
        return wire.parse_closure(self._s.call("POST", "/store/closure", body))

    def upstream_facts(self, ids: Iterable[EntityId]) -> dict[EntityId, UpstreamFacts]:
        body = {"entities": [str(i) for i in ids]}
        found = self._s.call("POST", "/store/facts/upstream", body)["facts"]
        return {wire.eid(i): wire.parse_upstream_facts(f) for i, f in found.items()}

    def holding(self, facts: Collection[EntityId], *, project: str) -> dict[EntityId, EntityRef]:
        body = {"facts": [str(i) for i in facts], "project": project}
        found = self._s.call("POST", "/store/facts/holding", body)["items"]
        return {wire.eid(i): EntityRef(wire.eid(i), Kind(k), name, version) for i, k, name, version in found}

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
        body = {
            "target": None if target is None else str(target),
            "actor": actor,
            "action": action,
            "project": project,
            "limit": limit,
            "cursor": cursor,
        }
        data = self._s.call("POST", "/store/audit/find", body)
        return Page([wire.parse_audit(a) for a in data["items"]], data["next"])

    # -- operational: runs -------------------------------------------------------------------------
    def set_run_status(self, status: RunStatus) -> None:
        self._s.call("PUT", f"/store/runs/{status.run}/status", wire.status(status))

    def get_run_status(self, run: EntityId) -> RunStatus:
        return wire.parse_status(self._s.call("GET", f"/store/runs/{run}/status"))

    def log_metrics(self, run: EntityId, points: Sequence[MetricPoint]) -> None:
        self._s.call("POST", f"/store/runs/{run}/metrics", {"points": [wire.point(p) for p in points]})

    def get_metrics(self, run: EntityId, keys: Sequence[str] | None = None) -> dict[str, list[MetricPoint]]:
        body = {"keys": None if keys is None else list(keys)}
        series = self._s.call("POST", f"/store/runs/{run}/metrics/get", body)["series"]
        return {key: [wire.parse_point(p) for p in points] for key, points in series.items()}

    def latest_metrics(self, runs: Sequence[EntityId]) -> dict[EntityId, dict[str, float]]:
        data = self._s.call("POST", "/store/metrics/latest", {"runs": [str(r) for r in runs]})["latest"]
        return {
            wire.eid(run): {k: wire.parse_number(v) for k, v in values.items()}
            for run, values in data.items()
        }

    def find_runs(self, query: RunQuery, *, limit: int = 100, cursor: str | None = None) -> Page[Entity]:
        body = {"query": wire.run_query(query), "limit": limit, "cursor": cursor}
        data = self._s.call("POST", "/store/runs/find", body)
        return Page([wire.parse_entity(e) for e in data["items"]], data["next"])

    # -- operational: staging, aliases, flags ----------------------------------------------------------
    def stage_members(self, dataset: EntityId, members: Sequence[Mapping[str, Any]]) -> int:
        body = {"members": [wire.member(m) for m in members]}
        return int(self._s.call("POST", f"/store/datasets/{dataset}/staging", body)["added"])

    def unstage_members(self, dataset: EntityId, assets: Sequence[EntityId]) -> int:
        body = {"assets": [str(a) for a in assets]}
        return int(self._s.call("POST", f"/store/datasets/{dataset}/staging/remove", body)["removed"])

    def staged_members(self, dataset: EntityId) -> list[dict[str, Any]]:
        members = self._s.call("GET", f"/store/datasets/{dataset}/staging")["members"]
        return [wire.parse_member(m) for m in members]

    def set_alias(self, target_kind: str, name: str, alias: str, entity: EntityId | None) -> None:
        body = {
            "target_kind": target_kind,
            "name": name,
            "alias": alias,
            "entity": None if entity is None else str(entity),
        }
        self._s.call("PUT", "/store/aliases", body)

    def get_alias(self, target_kind: str, name: str, alias: str) -> EntityId | None:
        body = {"target_kind": target_kind, "name": name, "alias": alias}
        found = self._s.call("POST", "/store/aliases/get", body)["entity"]
        return None if found is None else wire.eid(found)

    def aliases_of(self, entity: EntityId) -> list[str]:
        return list(self._s.call("GET", f"/store/entities/{entity}/aliases")["aliases"])

    def set_flag(self, entity: EntityId, flag: str, value: Mapping[str, Any] | None) -> None:
        body = {"flag": flag, "value": None if value is None else dict(value)}
        self._s.call("PUT", f"/store/entities/{entity}/flags", body)

    def get_flags(self, entities: Sequence[EntityId]) -> dict[EntityId, dict[str, dict[str, Any]]]:
        data = self._s.call("POST", "/store/flags/get", {"entities": [str(e) for e in entities]})["flags"]
        return {wire.eid(e): dict(flags) for e, flags in data.items()}


def _through(through: Mapping[Relation, Collection[Kind]] | None) -> dict[str, list[str]] | None:
    if through is None:
        return None
    return {Relation(r).value: [Kind(k).value for k in kinds] for r, kinds in through.items()}
