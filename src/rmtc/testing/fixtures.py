"""pytest fixtures for stores: load with ``pytest_plugins = ["rmtc.testing.fixtures"]``.

- ``postgres_server`` (session): a real throwaway PostgreSQL server (:mod:`rmtc.testing.postgres`),
  one per test process, started only when a test needs it.
- ``store_url``: a fresh store URL per test, parametrised over ``sqlite`` (a file in ``tmp_path``) and
  ``postgresql`` (a new database copied from a template migrated once per session, dropped after).
- ``store``: the :class:`~rmtc.store.protocol.MetadataStore` opened from ``store_url`` with
  ``create=True``, closed after the test.
- ``empty_postgres_url``: a new database with no schema at all (for migration tests).

Without the PostgreSQL server programs the ``postgresql`` cases skip with the reason, except in CI
(``CI=true``), where they fail: CI must prove both backends.

A test of what only one backend has (a PostgreSQL statement, privilege or planner setting; SQLite's
pragmas) says so with ``@pytest.mark.backend("postgresql")``: its ``store_url`` cases of the other
backends are never collected, rather than collected and skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rmtc.testing.postgres import PostgresServer, PostgresUnavailable, find_bindir

BACKENDS = ("sqlite", "postgresql")
_TEMPLATE = "rmtc_template"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backend(*names): only the store_url cases of these backends")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the ``store_url`` cases of backends a ``backend`` mark leaves out (reported as deselected)."""
    kept, dropped = [], []
    for item in items:
        mark = item.get_closest_marker("backend")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("store_url") if callspec is not None else None
        if mark is not None and backend is not None and backend not in mark.args:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def postgres_unavailable(reason: str) -> None:
    """Skip (or, in CI, fail) a test that needs PostgreSQL when it cannot be had."""
    message = f"{reason} (install the server: apt-get install postgresql)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if find_bindir() is None:
        postgres_unavailable("PostgreSQL server programs (initdb, pg_ctl) not found")
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        postgres_unavailable(str(exc))
        raise  # unreachable: postgres_unavailable raises
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _rmtc_postgres_template(postgres_server: PostgresServer) -> str:
    from rmtc.store.sql.factory import open_postgresql

    url = postgres_server.create_database(_TEMPLATE)
    open_postgresql(url, create=True).close()
    return _TEMPLATE


def open_store(url: str, *, create: bool = False, **options: Any) -> Any:
    """Open a store by URL through the ``rmtc.stores`` entry points, as ``rmtc.open`` does."""
    from rmtc.plugins import Registry

    scheme = url.split("://", 1)[0] if "://" in url else "sqlite"
    return Registry("rmtc.stores").get(scheme)(url, create=create, **options)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(params=[BACKENDS[0], pytest.param(BACKENDS[1], marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "store.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("_rmtc_postgres_template")
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name, template=template)
    yield url
    server.drop_database(name)


@pytest.fixture
def empty_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"e_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture
def store(store_url: str) -> Iterator[Any]:
    opened = open_store(store_url, create=True)
    try:
        yield opened
    finally:
        opened.close()
