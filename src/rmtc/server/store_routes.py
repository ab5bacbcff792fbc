"""``/api/v1/store/…``: the :class:`~rmtc.store.protocol.MetadataStore` protocol over HTTP, one route
per method, for :class:`~rmtc.store.remote.store.RemoteStore`.

Every route works through the caller's :class:`~rmtc.server.scope.ScopedStore` (project scopes,
attribution). Reads need ``viewer``, writes ``artist``; setting or clearing the ``revoked`` and
``purged`` flags needs ``admin``. Bodies are JSON in the shapes of :mod:`rmtc.store.remote.wire`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse

from rmtc.errors import Forbidden, InvalidInput
from rmtc.server.deps import Principal, Role, scoped_store
from rmtc.server.deps import require as _require
from rmtc.store.remote import wire
from rmtc.store.remote.wire import decoder

router = APIRouter(prefix="/api/v1/store", tags=["store"])
viewer = Depends(_require(Role.viewer))
artist = Depends(_require(Role.artist))
JsonBody = Body(..., media_type="application/json")
MAX_PAGE = 10_000
ADMIN_FLAGS = frozenset({"revoked", "purged"})


def ok(data: Any) -> JSONResponse:
    return JSONResponse(data)


@decoder("paging")
def _limit(value: Any, default: int | None = 100) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PAGE:
        raise ValueError(f"limit must be an integer from 0 to {MAX_PAGE}")
    return value


@decoder("request")
def _field(body: Any, key: str) -> Any:
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    return body.get(key)


def _opt_ids(value: Any) -> list[Any] | None:
    return None if value is None else wire.eids(value)


@router.get("/info")
def info(principal: Principal = viewer) -> JSONResponse:
    store = scoped_store(principal)
    return ok(
        {
            "schema_version": store.schema_version(),
            "user": principal.user,
            "role": principal.role.name,
            "projects": sorted(principal.projects),
        }
    )


@router.post("/write")
def write(body: dict[str, Any] = JsonBody, principal: Principal = artist) -> JSONResponse:
    return ok(wire.result(scoped_store(principal).write(wire.parse_batch(body))))


@router.get("/entities/{entity_id}")
def get_entity(entity_id: str, principal: Principal = viewer) -> JSONResponse:
    return ok(wire.entity(scoped_store(principal).get_entity(_id(entity_id))))


@router.post("/entities/get")
def get_entities(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    ids = _decode_ids(_field(body, "ids"))
    found = scoped_store(principal).get_entities(ids)
    return ok({"items": [wire.entity(found[i]) for i in ids if i in found]})


@router.post("/entities/find")
def find_entities(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    query = wire.parse_entity_query(_field(body, "query"))
    page = scoped_store(principal).find_entities(
        query, limit=_limit(_field(body, "limit")) or 0, cursor=_cursor(_field(body, "cursor"))
    )
    return ok({"items": [wire.entity(e) for e in page.items], "next": page.next_cursor})


@router.post("/entities/count")
def count_entities(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    query = wire.parse_entity_query(_field(body, "query"))
    return ok({"count": scoped_store(principal).count_entities(query)})


@router.post("/edges/find")
def find_edges(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    edges = scoped_store(principal).find_edges(
        src=_decode_opt_ids(_field(body, "src")),
        dst=_decode_opt_ids(_field(body, "dst")),
        relations=_relations(_field(body, "relations")),
        limit=_limit(_field(body, "limit"), None),
    )
    return ok({"items": [wire.edge(e) for e in edges]})


@router.post("/walk")
def walk(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    direction = _direction(_field(body, "direction"))
    max_depth = _field(body, "max_depth")
    if max_depth is not None and (isinstance(max_depth, bool) or not isinstance(max_depth, int)):
        raise InvalidInput("max_depth must be an integer", hint="give a depth or null")
    project = _field(body, "project")
    steps = scoped_store(principal).walk(
        _decode_ids(_field(body, "start")),
        direction,
        relations=_relations(_field(body, "relations")),
        max_depth=max_depth,
        project=_text(project, "project") if project is not None else None,
        through=wire.parse_through(_field(body, "through")),
        entities=_field(body, "entities") is True,
    )
    return ok({"items": [wire.step(s) for s in steps]})


@router.post("/closure")
def closure(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    direction = _direction(_field(body, "direction"))
    project = _field(body, "project")
    reach = scoped_store(principal).closure(
        _decode_ids(_field(body, "start")),
        direction,
        through=wire.parse_through(_field(body, "through")),
        project=_text(project, "project") if project is not None else None,
        annotate=_relations(_field(body, "annotate")) or (),
        having=_decode_opt_ids(_field(body, "having")),
        nearest=_field(body, "nearest") is True,
    )
    return ok(wire.closure(reach))


@router.post("/facts/upstream")
def upstream_facts(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    found = scoped_store(principal).upstream_facts(_decode_ids(_field(body, "entities")))
    return ok({"facts": {str(i): wire.upstream_facts(f) for i, f in found.items()}})


@router.post("/facts/holding")
def holding(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    found = scoped_store(principal).holding(
        _decode_ids(_field(body, "facts")), project=_text(_field(body, "project"), "project")
    )
    return ok({"items": [[str(i), r.kind.value, r.name, r.version] for i, r in found.items()]})


@router.post("/audit/find")
def find_audit(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    target = _field(body, "target")
    texts = {k: _field(body, k) for k in ("actor", "action", "project")}
    page = scoped_store(principal).find_audit(
        target=None if target is None else _id(target),
        limit=_limit(_field(body, "limit")) or 0,
        cursor=_cursor(_field(body, "cursor")),
        **{k: None if v is None else _text(v, k) for k, v in texts.items()},
    )
    return ok({"items": [wire.audit(a) for a in page.items], "next": page.next_cursor})


# -- operational -----------------------------------------------------------------------------------
@router.put("/runs/{run_id}/status")
def set_run_status(
    run_id: str, body: dict[str, Any] = JsonBody, principal: Principal = artist
) -> JSONResponse:
    status = wire.parse_status({**body, "run": run_id} if isinstance(body, dict) else body)
    scoped_store(principal).set_run_status(status)
    return ok({"ok": True})


@router.get("/runs/{run_id}/status")
def get_run_status(run_id: str, principal: Principal = viewer) -> JSONResponse:
    return ok(wire.status(scoped_store(principal).get_run_status(_id(run_id))))


@router.post("/runs/{run_id}/metrics")
def log_metrics(run_id: str, body: dict[str, Any] = JsonBody, principal: Principal = artist) -> JSONResponse:
    points = [wire.parse_point(p) for p in _list(_field(body, "points"), "points")]
    scoped_store(principal).log_metrics(_id(run_id), points)
    return ok({"logged": len(points)})


@router.post("/runs/{run_id}/metrics/get")
def get_metrics(run_id: str, body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    keys = _field(body, "keys")
    wanted = None if keys is None else [_text(k, "key") for k in _list(keys, "keys")]
    series = scoped_store(principal).get_metrics(_id(run_id), wanted)
    return ok({"series": {k: [wire.point(p) for p in points] for k, points in series.items()}})


@router.post("/metrics/latest")
def latest_metrics(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    latest = scoped_store(principal).latest_metrics(_decode_ids(_field(body, "runs")))
    return ok({"latest": {str(r): {k: wire.number(v) for k, v in m.items()} for r, m in latest.items()}})


@router.post("/runs/find")
def find_runs(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    query = wire.parse_run_query(_field(body, "query"))
    page = scoped_store(principal).find_runs(
        query, limit=_limit(_field(body, "limit")) or 0, cursor=_cursor(_field(body, "cursor"))
    )
    return ok({"items": [wire.entity(e) for e in page.items], "next": page.next_cursor})


@router.post("/datasets/{dataset_id}/staging")
def stage_members(
    dataset_id: str, body: dict[str, Any] = JsonBody, principal: Principal = artist
) -> JSONResponse:
    members = [wire.parse_member(m) for m in _list(_field(body, "members"), "members")]
    return ok({"added": scoped_store(principal).stage_members(_id(dataset_id), members)})


@router.post("/datasets/{dataset_id}/staging/remove")
def unstage_members(
    dataset_id: str, body: dict[str, Any] = JsonBody, principal: Principal = artist
) -> JSONResponse:
    assets = _decode_ids(_field(body, "assets"))
    return ok({"removed": scoped_store(principal).unstage_members(_id(dataset_id), assets)})


@router.get("/datasets/{dataset_id}/staging")
def staged_members(dataset_id: str, principal: Principal = viewer) -> JSONResponse:
    members = scoped_store(principal).staged_members(_id(dataset_id))
    return ok({"members": [wire.member(m) for m in members]})


@router.put("/aliases")
def set_alias(body: dict[str, Any] = JsonBody, principal: Principal = artist) -> JSONResponse:
    target = _field(body, "entity")
    kind, name, alias = (_text(_field(body, k), k) for k in ("target_kind", "name", "alias"))
    scoped_store(principal).set_alias(kind, name, alias, None if target is None else _id(target))
    return ok({"ok": True})


@router.post("/aliases/get")
def get_alias(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    kind, name, alias = (_text(_field(body, k), k) for k in ("target_kind", "name", "alias"))
    found = scoped_store(principal).get_alias(kind, name, alias)
    return ok({"entity": None if found is None else str(found)})


@router.get("/entities/{entity_id}/aliases")
def aliases_of(entity_id: str, principal: Principal = viewer) -> JSONResponse:
    return ok({"aliases": scoped_store(principal).aliases_of(_id(entity_id))})


@router.put("/entities/{entity_id}/flags")
def set_flag(entity_id: str, body: dict[str, Any] = JsonBody, principal: Principal = artist) -> JSONResponse:
    flag = _text(_field(body, "flag"), "flag")
    value = _field(body, "value")
    if value is not None and not isinstance(value, dict):
        raise InvalidInput("a flag's value must be an object or null", hint='send {"reason": "..."}')
    if flag in ADMIN_FLAGS and principal.role < Role.admin:
        raise Forbidden(f"setting the {flag!r} flag needs admin", hint="ask an admin to revoke or purge")
    scoped_store(principal).set_flag(_id(entity_id), flag, value)
    return ok({"ok": True})


@router.post("/flags/get")
def get_flags(body: dict[str, Any] = JsonBody, principal: Principal = viewer) -> JSONResponse:
    flags = scoped_store(principal).get_flags(_decode_ids(_field(body, "entities")))
    return ok({"flags": {str(e): f for e, f in flags.items()}})


# -- decoding helpers --------------------------------------------------------------------------------
def _direction(value: Any) -> Any:
    if value not in ("up", "down"):
        raise InvalidInput(f"direction {str(value)[:40]!r} is not 'up' or 'down'", hint="walk up or down")
    return value


@decoder("id")
def _id(value: Any) -> Any:
    return wire.eid(value)


@decoder("id list")
def _decode_ids(value: Any) -> list[Any]:
    return wire.eids(value)


@decoder("id list")
def _decode_opt_ids(value: Any) -> list[Any] | None:
    return _opt_ids(value)


@decoder("relations")
def _relations(value: Any) -> list[Any] | None:
    from rmtc.core.kinds import Relation

    return None if value is None else [Relation(r) for r in _list(value, "relations")]


@decoder("cursor")
def _cursor(value: Any) -> str | None:
    return None if value is None else _text(value, "cursor")


@decoder("request")
def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be text")
    return value


@decoder("request")
def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} must be a list")
    return value
