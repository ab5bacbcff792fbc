"""The route x role matrix, built from ``app.routes``: every route is listed here with the least role
it needs, and every route is tried with no token, a viewer, an artist, an admin and a token of another
project. A route that is not listed fails the test, so a new route cannot ship without a decision."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from rmtc.store.remote import open_remote
from rmtc.store.sql.auth import Role
from rmtc.store.types import RunStatus, WriteBatch
from rmtc.testing.conformance._store_support import Maker
from rmtc.testing.server import flat_routes

PUBLIC = None
#: (method, path) -> the least role that may call it (``PUBLIC``: no token needed).
REQUIRED: dict[tuple[str, str], Role | None] = {
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    # the Explorer's static files (it asks for a token before calling the API)
    ("GET", "/"): PUBLIC,
    ("GET", "/favicon.svg"): PUBLIC,
    ("GET", "/assets/{name}"): PUBLIC,
    # the remote store
    ("GET", "/api/v1/store/info"): Role.viewer,
    ("POST", "/api/v1/store/write"): Role.artist,
    ("GET", "/api/v1/store/entities/{entity_id}"): Role.viewer,
    ("POST", "/api/v1/store/entities/get"): Role.viewer,
    ("POST", "/api/v1/store/entities/find"): Role.viewer,
    ("POST", "/api/v1/store/entities/count"): Role.viewer,
    ("POST", "/api/v1/store/edges/find"): Role.viewer,
    ("POST", "/api/v1/store/walk"): Role.viewer,
    ("POST", "/api/v1/store/closure"): Role.viewer,
    ("POST", "/api/v1/store/facts/upstream"): Role.viewer,
    ("POST", "/api/v1/store/facts/holding"): Role.viewer,
    ("POST", "/api/v1/store/audit/find"): Role.viewer,
    ("PUT", "/api/v1/store/runs/{run_id}/status"): Role.artist,
    ("GET", "/api/v1/store/runs/{run_id}/status"): Role.viewer,
    ("POST", "/api/v1/store/runs/{run_id}/metrics"): Role.artist,
    ("POST", "/api/v1/store/runs/{run_id}/metrics/get"): Role.viewer,
    ("POST", "/api/v1/store/metrics/latest"): Role.viewer,
    ("POST", "/api/v1/store/runs/find"): Role.viewer,
    ("POST", "/api/v1/store/datasets/{dataset_id}/staging"): Role.artist,
    ("POST", "/api/v1/store/datasets/{dataset_id}/staging/remove"): Role.artist,
    ("GET", "/api/v1/store/datasets/{dataset_id}/staging"): Role.viewer,
    ("PUT", "/api/v1/store/aliases"): Role.artist,
    ("POST", "/api/v1/store/aliases/get"): Role.viewer,
    ("GET", "/api/v1/store/entities/{entity_id}/aliases"): Role.viewer,
    ("PUT", "/api/v1/store/entities/{entity_id}/flags"): Role.artist,
    ("POST", "/api/v1/store/flags/get"): Role.viewer,
    # the remote blob store
    ("POST", "/api/v1/blobs"): Role.artist,
    ("GET", "/api/v1/blobs"): Role.admin,
    ("GET", "/api/v1/blobs/{digest}"): Role.viewer,
    ("GET", "/api/v1/blobs/{digest}/size"): Role.viewer,
    ("POST", "/api/v1/blobs/{digest}/verify"): Role.viewer,
    ("DELETE", "/api/v1/blobs/{digest}"): Role.admin,
}
#: Domain routes (rmtc.server.routes, the Explorer's API): every one names a project in its path.
DOMAIN = re.compile(r"^/api/v1/p/\{project\}/")
DOMAIN_REQUIRED: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/p/{project}/kinds"): Role.viewer,
    ("GET", "/api/v1/p/{project}/entities"): Role.viewer,
    ("GET", "/api/v1/p/{project}/entities/{ref}/files/{digest}"): Role.viewer,
    ("GET", "/api/v1/p/{project}/entities/{ref}"): Role.viewer,
    ("GET", "/api/v1/p/{project}/entities/{ref}/thumbnail"): Role.viewer,
    ("GET", "/api/v1/p/{project}/entities/{ref}/files"): Role.viewer,
    ("GET", "/api/v1/p/{project}/lineage/{ref}"): Role.viewer,
    ("GET", "/api/v1/p/{project}/rights/{ref}"): Role.viewer,
    ("GET", "/api/v1/p/{project}/contains/{ref}"): Role.viewer,
    ("POST", "/api/v1/p/{project}/revoke"): Role.viewer,
    ("GET", "/api/v1/p/{project}/runs/{ref}/metrics"): Role.viewer,
    ("GET", "/api/v1/p/{project}/reports/{ref}"): Role.viewer,
}


@pytest.fixture
def world(served):
    """A project ``show`` holding an asset, a dataset and a run with a status, and one blob."""
    m = Maker()
    asset, run = m.asset(project="show"), m.run(project="show")
    from rmtc.core.entities import Dataset

    dataset = Dataset(**m._base("plates", {"project": "show"}))
    admin = open_remote(served.url, token=served.admin_token)
    try:
        admin.write(WriteBatch([asset, run, dataset], statuses=[RunStatus(run.id, "running", m.clock.now())]))
    finally:
        admin.close()
    digest = httpx.post(
        f"{served.url}/api/v1/blobs",
        content=b"frame",
        headers={"Authorization": f"Bearer {served.admin_token}"},
    ).json()["digest"]
    values = {
        "entity_id": str(asset.id),
        "ref": str(asset.id),
        "run_id": str(run.id),
        "dataset_id": str(dataset.id),
        "digest": digest,
        "project": "show",
        "name": "index.js",
    }
    return values, asset


#: Valid bodies for the writes that name an entity in their path, so that scope (not validation)
#: decides the answer for another project's token. Others get ``{}``.
BODIES = {
    (
        "PUT",
        "/api/v1/store/runs/{run_id}/status",
    ): '{"state": "running", "updated_at": "2026-03-01T12:00:00+00:00"}',
    ("POST", "/api/v1/store/runs/{run_id}/metrics"): '{"points": [{"key": "loss", "step": 1, "value": 0.5}]}',
    ("POST", "/api/v1/store/datasets/{dataset_id}/staging"): '{"members": [{"asset": "{entity_id}"}]}',
    ("POST", "/api/v1/store/datasets/{dataset_id}/staging/remove"): '{"assets": ["{entity_id}"]}',
    ("PUT", "/api/v1/store/entities/{entity_id}/flags"): '{"flag": "blocked", "value": {"reason": "x"}}',
}


def _call(url, method, path, values, token):
    filled = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    template = BODIES.get((method, path), "{}")
    body = (
        b"frame"
        if (method, path) == ("POST", "/api/v1/blobs")
        else (
            template.replace("{entity_id}", values["entity_id"]).encode()
            if method in ("POST", "PUT")
            else None
        )
    )
    if body is not None and body != b"frame":
        headers["Content-Type"] = "application/json"
    return httpx.request(method, url + filled, content=body, headers=headers, timeout=60)


def test_every_route_refuses_exactly_whom_it_must(served, world):
    values, asset = world
    tokens = {
        "anonymous": None,
        "viewer": served.make_token(Role.viewer, ["show"]),
        "artist": served.make_token(Role.artist, ["show"]),
        "admin": served.admin_token,
    }
    other = served.make_token(Role.admin, ["other"])
    unlisted, wrong = [], []
    routes = flat_routes(served.app)
    assert len(routes) >= len(REQUIRED) - 4  # the Explorer's static routes may be absent
    for method, path, route in routes:
        key = (method, path)
        if key not in REQUIRED and key not in DOMAIN_REQUIRED:
            unlisted.append(f"{method} {path}")
            continue
        needed = REQUIRED.get(key, DOMAIN_REQUIRED.get(key))
        for who, token in tokens.items():
            status = _call(served.url, method, path, values, token).status_code
            level = {"anonymous": 0, "viewer": 1, "artist": 2, "admin": 3}[who]
            if needed is None:
                expected_refusal = None
            elif who == "anonymous":
                expected_refusal = 401
            else:
                expected_refusal = 403 if level < needed else None
            if expected_refusal is not None and status != expected_refusal:
                wrong.append(f"{who} {method} {path}: {status}, expected {expected_refusal}")
            if expected_refusal is None and status in (401, 403) and isinstance(route, APIRoute):
                wrong.append(f"{who} {method} {path}: refused with {status}")
            if status >= 500:
                wrong.append(f"{who} {method} {path}: {status}")
        answer = _call(served.url, method, path, values, other)
        names_show = (
            "{entity_id}" in path or "{run_id}" in path or "{dataset_id}" in path or DOMAIN.match(path)
        )
        if names_show and answer.status_code != 404:
            wrong.append(f"other project {method} {path}: {answer.status_code}, expected 404")
        if asset.content_hash in answer.text or answer.status_code >= 500:
            wrong.append(f"other project {method} {path}: leaked or failed ({answer.status_code})")
    assert unlisted == [], "routes without an entry in the authorization matrix"
    assert wrong == [], "\n".join(wrong)
