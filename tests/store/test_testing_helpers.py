"""The test helpers themselves: the throwaway PostgreSQL server, the skip-or-fail rule and the
``backend`` mark."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

from rmtc.testing.fixtures import postgres_unavailable, pytest_collection_modifyitems
from rmtc.testing.postgres import PostgresServer, find_bindir


def test_when_postgres_is_missing_outside_ci_then_the_test_is_skipped(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        postgres_unavailable("no initdb")


def test_when_postgres_is_missing_in_ci_then_the_test_fails(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        postgres_unavailable("no initdb")


@pytest.mark.postgres
def test_a_server_starts_serves_fresh_databases_and_leaves_nothing_behind() -> None:
    if find_bindir() is None:
        postgres_unavailable("PostgreSQL server programs not found")
    server = PostgresServer.start()
    root = server.root
    try:
        if os.geteuid() == 0:
            assert (root / "data").stat().st_uid != 0  # initdb refuses root: it ran as postgres
        server.create_database("one")
        server.execute("CREATE TABLE t (x int)", database="one")
        server.create_database("two", template="one")
        assert server.execute("SELECT count(*) FROM t", database="two") == [(0,)]
        server.drop_database("two")
        names = {r[0] for r in server.execute("SELECT datname FROM pg_database")}
        assert "one" in names and "two" not in names
    finally:
        server.stop()
    assert not root.exists()
    server.stop()  # idempotent


def _item(name: str, backend: str | None, only: tuple[str, ...] | None) -> Any:
    mark = None if only is None else pytest.mark.backend(*only).mark
    return SimpleNamespace(
        name=name,
        get_closest_marker=lambda n: mark if n == "backend" else None,
        callspec=None if backend is None else SimpleNamespace(params={"store_url": backend}),
    )


def test_the_backend_mark_deselects_the_store_cases_of_the_other_backends() -> None:
    items = [
        _item("pg_only[sqlite]", "sqlite", ("postgresql",)),
        _item("pg_only[postgresql]", "postgresql", ("postgresql",)),
        _item("both[sqlite]", "sqlite", None),
        _item("marked_without_store", None, ("postgresql",)),
    ]
    deselected: list[Any] = []
    config = SimpleNamespace(hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)))
    pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert [i.name for i in items] == ["pg_only[postgresql]", "both[sqlite]", "marked_without_store"]
    assert [i.name for i in deselected] == ["pg_only[sqlite]"]
