"""The service's ASGI application: :func:`create_app` builds it from :class:`ServerSettings`.

One store and one blob store are opened for the process (through :mod:`rmtc.api.compose`, as
``rmtc.open`` does) and shared by every request; each request then sees them through its principal's
:class:`~rmtc.server.scope.ScopedStore`. Routes: ``/api/v1/health`` (no token, no database: it stays
responsive under load), ``/api/v1/store/…`` and ``/api/v1/blobs/…`` (the remote store), the domain
routes of :mod:`rmtc.server.routes` under ``/api/v1/p/{project}/…``, the OpenAPI document at
``/openapi.json`` and ``/docs``, and the Explorer at ``/`` when it is built.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from rmtc.api.compose import open_blobs, open_store
from rmtc.api.locate import resolve_location
from rmtc.errors import InvalidInput
from rmtc.server import blob_routes, errors, store_routes
from rmtc.server.deps import ServerContext
from rmtc.server.middleware import BodyLimit, SecurityHeaders
from rmtc.server.settings import ServerSettings
from rmtc.store.sql.auth import AuthStore

log = logging.getLogger("rmtc.server")
API_VERSION = "1"
#: Where the domain routes live; a router whose paths are already absolute (``/api/…``) keeps them.
DOMAIN_PREFIX = "/api/v1/p/{project}"


def open_context(settings: ServerSettings) -> ServerContext:
    """Open the store, blob store and user table the service serves.

    Raises:
        NotFound: no project or store at ``settings.store``. InvalidInput: a store that is not SQL
            (a service cannot serve another service).
    """
    loc = resolve_location(settings.store, blobs=settings.blobs)
    store = open_store(loc, create=False)
    try:
        database = getattr(store, "database", None)
        if database is None:
            raise InvalidInput(
                f"the service needs a SQL store (SQLite or PostgreSQL), not {store.url}",
                hint="rmtc serve --store PROJECT_DIR or a postgresql:// URL",
            )
        blobs = open_blobs(loc, create=False)
    except BaseException:
        store.close()
        raise
    return ServerContext(settings=settings, store=store, blobs=blobs, auth=AuthStore(database))


def create_app(settings: ServerSettings, *, context: ServerContext | None = None) -> FastAPI:
    """The ASGI app serving ``settings.store`` (or an already opened ``context``, for tests)."""
    ctx = context or open_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.close()

    app = FastAPI(
        title="rmtc",
        version=API_VERSION,
        description="Provenance and rights of the ML artefacts of VFX production. "
        "Authenticate with `Authorization: Bearer TOKEN` (`rmtc token create USER`).",
        docs_url="/docs" if settings.docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
        lifespan=lifespan,
    )
    app.state.rmtc = ctx
    errors.install(app)

    @app.get("/api/v1/health", tags=["system"])
    async def health() -> dict[str, Any]:
        """Liveness: answers without a token or the database, so it stays responsive under load."""
        return {"status": "ok", "api": API_VERSION}

    app.include_router(store_routes.router)
    app.include_router(blob_routes.router)
    for router in domain_routers():
        absolute = all(getattr(r, "path", "").startswith("/api/") for r in router.routes)
        app.include_router(router, prefix="" if absolute else DOMAIN_PREFIX)
    _mount_explorer(app)
    app.add_middleware(BodyLimit, limit=settings.max_json_body, streaming=lambda scope: _is_upload(scope))
    app.add_middleware(SecurityHeaders)
    return app


def _is_upload(scope: Any) -> bool:
    return scope.get("method") == "POST" and scope.get("path") in ("/api/v1/blobs", "/api/v1/blobs/")


def domain_routers() -> list[Any]:
    """The routers listed in ``rmtc.server.routes.DOMAIN_ROUTERS`` (none until that package exists)."""
    try:
        routes = importlib.import_module("rmtc.server.routes")
    except ModuleNotFoundError as exc:
        if exc.name not in ("rmtc.server.routes",):
            raise
        return []
    names: tuple[str, ...] = getattr(routes, "DOMAIN_ROUTERS", ())
    return [importlib.import_module(f"rmtc.server.routes.{name}").router for name in names]


def _mount_explorer(app: FastAPI) -> None:
    try:
        explorer = importlib.import_module("rmtc.server.explorer")
    except ModuleNotFoundError as exc:
        if exc.name != "rmtc.server.explorer":
            raise
        return
    explorer.mount(app)
