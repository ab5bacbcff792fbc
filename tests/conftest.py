"""Shared fixtures: real stores on every backend (SQLite, PostgreSQL) come from rmtc.testing.fixtures."""

pytest_plugins = ["rmtc.testing.fixtures"]
