"""The initial schema: provenance (append-only, enforced by triggers) and operational state.

Written out in full rather than imported from ``schema.py``: a migration is a frozen record of what
one revision created, and must not change when the current schema does.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _seq() -> sa.Column[int]:
    return sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Uuid(), sa.ForeignKey("entities.id", name=f"fk_{table}_{name}"), nullable=False)


_PG_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION rmtc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def _append_only(dialect: str, table: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION rmtc_append_only()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION rmtc_append_only()",
        ]
    return [
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


def upgrade() -> None:
    op.create_table(
        "entities",
        _seq(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("fields", _json(), nullable=False),
        sa.Column("attrs", _json(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_entities"),
        sa.UniqueConstraint("id", name="uq_entities_id"),
        sa.UniqueConstraint("project", "kind", "key", name="uq_entities_project_kind_key"),
    )
    op.create_index("ix_entities_kind_name", "entities", ["kind", "name"])
    op.create_index("ix_entities_content_hash", "entities", ["content_hash"])
    op.create_index("ix_entities_project_kind_seq", "entities", ["project", "kind", "seq"])

    op.create_table(
        "edges",
        _seq(),
        _fk("edges", "src"),
        sa.Column("relation", sa.Text(), nullable=False),
        _fk("edges", "dst"),
        sa.Column("attrs", _json(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_edges"),
        sa.UniqueConstraint("src", "relation", "dst", name="uq_edges_src_relation_dst"),
    )
    op.create_index("ix_edges_dst_relation_src", "edges", ["dst", "relation", "src"])

    op.create_table(
        "audit",
        _seq(),
        _ts("at"),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Uuid(), nullable=True),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit"),
    )
    op.create_index("ix_audit_target_seq", "audit", ["target", "seq"])
    op.create_index("ix_audit_project_seq", "audit", ["project", "seq"])

    op.create_table(
        "run_params",
        _fk("run_params", "run"),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run", "key", name="pk_run_params"),
    )
    op.create_index("ix_run_params_key_value_text", "run_params", ["key", "value_text"])
    op.create_index("ix_run_params_key_value_num", "run_params", ["key", "value_num"])

    op.create_table(
        "run_status",
        _fk("run_status", "run"),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("run", name="pk_run_status"),
    )
    op.create_index("ix_run_status_state", "run_status", ["state"])

    op.create_table(
        "metrics",
        _seq(),
        _fk("metrics", "run"),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        _ts("at"),
        sa.PrimaryKeyConstraint("seq", name="pk_metrics"),
    )
    op.create_index("ix_metrics_run_key_step", "metrics", ["run", "key", "step"])

    op.create_table(
        "latest_metrics",
        _fk("latest_metrics", "run"),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        _ts("at"),
        sa.PrimaryKeyConstraint("run", "key", name="pk_latest_metrics"),
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])

    op.create_table(
        "dataset_staging",
        _seq(),
        _fk("dataset_staging", "dataset"),
        sa.Column("member_key", sa.Text(), nullable=False),
        sa.Column("asset", sa.Uuid(), nullable=True),
        sa.Column("input", sa.Uuid(), nullable=True),
        sa.Column("target", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_dataset_staging"),
        sa.UniqueConstraint("dataset", "member_key", name="uq_dataset_staging_dataset_member_key"),
    )
    op.create_index("ix_dataset_staging_dataset_seq", "dataset_staging", ["dataset", "seq"])

    op.create_table(
        "aliases",
        sa.Column("target_kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("alias", sa.Text(), nullable=False),
        _fk("aliases", "entity"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("target_kind", "name", "alias", name="pk_aliases"),
    )
    op.create_index("ix_aliases_entity", "aliases", ["entity"])

    op.create_table(
        "flags",
        _fk("flags", "entity"),
        sa.Column("flag", sa.Text(), nullable=False),
        sa.Column("value", _json(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("entity", "flag", name="pk_flags"),
    )

    op.create_table(
        "rmtc_meta",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rmtc_meta"),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE INDEX ix_entities_field_sequence ON entities ((fields -> 'sequence'))")
        op.execute(_PG_APPEND_ONLY_FUNCTION)
    else:
        op.execute("CREATE INDEX ix_entities_field_sequence ON entities (json_extract(fields, '$.sequence'))")
    for table in ("entities", "edges", "audit"):
        for ddl in _append_only(dialect, table):
            op.execute(ddl)


def downgrade() -> None:
    raise NotImplementedError("the initial schema cannot be downgraded: provenance is append-only")
