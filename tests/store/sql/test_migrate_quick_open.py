"""Opening a store already at head answers without Alembic, and agrees with Alembic on what head is."""

from __future__ import annotations

import subprocess
import sys

from rmtc.store.sql import migrate
from rmtc.store.sql.factory import open_sqlite


def test_the_migration_files_read_plainly_name_alembics_head():
    assert migrate.plain_head() == migrate.known_revisions()[0]


def test_when_a_store_is_at_head_then_opening_it_does_not_import_alembic(tmp_path):
    open_sqlite(str(tmp_path / "store.db"), create=True).close()
    code = (
        "import sys\nfrom rmtc.store.sql.factory import open_sqlite\n"
        f"open_sqlite({str(tmp_path / 'store.db')!r}).close()\n"
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
