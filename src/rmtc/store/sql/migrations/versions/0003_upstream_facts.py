"""Upstream facts: for every entity, the set of licences, talents and unlicensed raw sources in its
material upstream (``upstream_facts``), the sets content-addressed in ``fact_sets``.

A derived index of provenance, so rights, ``contains`` and revocation answer from an index instead of
walking closures of thousands of entities. The tables are written out in full, as every migration's
are; the rows of a store written before this revision are then computed from its provenance by
:func:`rmtc.store.sql.facts.rebuild`, the same function any later rebuild uses.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "upstream_facts",
        sa.Column("entity", sa.Uuid(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("own", sa.Text(), nullable=False),
        sa.Column("ups", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["entity"], ["entities.id"], name="fk_upstream_facts_entity"),
        sa.PrimaryKeyConstraint("entity", name="pk_upstream_facts"),
    )
    op.create_index("ix_upstream_facts_facts", "upstream_facts", ["facts"])
    op.create_table(
        "fact_sets",
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("ref", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("digest", "ref", "role", name="pk_fact_sets"),
    )
    op.create_index("ix_fact_sets_ref_digest", "fact_sets", ["ref", "digest"])
    from rmtc.store.sql.dialect import for_name
    from rmtc.store.sql.facts import rebuild

    conn = op.get_bind()
    rebuild(conn, for_name(conn.dialect.name))


def downgrade() -> None:
    op.drop_index("ix_fact_sets_ref_digest", table_name="fact_sets")
    op.drop_table("fact_sets")
    op.drop_index("ix_upstream_facts_facts", table_name="upstream_facts")
    op.drop_table("upstream_facts")
