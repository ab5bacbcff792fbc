"""The JSON shapes the store's values take between the remote store and the service.

One module serves both ends, so the two cannot drift apart. Encoding is exact: timestamps keep their
offset as ISO 8601 text (a naive one stays naive, for the store to refuse), ids are canonical UUID text,
and metric values that JSON cannot carry (NaN, infinities) travel as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``. Decoding trusts nothing: any malformed input becomes
:class:`~rmtc.errors.InvalidInput` naming what was wrong, never another exception.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast, get_args

from rmtc.core.entities import Entity, from_record, to_record
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput, RmtcError
from rmtc.store.types import (
    AuditEvent,
    Closure,
    Edge,
    EntityQuery,
    MetricPoint,
    RunQuery,
    RunState,
    RunStatus,
    UpstreamFacts,
    WalkStep,
    WriteBatch,
    WriteResult,
)

Json = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])
RUN_STATES: tuple[str, ...] = get_args(RunState)
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decoder(what: str) -> Callable[[F], F]:
    """Turn any failure of a decoding function into ``InvalidInput`` naming ``what`` was malformed."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def decode(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except RmtcError:
                raise
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)[:200]
                raise InvalidInput(
                    f"malformed {what}: {detail}", hint="send the shape documented at /docs"
                ) from None

        return cast(F, decode)

    return wrap


# -- scalars -----------------------------------------------------------------------------------------
def ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"timestamp {value!r} is not text")
    return datetime.fromisoformat(value)


def eid(value: Any) -> EntityId:
    if isinstance(value, uuid.UUID):
        return EntityId(value)
    if not isinstance(value, str):
        raise TypeError(f"id {value!r} is not text")
    return EntityId(uuid.UUID(value))


def eids(values: Any) -> list[EntityId]:
    if not isinstance(values, list | tuple):
        raise TypeError("ids must be a list")
    return [eid(v) for v in values]


