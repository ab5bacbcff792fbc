"""Bring a store's schema to this code's revision, or refuse a store this code cannot read.

The schema is created and changed only by the Alembic migrations shipped in ``migrations/``; their
revision ids are numbers (``0001``), which :func:`schema_version` reports. Opening a store:

- no schema yet: created when asked to (``create=True``), otherwise ``NotFound`` with the fix;
- an older revision: upgraded to head, in one transaction;
- the head revision: nothing to do (one cheap query);
- a revision this code does not know: ``SchemaTooNew`` - a newer rmtc wrote it, and reading it with
  older code could lose or misread facts.

Upgrades run under a lock so that processes opening a fresh store at the same time do not trip over
each other: SQLite's ``BEGIN IMMEDIATE`` lets one writer in at a time, PostgreSQL takes a transaction
advisory lock. Whoever comes second re-reads the revision inside the lock and finds nothing to do.
"""

from __future__ import annotations

import functools
import importlib.metadata
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from rmtc.errors import NotFound, SchemaTooNew
from rmtc.store.sql.engine import Database
from rmtc.store.sql.schema import rmtc_meta

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x726D7463  # "rmtc"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@functools.cache
def known_revisions() -> tuple[str, tuple[str, ...]]:
    """The head revision and every revision this code ships."""
    script = ScriptDirectory.from_config(_config())
    head = script.get_current_head()
    assert head is not None
    return head, tuple(rev.revision for rev in script.walk_revisions())


def current_revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(db: Database, *, create: bool) -> str:
    """Check the store's revision and upgrade it to head when needed; returns the revision."""
    head, known = known_revisions()
    with db.read() as conn:
        rev = current_revision(conn)
    _check_known(db, rev, known)
    if rev == head:
        return rev
    if rev is None and not create:
        raise NotFound(f"no rmtc store at {db.url}", hint=f"create one with `rmtc init {db.url}`")
    return db.transact(lambda conn: _upgrade(db, conn, head, known))


def _upgrade(db: Database, conn: sa.Connection, head: str, known: tuple[str, ...]) -> str:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    rev = current_revision(conn)
    _check_known(db, rev, known)
    if rev != head:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    if rev is None:
        conn.execute(
            sa.insert(rmtc_meta),
            [
                {"key": "store_id", "value": str(uuid.uuid4())},
                {"key": "created_at", "value": datetime.now(UTC).isoformat()},
                {"key": "created_with", "value": _rmtc_version()},
            ],
        )
    return head


def _rmtc_version() -> str:
    try:
        return f"rmtc {importlib.metadata.version('rmtc')}"
    except importlib.metadata.PackageNotFoundError:
        return "rmtc (not installed)"


def store_info(db: Database) -> dict[str, str]:
    """What the store says about itself (``rmtc_meta``): its id, when and by which rmtc it was made."""
    with db.read() as conn:
        return {r.key: r.value for r in conn.execute(sa.select(rmtc_meta.c.key, rmtc_meta.c.value))}


def _check_known(db: Database, rev: str | None, known: tuple[str, ...]) -> None:
    if rev is not None and rev not in known:
        raise SchemaTooNew(
            f"the store at {db.url} was written by a newer rmtc (schema revision {rev})",
            hint="upgrade rmtc",
            details={"revision": rev},
        )


def schema_version(db: Database) -> int:
    with db.read() as conn:
        rev = current_revision(conn)
    return int(rev) if rev and rev.isdigit() else 0
