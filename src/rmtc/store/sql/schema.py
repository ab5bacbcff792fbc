"""The tables of the SQL store, as SQLAlchemy Core metadata.

Two sides, as the protocol asks. Provenance (``entities``, ``edges``, ``audit``) is append-only, and the
database enforces it with triggers (created by the migration, see ``migrations/versions``). Operational
state (``run_params``, ``run_status``, ``metrics``, ``latest_metrics``, ``dataset_staging``, ``aliases``,
``flags``) changes freely and never touches provenance rows. ``upstream_facts`` and ``fact_sets`` are
an index derived from provenance (rebuildable from it). ``rmtc_meta`` holds facts about the store
itself.

This module describes the *current* schema for the queries; the migrations create it. A test compares
the two, so they cannot drift apart.

Column choices:
- ``seq`` integer keys give insertion order for keyset paging (``created_at`` can tie or be set by the
  caller); ``id`` is the facility-agnostic UUID (native ``uuid`` on PostgreSQL, 32 hex characters on
  SQLite, so prefix searches become index range scans on both).
- Timestamps are stored in UTC and always come back timezone-aware (:class:`UTCDateTime`).
- JSON is ``jsonb`` on PostgreSQL and text on SQLite, written with sorted keys and no spaces so equal
  values have equal text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from rmtc.errors import InvalidInput


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both backends; naive values are refused, not guessed."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput(
                f"timestamp {value.isoformat()} has no timezone",
                hint="pass timezone-aware datetimes (rmtc's clock gives UTC)",
            )
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def seq_type() -> sa.types.TypeEngine[int]:
    # SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (and so auto-incrementing).
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("seq", seq_type(), primary_key=True, autoincrement=True),
    sa.Column("id", sa.Uuid(), nullable=False, unique=True),
    sa.Column("project", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=True),
    sa.Column("key", sa.Text(), nullable=True),
    sa.Column("content_hash", sa.Text(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.Text(), nullable=False),
    sa.Column("fields", json_type(), nullable=False),
    sa.Column("attrs", json_type(), nullable=False),
    sa.UniqueConstraint("project", "kind", "key"),
    sa.Index(None, "kind", "name"),
    sa.Index(None, "content_hash"),
    sa.Index(None, "project", "kind", "seq"),
)

edges = sa.Table(
    "edges",
    metadata,
    sa.Column("seq", seq_type(), primary_key=True, autoincrement=True),
    sa.Column("src", sa.Uuid(), sa.ForeignKey("entities.id"), nullable=False),
    sa.Column("relation", sa.Text(), nullable=False),
    sa.Column("dst", sa.Uuid(), sa.ForeignKey("entities.id"), nullable=False),
    sa.Column("attrs", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.Text(), nullable=True),
    # The unique index (src, relation, dst) is also the (src, relation) index of upward walks; the
    # (dst, relation, src) one serves downward walks. Both carry seq (SQLite's as the rowid, PostgreSQL's
    # as an INCLUDE column, migration 0004), so a walk never touches the table.
    sa.UniqueConstraint("src", "relation", "dst", postgresql_include=["seq"]),
    sa.Index(None, "dst", "relation", "src", postgresql_include=["seq"]),
)

#: Columns only PostgreSQL has, outside this metadata: ``entities.fields_text`` (migration 0007), the
#: fields as text for reads of many entities, generated by the server from ``fields``.
PG_ONLY_COLUMNS: frozenset[tuple[str, str]] = frozenset({("entities", "fields_text")})

#: Foreign keys to ``entities`` (named by the naming convention) that PostgreSQL enforces with one
#: statement-level trigger instead (migration 0005: a per-row key check was more than half of a bulk
#: load's edge inserts); SQLite keeps them as keys.
PG_KEYS_CHECKED_BY_TRIGGER: frozenset[str] = frozenset(
    {"fk_edges_src", "fk_edges_dst", "fk_upstream_facts_entity"}
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("seq", seq_type(), primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.Text(), nullable=False),
    sa.Column("action", sa.Text(), nullable=False),
    sa.Column("target", sa.Uuid(), nullable=True),
    sa.Column("project", sa.Text(), nullable=False),
    sa.Column("detail", json_type(), nullable=False),
    sa.Index(None, "target", "seq"),
    sa.Index(None, "project", "seq"),
)

run_params = sa.Table(
    "run_params",
    metadata,
    sa.Column("run", sa.Uuid(), sa.ForeignKey("entities.id"), primary_key=True),
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("value_text", sa.Text(), nullable=True),
    sa.Column("value_num", sa.Float(), nullable=True),
    sa.Index(None, "key", "value_text"),
    sa.Index(None, "key", "value_num"),
)

run_status = sa.Table(
    "run_status",
    metadata,
    sa.Column("run", sa.Uuid(), sa.ForeignKey("entities.id"), primary_key=True),
    sa.Column("state", sa.Text(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index(None, "state"),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("seq", seq_type(), primary_key=True, autoincrement=True),
    sa.Column("run", sa.Uuid(), sa.ForeignKey("entities.id"), nullable=False),
    sa.Column("key", sa.Text(), nullable=False),
    sa.Column("step", sa.BigInteger(), nullable=False),
    sa.Column("value", sa.Float(), nullable=True),  # NULL is NaN: SQLite cannot store NaN
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index(None, "run", "key", "step"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run", sa.Uuid(), sa.ForeignKey("entities.id"), primary_key=True),
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("step", sa.BigInteger(), nullable=False),
    sa.Column("value", sa.Float(), nullable=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index(None, "key", "value"),
)

dataset_staging = sa.Table(
    "dataset_staging",
    metadata,
    sa.Column("seq", seq_type(), primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.Uuid(), sa.ForeignKey("entities.id"), nullable=False),
    sa.Column("member_key", sa.Text(), nullable=False),
    sa.Column("asset", sa.Uuid(), nullable=True),
    sa.Column("input", sa.Uuid(), nullable=True),
    sa.Column("target", sa.Uuid(), nullable=True),
    sa.UniqueConstraint("dataset", "member_key"),
    sa.Index(None, "dataset", "seq"),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("target_kind", sa.Text(), primary_key=True),
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("alias", sa.Text(), primary_key=True),
    sa.Column("entity", sa.Uuid(), sa.ForeignKey("entities.id"), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index(None, "entity"),
)

flags = sa.Table(
    "flags",
    metadata,
    sa.Column("entity", sa.Uuid(), sa.ForeignKey("entities.id"), primary_key=True),
    sa.Column("flag", sa.Text(), primary_key=True),
    sa.Column("value", json_type(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

rmtc_meta = sa.Table(
    "rmtc_meta",
    metadata,
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

# Service users and their API tokens (migration 0002). A token is kept only as the SHA-256 of its
# secret; ``projects`` is the JSON list of project scopes (``["*"]`` = every project).
users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("role", sa.Text(), nullable=False),
    sa.Column("projects", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("user", sa.Text(), sa.ForeignKey("users.name"), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("secret_hash", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Index(None, "user"),
)

# What every entity's material upstream holds (migration 0003): a derived index of provenance, kept
# by every write and rebuildable from it (see :mod:`rmtc.store.sql.facts`). ``facts`` and ``own`` are
# digests of content-addressed sets in ``fact_sets`` (one row per fact of a set), so the million frames
# of a facility share a few hundred sets.
upstream_facts = sa.Table(
    "upstream_facts",
    metadata,
    sa.Column("entity", sa.Uuid(), sa.ForeignKey("entities.id"), primary_key=True),
    sa.Column("facts", sa.Text(), nullable=False),
    sa.Column("own", sa.Text(), nullable=False),
    sa.Column("ups", sa.Integer(), nullable=False),
    sa.Index(None, "facts"),
)

fact_sets = sa.Table(
    "fact_sets",
    metadata,
    sa.Column("digest", sa.Text(), primary_key=True),
    sa.Column("ref", sa.Uuid(), primary_key=True),
    sa.Column("role", sa.Text(), primary_key=True),
    sa.Index(None, "ref", "digest"),
)

#: The provenance tables the database itself keeps append-only.
APPEND_ONLY: tuple[str, ...] = ("entities", "edges", "audit")
