"""Fixtures for the Explorer's browser tests: a real service on loopback (B's ``serve_store``, SQLite),
a realistic graph written into its store, and Debian's Chromium driven by Playwright.

The tests skip, saying why, when the Explorer is not built (``make explorer``; ``make test`` builds
it) or when ``/usr/bin/chromium`` is missing outside CI; in CI (``CI=true``) a missing Chromium fails.
Screenshots go to ``test-artifacts/explorer/`` at the repository root (``RMTC_TEST_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import rmtc
from rmtc.server.explorer import BUILD_HINT, is_built
from rmtc.testing.fixtures import sqlite_url
from rmtc.testing.server import LiveServer, serve_store

from .showgraph import Show, build_show

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get("RMTC_TEST_ARTIFACTS", Path(__file__).resolve().parents[3] / "test-artifacts")
)


def _need_browser() -> None:
    if not is_built():
        pytest.skip(f"the Explorer is not built: run {BUILD_HINT}")
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium; `make test` installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@dataclass
class Site:
    """A running service with a graph in its store."""

    live: LiveServer
    tracker: rmtc.Tracker
    show: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.live.url

    def api(self, path: str) -> str:
        return f"{self.live.url}/api/v1/p/default/{path}"


def serve_graph(folder: Path, build: Any = build_show) -> Iterator[Site]:
    """A service over a new SQLite store in ``folder`` with ``build(tracker, folder)`` recorded in it."""
    store, blobs = sqlite_url(folder / "store.db"), folder / "blobs"
    live = serve_store(store, blobs)
    tracker = rmtc.open(store, blobs=str(blobs), user="tester")
    try:
        yield Site(live, tracker, build(tracker, folder / "frames"))
    finally:
        tracker.close()
        live.stop()


@pytest.fixture(scope="session")
def thumbnail_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Thumbnails are cached under ``RMTC_CACHE_DIR``: a temporary one, never the user's cache."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RMTC_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, thumbnail_cache: Path) -> Iterator[Site]:
    """One service and graph shared by a module's read-only tests."""
    _need_browser()
    yield from serve_graph(tmp_path_factory.mktemp("site"))


@pytest.fixture
def fresh_site(tmp_path: Path, thumbnail_cache: Path) -> Iterator[Site]:
    """A service and graph of the test's own, for tests that change them (revoke)."""
    _need_browser()
    yield from serve_graph(tmp_path)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


class Console:
    """What a page said: console messages, uncaught errors, CSP violations, dialogs (alert & co.)."""

    def __init__(self, page: Any):
        self.messages: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m]

    @property
    def problems(self) -> list[str]:
        """Errors a healthy page never has (a failed request shows as its own error line, and is counted)."""
        return self.errors + [m for m in self.messages if m.startswith("error")]


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        yield ctx
    finally:
        ctx.close()


def sign_in(page: Any, url: str, token: str, project: str = "default") -> None:
    """The token entry flow: the page asks for a token, keeps it in sessionStorage, shows the search."""
    page.goto(url + "/")
    page.fill("#token", token)
    page.fill("#project", project)
    page.click("#sign-in")
    page.wait_for_selector("#search-form")


def shoot(page: Any, request: pytest.FixtureRequest, name: str) -> Path:
    """Save a full-page screenshot as a test artefact named after the test."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    path = ARTIFACTS / "explorer" / f"{test}-{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


__all__ = ["Console", "Show", "Site", "shoot", "sign_in"]
