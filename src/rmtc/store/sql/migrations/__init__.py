"""Alembic migrations of the SQL store (a package so that ``env.py`` ships with rmtc)."""
