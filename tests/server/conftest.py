"""Fixtures of the service tests: a live service over a fresh SQLite project, and the CLI pointed at it.

Until the ``http``/``https`` entry points of the remote store are installed (pyproject.toml), the
``remote_plugins`` fixture adds them to the plug-in scan, exactly as installed ones would appear."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from rmtc.cli.main import main
from rmtc.testing.server import LiveServer, serve_store

REMOTE_ENTRY_POINTS = {
    "rmtc.stores": {"http": "rmtc.store.remote:open_remote", "https": "rmtc.store.remote:open_remote"},
    "rmtc.blobs": {
        "http": "rmtc.blobs.remote:open_remote_blobs",
        "https": "rmtc.blobs.remote:open_remote_blobs",
    },
}


@pytest.fixture(autouse=True)
def remote_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmtc.plugins import registry

    real = registry.entry_points

    def with_remote(**kwargs: str) -> list[EntryPoint]:
        found = list(real(**kwargs))
        group = kwargs.get("group", "")
        names = {ep.name for ep in found}
        for name, value in REMOTE_ENTRY_POINTS.get(group, {}).items():
            if name not in names:
                found.append(EntryPoint(name=name, value=value, group=group))
        return found

    monkeypatch.setattr(registry, "entry_points", with_remote)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LiveServer]:
    """A service over a fresh SQLite store and local blob directory, with an admin token."""
    live = serve_store(f"sqlite:///{tmp_path / 'served' / 'rmtc.db'}", tmp_path / "served" / "blobs")
    try:
        yield live
    finally:
        live.stop()


class RemoteCli:
    """The real CLI, in-process, with ``--store`` the service's URL and ``RMTC_TOKEN`` set."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.url, self.capsys, self.monkeypatch = url, capsys, monkeypatch

    def __call__(self, *args: str, token: str, expect: int = 0) -> tuple[str, str]:
        self.monkeypatch.setenv("RMTC_TOKEN", token)
        self.capsys.readouterr()
        code = main(["--store", self.url, *args])
        out, err = self.capsys.readouterr()
        assert code == expect, f"rmtc {' '.join(args)} exited {code}: {err}{out}"
        return out, err

    def json(self, *args: str, token: str) -> object:
        return json.loads(self(*args, "--json", token=token)[0])


@pytest.fixture
def remote_cli(
    served: LiveServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> RemoteCli:
    monkeypatch.delenv("RMTC_BLOBS", raising=False)
    monkeypatch.delenv("RMTC_STORE", raising=False)
    return RemoteCli(served.url, capsys, monkeypatch)