def number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def parse_number(value: Any) -> float:
    if isinstance(value, str):
        return _SPECIAL[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be an object")
    return value


def _opt_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _req_ts(value: Any) -> datetime:
    parsed = parse_ts(value)
    if parsed is None:
        raise TypeError("a timestamp is required")
    return parsed


def _opt_int(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{value!r} is not an integer")
    return value


# -- entities, edges, audit --------------------------------------------------------------------------
def entity(e: Entity) -> Json:
    rec = to_record(e)
    rec["id"] = str(e.id)
    rec["created_at"] = e.created_at.isoformat()
    return rec


@decoder("entity")
def parse_entity(d: Any) -> Entity:
    rec = dict(_mapping(d, "entity"))
    rec["id"] = eid(rec["id"])
    rec["created_at"] = parse_ts(rec["created_at"])
    Kind(rec["kind"])
    for key in ("name", "project", "created_by"):
        if not isinstance(rec[key], str):
            raise TypeError(f"{key} must be text")
    _mapping(rec.get("fields") or {}, "fields")
    _mapping(rec.get("attrs") or {}, "attrs")
    _opt_int(rec.get("version"))
    _opt_str(rec.get("content_hash"))
    return from_record(rec)


def edge(e: Edge) -> Json:
    return {
        "src": str(e.src),
        "relation": e.relation.value,
        "dst": str(e.dst),
        "attrs": dict(e.attrs),
        "created_at": ts(e.created_at),
        "created_by": e.created_by,
    }


@decoder("edge")
def parse_edge(d: Any) -> Edge:
    d = _mapping(d, "edge")
    return Edge(
        src=eid(d["src"]),
        relation=Relation(d["relation"]),
        dst=eid(d["dst"]),
        attrs=dict(_mapping(d.get("attrs") or {}, "attrs")),
        created_at=parse_ts(d.get("created_at")),
        created_by=_opt_str(d.get("created_by")),
    )


def audit(a: AuditEvent) -> Json:
    return {
        "action": a.action,
        "actor": a.actor,
        "at": ts(a.at),
        "target": None if a.target is None else str(a.target),
        "project": a.project,
        "detail": dict(a.detail),
        "seq": a.seq,
    }


@decoder("audit event")
def parse_audit(d: Any) -> AuditEvent:
    d = _mapping(d, "audit event")
    return AuditEvent(
        action=_text(d["action"]),
        actor=_text(d["actor"]),
        at=_req_ts(d["at"]),
        target=None if d.get("target") is None else eid(d["target"]),
        project=_text(d.get("project", "default")),
        detail=dict(_mapping(d.get("detail") or {}, "detail")),
        seq=_opt_int(d.get("seq")),
    )


def status(s: RunStatus) -> Json:
    return {"run": str(s.run), "state": s.state, "updated_at": ts(s.updated_at), "message": s.message}


@decoder("run status")
def parse_status(d: Any) -> RunStatus:
    d = _mapping(d, "run status")
    return RunStatus(
        run=eid(d["run"]),
        state=_state(d["state"]),
        updated_at=_req_ts(d["updated_at"]),
        message=str(_opt_str(d.get("message", "")) or ""),
    )


def point(p: MetricPoint) -> Json:
    return {"key": p.key, "step": p.step, "value": number(p.value), "at": ts(p.at)}


@decoder("metric point")
def parse_point(d: Any) -> MetricPoint:
    d = _mapping(d, "metric point")
    step = _opt_int(d["step"])
    if step is None:
        raise TypeError("step must be an integer")
    return MetricPoint(_text(d["key"]), step, parse_number(d["value"]), parse_ts(d.get("at")))


def batch(b: WriteBatch) -> Json:
    return {
        "entities": [entity(e) for e in b.entities],
        "edges": [edge(e) for e in b.edges],
        "audit": [audit(a) for a in b.audit],
        "statuses": [status(s) for s in b.statuses],
    }


@decoder("write batch")
def parse_batch(d: Any) -> WriteBatch:
    d = _mapping(d, "write batch")
    return WriteBatch(
        entities=[parse_entity(e) for e in _list(d.get("entities"))],
        edges=[parse_edge(e) for e in _list(d.get("edges"))],
        audit=[parse_audit(a) for a in _list(d.get("audit"))],
        statuses=[parse_status(s) for s in _list(d.get("statuses"))],
    )


def result(r: WriteResult) -> Json:
    return {
        "entities": [entity(e) for e in r.entities],
        "created": r.created,
        "edges_created": r.edges_created,
    }


@decoder("write result")
def parse_result(d: Any) -> WriteResult:
    return WriteResult([parse_entity(e) for e in d["entities"]], int(d["created"]), int(d["edges_created"]))


def step(s: WalkStep) -> Json:
    out = {"entity": str(s.entity), "depth": s.depth, "via": None if s.via is None else edge(s.via)}
    if s.node is not None:
        out["node"] = entity(s.node)
    return out


@decoder("walk step")
def parse_step(d: Any) -> WalkStep:
    node = d.get("node")
    return WalkStep(
        eid(d["entity"]),
        int(d["depth"]),
        None if d["via"] is None else parse_edge(d["via"]),
        None if node is None else parse_entity(node),
    )


def closure(c: Closure) -> Json:
    return {
        "kinds": {str(i): k.value for i, k in c.kinds.items()},
        "parent": {str(i): [str(p), r.value] for i, (p, r) in c.parent.items()},
        "depth": {str(i): d for i, d in c.depth.items()},
        "annotations": [[str(s), r.value, str(d)] for s, r, d in c.annotations],
    }


@decoder("closure")
def parse_closure(d: Any) -> Closure:
    return Closure(
        kinds={eid(i): Kind(k) for i, k in d["kinds"].items()},
        parent={eid(i): (eid(p), Relation(r)) for i, (p, r) in d["parent"].items()},
        depth={eid(i): int(v) for i, v in d["depth"].items()},
        annotations=[(eid(s), Relation(r), eid(t)) for s, r, t in d["annotations"]],
    )


def upstream_facts(f: UpstreamFacts) -> Json:
    return {
        "licenses": sorted(str(i) for i in f.licenses),
        "talents": sorted(str(i) for i in f.talents),
        "ungoverned": sorted(str(i) for i in f.ungoverned),
    }


@decoder("upstream facts")
def parse_upstream_facts(d: Any) -> UpstreamFacts:
    return UpstreamFacts(
        licenses=frozenset(eid(i) for i in d["licenses"]),
        talents=frozenset(eid(i) for i in d["talents"]),
        ungoverned=frozenset(eid(i) for i in d["ungoverned"]),
    )


def _list(value: Any) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value


# -- queries -----------------------------------------------------------------------------------------
def entity_query(q: EntityQuery) -> Json:
    return {
        "kind": None if q.kind is None else q.kind.value,
        "project": q.project,
        "name": q.name,
        "name_like": q.name_like,
        "version": q.version,
        "key": q.key,
        "content_hash": q.content_hash,
        "id_prefix": q.id_prefix,
        "ids": None if q.ids is None else [str(i) for i in q.ids],
        "fields": dict(q.fields),
        "created_after": ts(q.created_after),
        "created_before": ts(q.created_before),
        "newest_first": q.newest_first,
    }


@decoder("entity query")
def parse_entity_query(d: Any) -> EntityQuery:
    d = _mapping(d or {}, "query")
    return EntityQuery(
        kind=None if d.get("kind") is None else Kind(d["kind"]),
        project=_opt_str(d.get("project")),
        name=_opt_str(d.get("name")),
        name_like=_opt_str(d.get("name_like")),
        version=_opt_int(d.get("version")),
        key=_opt_str(d.get("key")),
        content_hash=_opt_str(d.get("content_hash")),
        id_prefix=_opt_str(d.get("id_prefix")),
        ids=None if d.get("ids") is None else eids(d["ids"]),
        fields=dict(_mapping(d.get("fields") or {}, "fields")),
        created_after=parse_ts(d.get("created_after")),
        created_before=parse_ts(d.get("created_before")),
        newest_first=bool(d.get("newest_first", False)),
    )


def run_query(q: RunQuery) -> Json:
    return {
        "project": q.project,
        "run_type": q.run_type,
        "params": dict(q.params),
        "metrics": [[k, op, number(v)] for k, op, v in q.metrics],
        "states": list(q.states),
    }


@decoder("run query")
def parse_run_query(d: Any) -> RunQuery:
    d = _mapping(d or {}, "query")
    params = dict(_mapping(d.get("params") or {}, "params"))
    for key, value in params.items():
        if not isinstance(value, str | int | float | bool):
            raise TypeError(f"param {key!r} must be a string, number or boolean")
    metrics = [(str(k), str(op), parse_number(v)) for k, op, v in _list(d.get("metrics"))]
    return RunQuery(
        project=_opt_str(d.get("project")),
        run_type=_opt_str(d.get("run_type")),
        params=params,
        metrics=metrics,
        states=[_state(s) for s in _list(d.get("states"))],
    )


def _state(value: Any) -> RunState:
    if value not in RUN_STATES:
        raise ValueError(f"unknown run state {str(value)[:40]!r}")
    return cast(RunState, value)


@decoder("walk")
def parse_through(d: Any) -> dict[Relation, list[Kind]] | None:
    if d is None:
        return None
    return {Relation(rel): [Kind(k) for k in _list(kinds)] for rel, kinds in _mapping(d, "through").items()}


def member(m: Mapping[str, Any]) -> Json:
    return {key: str(value) if isinstance(value, uuid.UUID) else value for key, value in m.items()}


@decoder("dataset member")
def parse_member(d: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _mapping(d, "member").items():
        try:
            out[key] = eid(value)
        except (TypeError, ValueError):
            out[key] = value
    return out
