"""The test helpers themselves: the throwaway PostgreSQL server and the skip-or-fail rule."""

from __future__ import annotations

import os

import pytest

from rmtc.testing.fixtures import postgres_unavailable
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
