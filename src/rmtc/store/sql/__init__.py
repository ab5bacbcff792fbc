"""The SQL metadata store: one implementation for SQLite (the embedded default) and PostgreSQL.

Modules by concern: ``schema`` (tables), ``dialect`` (the few backend differences), ``engine``
(connections, settings, retrying transactions), ``migrate`` and ``migrations/`` (Alembic), ``write``
(batches), ``entities`` (reads and queries), ``edges`` (edge reads), ``walk`` (recursive walks),
``audit``, ``runs`` (status, metrics, run search), ``operational`` (staging, aliases, flags),
``store`` (the class) and ``factory`` (the entry points). Nothing is imported here: the plug-in
registry loads ``factory``.
"""
