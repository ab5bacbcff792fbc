"""The schema comes from the Alembic migrations; stores from newer or missing schemas are refused."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from rmtc.errors import NotFound, SchemaTooNew, StoreError
from rmtc.store.sql.factory import open_postgresql, open_sqlite
from rmtc.store.sql.migrate import known_revisions, store_info
from rmtc.store.sql.schema import PG_KEYS_CHECKED_BY_TRIGGER, PG_ONLY_COLUMNS, metadata
from rmtc.testing.fixtures import open_store


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_migrations_create_exactly_the_tables_the_code_queries(store) -> None:
    postgres = store.database.engine.dialect.name == "postgresql"

    def compared(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "foreign_key_constraint" and postgres and name in PG_KEYS_CHECKED_BY_TRIGGER:
            return False  # a trigger instead: see test_entity_references.py
        if type_ == "column" and postgres and (obj.table.name, name) in PG_ONLY_COLUMNS:
            return False
        return not (type_ == "index" and name and name.startswith("ix_entities_field_"))

    with store.database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": compared})
        diff = compare_metadata(context, metadata)
    assert diff == []
    assert store.schema_version() == int(known_revisions()[0])
    info = store_info(store.database)
    assert set(info) == {"store_id", "created_at", "created_with"}
    assert info["created_with"].startswith("rmtc")


def test_when_the_store_has_a_revision_this_code_does_not_know_then_schema_too_new(store, store_url) -> None:
    with store.database.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    store.close()
    with pytest.raises(SchemaTooNew) as err:
        open_store(store_url, create=True)
    assert err.value.message.endswith("was written by a newer rmtc (schema revision 9999)")
    assert err.value.hint == "upgrade rmtc"
    assert "the store at " in err.value.message


def test_when_a_sqlite_file_is_missing_and_not_created_then_not_found_says_rmtc_init(tmp_path) -> None:
    with pytest.raises(NotFound) as err:
        open_sqlite(f"sqlite:///{tmp_path}/none.db")
    assert "rmtc init" in (err.value.hint or "")
    assert not (tmp_path / "none.db").exists()


def test_when_a_sqlite_file_has_no_schema_and_not_created_then_not_found(tmp_path) -> None:
    path = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{path}").connect().close()
    with pytest.raises(NotFound):
        open_sqlite(str(path))


@pytest.mark.postgres
def test_when_a_postgres_database_is_empty_then_it_is_not_found_until_created(empty_postgres_url) -> None:
    with pytest.raises(NotFound) as err:
        open_postgresql(empty_postgres_url)
    assert "rmtc init" in (err.value.hint or "")
    store = open_postgresql(empty_postgres_url, create=True)
    try:
        assert store.schema_version() == int(known_revisions()[0])
    finally:
        store.close()


@pytest.mark.postgres
def test_when_a_postgres_database_does_not_exist_then_create_makes_it(postgres_server) -> None:
    url = postgres_server.url("made_by_rmtc")
    with pytest.raises(NotFound):
        open_postgresql(url)
    store = open_postgresql(url, create=True)
    try:
        assert store.schema_version() == int(known_revisions()[0])
    finally:
        store.close()
        postgres_server.drop_database("made_by_rmtc")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


def test_when_a_stored_member_of_edge_joins_other_kinds_then_the_store_is_not_upgraded(empty_url) -> None:
    # Revision 0006: walks look for member_of edges only at assets and dataset versions.
    from alembic import command

    from rmtc.store.sql.dialect import for_engine
    from rmtc.store.sql.migrate import _config

    engine = sa.create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://", 1))
    d = for_engine(engine)
    run, version = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        for entity, kind in ((run, "run"), (version, "dataset_version")):
            conn.execute(
                sa.text(
                    "INSERT INTO entities (id, project, kind, name, created_at, created_by, fields, attrs) "
                    "VALUES (:id, 'default', :kind, 'x', CURRENT_TIMESTAMP, 't', '{}', '{}')"
                ),
                {"id": d.raw_id(entity), "kind": kind},
            )
        conn.execute(
            sa.text(
                "INSERT INTO edges (src, relation, dst, attrs, created_at) "
                "VALUES (:src, 'member_of', :dst, '{}', CURRENT_TIMESTAMP)"
            ),
            {"src": d.raw_id(run), "dst": d.raw_id(version)},
        )
    with pytest.raises(StoreError, match=f"1 member_of edge.*{run} \\(run\\) member_of {version}"):
        open_store(empty_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0005"
    engine.dispose()
