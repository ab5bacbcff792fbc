"""PostgreSQL specifics: URLs (driver, password never shown), unreachable servers."""

from __future__ import annotations

import pytest

from rmtc.errors import InvalidInput, StoreError
from rmtc.store.sql.factory import open_postgresql, postgres_url, safe_url
from rmtc.testing.postgres import free_port


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg"])
def test_both_schemes_use_psycopg_3(scheme: str) -> None:
    assert postgres_url(f"{scheme}://u@h/db").drivername == "postgresql+psycopg"


def test_the_printable_url_never_holds_the_password() -> None:
    url = postgres_url("postgresql://ana:s3cr%40t@db.example:5433/rmtc?sslmode=require&password=other")
    text = safe_url(url)
    assert "s3cr" not in text and "other" not in text and "***" not in text
    assert text == "postgresql+psycopg://ana@db.example:5433/rmtc?sslmode=require"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql://u@h", "::"])
def test_urls_that_are_not_postgres_databases_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        postgres_url(url)


def test_when_the_server_is_unreachable_then_store_error_without_password() -> None:
    with pytest.raises(StoreError) as err:
        open_postgresql(f"postgresql://ana:hunter2@127.0.0.1:{free_port()}/rmtc")
    assert "hunter2" not in err.value.one_line()
    assert err.value.hint


@pytest.mark.postgres
@pytest.mark.backend("postgresql")
def test_an_opened_store_shows_its_url_without_password(postgres_server, store_url) -> None:
    store = open_postgresql(store_url)
    try:
        assert postgres_server.password not in store.url
        assert store.url.startswith("postgresql+psycopg://rmtc@127.0.0.1:")
    finally:
        store.close()


@pytest.mark.postgres
def test_when_the_password_is_wrong_then_store_error(postgres_server) -> None:
    with pytest.raises(StoreError) as err:
        open_postgresql(f"postgresql://rmtc:wrong@127.0.0.1:{postgres_server.port}/postgres")
    assert "wrong" not in err.value.one_line()


@pytest.mark.postgres
@pytest.mark.backend("postgresql")
def test_both_edge_indexes_carry_seq_so_walks_never_read_the_table(postgres_server, store_url) -> None:
    store = open_postgresql(store_url)
    try:
        with store.database.engine.connect() as conn:
            found = dict(
                conn.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'edges'"
                ).all()
            )
    finally:
        store.close()
    assert found["uq_edges_src_relation_dst"].endswith("(src, relation, dst) INCLUDE (seq)")
    assert found["ix_edges_dst_relation_src"].endswith("(dst, relation, src) INCLUDE (seq)")
