"""PostgreSQL keeps each entity's fields as text too, for the reads that return thousands of entities.

``fields`` is ``jsonb`` (searchable, indexable), and reading it back means turning it into text on the
server (``jsonb_out``: a few microseconds for an asset's record of nine values and a nested object).
An upstream trace returns a thousand assets, and that conversion was the largest single part of the
server's time producing them, on the one level no other work overlaps (a dataset version's members).
``fields_text`` is that text, computed once when the entity is written (a stored generated column:
every insert path fills it, and entities are never updated). SQLite stores JSON as text already and
has no such column.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE entities ADD COLUMN fields_text text GENERATED ALWAYS AS (CAST(fields AS text)) STORED"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE entities DROP COLUMN fields_text")
