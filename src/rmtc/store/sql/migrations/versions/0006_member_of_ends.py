"""``member_of`` joins an asset to a dataset version: the store refuses other edges of it from now on.

The rule is DESIGN.md's, and the walks now rely on it: tracing up, they look for ``member_of`` edges
only at dataset versions, and down, only at assets, instead of probing the index once for every entity
of the frontier (a trace's thousand assets, each found to be nobody's dataset). The write path checks
it for every new edge (:data:`rmtc.core.kinds.ENDS`). This revision checks the edges already stored:
a store that holds another ``member_of`` edge is not upgraded (walks of it would miss that edge), and
the error names the first one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rmtc.errors import StoreError

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WRONG = """
FROM edges e JOIN entities s ON s.id = e.src JOIN entities d ON d.id = e.dst
WHERE e.relation = 'member_of' AND (s.kind <> 'asset' OR d.kind <> 'dataset_version')
"""


def upgrade() -> None:
    conn = op.get_bind()
    count = conn.execute(sa.text(f"SELECT count(*) {_WRONG}")).scalar_one()
    if count:
        first = f"SELECT e.src, e.dst, s.kind, d.kind {_WRONG} ORDER BY e.seq LIMIT 1"
        src, dst, src_kind, dst_kind = conn.execute(sa.text(first)).one()
        src, dst = uuid.UUID(hex=str(src)), uuid.UUID(hex=str(dst))
        raise StoreError(
            f"the store holds {count} member_of edge(s) that do not join an asset to a dataset "
            f"version, such as {src} ({src_kind}) member_of {dst} ({dst_kind}); this rmtc's walks would "
            "miss them, so the store was left as it is",
            hint="keep opening it with the rmtc that wrote those edges, and report them to the rmtc project",
        )


def downgrade() -> None:
    pass  # nothing was changed
