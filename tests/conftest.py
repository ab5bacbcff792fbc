"""Shared fixtures. Real stores on every backend (SQLite, PostgreSQL) come from rmtc.testing.fixtures
(``store_url``, parametrised over both); ``tracker`` builds the whole facade on top of one."""

from __future__ import annotations

from datetime import timedelta

import pytest

pytest_plugins = ["rmtc.testing.fixtures"]


@pytest.fixture
def tracker(store_url, tmp_path):
    """A tracker over a fresh store of each backend, with a local blob store and a ticking clock."""
    import rmtc
    from rmtc.core.clock import ManualClock

    t = rmtc.open(
        store_url,
        create=True,
        blobs=str(tmp_path / "blobs"),
        user="tester",
        clock=ManualClock(tick=timedelta(milliseconds=1)),
    )
    yield t
    t.close()


@pytest.fixture
def project_dir(tmp_path):
    """A fresh embedded project folder (SQLite + local blobs), as `rmtc init` makes it."""
    import rmtc

    root = tmp_path / "project"
    rmtc.open(root, create=True).close()
    return root
