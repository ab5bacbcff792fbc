"""The store conformance suite, on SQLite and PostgreSQL through the one parametrised ``store`` fixture."""

from rmtc.testing.conformance.store import MetadataStoreConformance


class TestSqlStore(MetadataStoreConformance):
    pass
