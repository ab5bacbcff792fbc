"""PostgreSQL checks that new edges (and fact rows) name entities once per statement, not once per row.

A foreign key checks every inserted row on its own: an index probe run as a query of its own, with a
row lock (``SELECT ... FOR KEY SHARE``), per key and row. A bulk load writes millions of edges, two
keys each, and these checks were more than half of the server's work inserting them: 100,000 edges of
the scale benchmark took 2.2 s of server CPU with the keys, 1.0 s with this trigger, 0.8 s with no
check at all. The row lock is what a foreign key needs to keep a referenced row from being deleted
before the referencing row commits; entities are append-only (the triggers of migration 0001 refuse
UPDATE, DELETE and TRUNCATE), so here there is nothing to hold. What remains is "every id is an
entity", which one statement-level trigger asks of all the rows a statement wrote at once: the distinct
ids of the new rows (the transition table), each looked up in the entities' id index.

Edges are append-only, so checking inserts checks every way an edge can come to be; ``upstream_facts``
(a derived index, migration 0003) is also updated in place, so its updates are checked too. A missing
entity fails the statement with the foreign-key SQLSTATE (23503), as the keys did. The check always
plans as index probes (hash and merge joins are off inside it): a hash join would read every entity to
check a handful of rows. SQLite keeps its foreign keys (its checks are index probes inside the insert,
and the store's write path already checks the ends outside a batch in one query).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Trigger arguments: the columns of the new rows that must name entities.
_CHECK_FUNCTION = """
CREATE OR REPLACE FUNCTION rmtc_entities_exist() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    ids text[] := '{}';
    missing uuid;
BEGIN
    FOR i IN 0 .. TG_NARGS - 1 LOOP
        ids := ids || format('SELECT %I AS id FROM new_rows', TG_ARGV[i]);
    END LOOP;
    EXECUTE format(
        'SELECT n.id FROM (%s) AS n WHERE NOT EXISTS (SELECT 1 FROM entities AS e WHERE e.id = n.id) LIMIT 1',
        array_to_string(ids, ' UNION ')
    ) INTO missing;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '% of table %: % is not an entity', TG_OP, TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$
"""

#: (table, foreign key replaced, trigger name, event, columns)
_CHECKED = (
    ("edges", "fk_edges_src", "edges_ends_exist", "INSERT", ("src", "dst")),
    ("edges", "fk_edges_dst", None, None, ()),
    ("upstream_facts", "fk_upstream_facts_entity", "upstream_facts_entity_exists", "INSERT", ("entity",)),
    ("upstream_facts", None, "upstream_facts_entity_stays", "UPDATE", ("entity",)),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_CHECK_FUNCTION)
    for table, key, trigger, event, columns in _CHECKED:
        if key:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {key}")
        if trigger:
            args = ", ".join(f"'{c}'" for c in columns)
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER {event} ON {table} REFERENCING NEW TABLE AS new_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION rmtc_entities_exist({args})"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _, trigger, _, _ in _CHECKED:
        if trigger:
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION rmtc_entities_exist()")
    op.execute("ALTER TABLE edges ADD CONSTRAINT fk_edges_src FOREIGN KEY (src) REFERENCES entities (id)")
    op.execute("ALTER TABLE edges ADD CONSTRAINT fk_edges_dst FOREIGN KEY (dst) REFERENCES entities (id)")
    op.execute(
        "ALTER TABLE upstream_facts ADD CONSTRAINT fk_upstream_facts_entity "
        "FOREIGN KEY (entity) REFERENCES entities (id)"
    )
