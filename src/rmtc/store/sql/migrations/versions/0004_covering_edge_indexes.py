"""Covering edge indexes on PostgreSQL: both ends' indexes carry the edge's ``seq``.

Every step of a walk joins a frontier of ids to the edges on ``(src, relation, dst)`` or ``(dst,
relation, src)`` and needs the far end and the edge's ``seq`` (its first edge, read in full at the
end). SQLite's indexes already hold the rowid, which is ``seq``, so its walks never read the table;
PostgreSQL's fetched every edge's heap tuple for ``seq`` alone, half the time of a level. ``INCLUDE
(seq)`` makes those index-only scans (once autovacuum has marked the pages visible). Nothing changes on
SQLite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Plain SQL: alembic's constraint and index helpers build a table stub that lacks the INCLUDE column.
    op.execute("ALTER TABLE edges DROP CONSTRAINT uq_edges_src_relation_dst")
    op.execute(
        "ALTER TABLE edges ADD CONSTRAINT uq_edges_src_relation_dst UNIQUE (src, relation, dst) INCLUDE (seq)"
    )
    op.execute("DROP INDEX ix_edges_dst_relation_src")
    op.execute("CREATE INDEX ix_edges_dst_relation_src ON edges (dst, relation, src) INCLUDE (seq)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_edges_dst_relation_src")
    op.execute("CREATE INDEX ix_edges_dst_relation_src ON edges (dst, relation, src)")
    op.execute("ALTER TABLE edges DROP CONSTRAINT uq_edges_src_relation_dst")
    op.execute("ALTER TABLE edges ADD CONSTRAINT uq_edges_src_relation_dst UNIQUE (src, relation, dst)")
