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

Alembic (with Mako) takes longer to import than opening the store, and every CLI command opens one, so
the common case - a store already at head - is answered without it: the migration files' own
``revision = "…"`` lines give the head when they form one plain chain, and one query gives the store's
revision. Anything else (an older, newer or missing revision, or migration files this reading does not
understand) goes through Alembic.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from rmtc.errors import NotFound, SchemaTooNew
from rmtc.store.sql.engine import Database
from rmtc.store.sql.schema import rmtc_meta

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x726D7463  # "rmtc"
#: ``name: type = "value"`` or ``= None`` at the start of a line of a migration file.
_HEADER = re.compile(
    r"^(revision|down_revision|branch_labels|depends_on)\s*(?::[^=\n]*)?=\s*(?:None|\"([\w.-]+)\")\s*$",
    re.MULTILINE,
)


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@functools.cache
def known_revisions() -> tuple[str, tuple[str, ...]]:
    """The head revision and every revision this code ships."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    head = script.get_current_head()
    assert head is not None
    return head, tuple(rev.revision for rev in script.walk_revisions())


@functools.cache
def plain_head() -> str | None:
    """The head revision as the migration files state it, when they form one chain (each file names
    its ``revision`` and ``down_revision``, no branch labels or dependencies, one head); else ``None``.
    :func:`known_revisions` is the authority; this is what opening a store at head needs."""
    down_of: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        fields: dict[str, str | None] = {}
        for match in _HEADER.finditer(path.read_text(encoding="utf-8")):
            fields.setdefault(match[1], match[2])
        if fields.get("revision") is None or "down_revision" not in fields:
            return None
        if fields.get("branch_labels") is not None or fields.get("depends_on") is not None:
            return None
        down_of[fields["revision"]] = fields["down_revision"]  # type: ignore[index]
    downs = set(down_of.values())
    heads = [rev for rev in down_of if rev not in downs]
    roots = [rev for rev, down in down_of.items() if down is None]
    if len(heads) != 1 or len(roots) != 1 or not downs - {None} <= set(down_of):
        return None
    return heads[0]


def current_revision(conn: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _stored_revision(conn: sa.Connection) -> str | None:
    """The store's one revision by a plain query (``None``: no version table, or not one row)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def ensure_schema(db: Database, *, create: bool) -> str:
    """Check the store's revision and upgrade it to head when needed; returns the revision."""
    quick = plain_head()
    if quick is not None:
        with db.read() as conn:
            if _stored_revision(conn) == quick:
                return quick
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
        from alembic import command

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
