"""Serving the Explorer: the web UI built from ``explorer/`` (``make explorer``) into ``explorer_dist``.

:func:`mount` adds ``GET /`` (the page), ``/assets/NAME`` (its scripts and styles: flat,
content-hashed names, cached for good; no other name is served) and ``/favicon.svg``. Nothing here
shadows ``/api``. The build is looked up at each request, so a server started before ``make explorer``
serves the UI once it is built; without one, ``/`` answers a plain page (no script) saying how to
build it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

#: Where ``npm run build`` in ``explorer/`` writes (see its vite.config.js).
DIST = Path(__file__).with_name("explorer_dist")
BUILD_HINT = "make explorer   (or: cd explorer && npm ci && npm run build)"
#: Vite writes flat, content-hashed names (``index-CSGerSwA.js``): anything else is not an asset.
_ASSET_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(js|css|svg|png|woff2?)$")
_MEDIA = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "woff": "font/woff",
    "woff2": "font/woff2",
}


def is_built(dist: Path = DIST) -> bool:
    """Whether the Explorer's build output is present."""
    return (dist / "index.html").is_file()


def _not_built_page() -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>rmtc Explorer</title></head>"
        "<body><h1>The rmtc Explorer is not built</h1>"
        "<p>The REST API under <code>/api/v1</code> works. To get the web UI, run "
        f"<code>{html.escape(BUILD_HINT)}</code> in the rmtc source tree and reload this page.</p>"
        "</body></html>"
    )


def mount(app: FastAPI, dist: Path = DIST) -> None:
    """Serve the built Explorer from ``dist`` at ``/`` on ``app`` (after the API routes)."""

    @app.get("/", include_in_schema=False, response_model=None)
    def index() -> Response:
        page = dist / "index.html"
        if not page.is_file():
            return HTMLResponse(_not_built_page(), headers={"Cache-Control": "no-store"})
        return FileResponse(
            page, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/favicon.svg", include_in_schema=False, response_model=None)
    def favicon() -> Response:
        icon = dist / "favicon.svg"
        if not icon.is_file():
            return Response(status_code=404)
        return FileResponse(icon, media_type="image/svg+xml")

    @app.get("/assets/{name}", include_in_schema=False, response_model=None)
    def asset(name: str) -> Response:
        path = dist / "assets" / name
        if not _ASSET_NAME.match(name) or not path.is_file():
            return Response(status_code=404)
        media = _MEDIA[name.rsplit(".", 1)[-1]]
        return FileResponse(
            path, media_type=media, headers={"Cache-Control": "public, max-age=31536000, immutable"}
        )
