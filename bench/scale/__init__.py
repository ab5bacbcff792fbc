"""Facility-scale provenance benchmark (issue 3, "Scale"): a seeded graph of 1,000,000 assets and about
5 million edges, built into SQLite and PostgreSQL through the public write path, then ``contains``, an
upstream trace, a talent's revoke impact and effective rights, timed on both and against networkx.

Run it with ``python -m bench.scale`` (see :mod:`bench.scale.__main__`) or ``python -m bench.run scale``.
"""

from __future__ import annotations

from bench.scale.suite import run

__all__ = ["run"]
