"""Alembic environment of the SQL store.

Used programmatically: :mod:`rmtc.store.sql.migrate` passes an open connection (already inside its
transaction, holding the migration lock) as ``config.attributes["connection"]``. For developers, the
``alembic.ini`` next to this file works too with ``-x url=...``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from rmtc.store.sql.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("pass the store with: alembic -x url=sqlite:////path/to/store.db ...")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
