"""The blob store conformance suite against the remote blob store: a real service on loopback (SQLite
store, local blob directory), reached over HTTP with an admin token. One service serves the module;
each test starts from an empty store (every blob purged through the API). Damage is done to the served
directory behind the service's back, as a failing disk would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rmtc.blobs.local import open_local
from rmtc.blobs.protocol import BlobStore
from rmtc.blobs.remote import RemoteBlobStore, open_remote_blobs
from rmtc.testing.conformance.blobs import BlobStoreConformance
from rmtc.testing.server import LiveServer, serve_store


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    root = tmp_path_factory.mktemp("remote-blobs")
    live = serve_store(f"sqlite:///{root / 'store.db'}", root / "blobs")
    try:
        yield live, root / "blobs"
    finally:
        live.stop()


class TestRemoteBlobStore(BlobStoreConformance):
    @pytest.fixture
    def blobs(self, served: tuple[LiveServer, Path]) -> Iterator[RemoteBlobStore]:
        live, self.served_dir = served
        remote = open_remote_blobs(live.url, token=live.admin_token)
        for digest in list(remote.iter_digests()):
            remote.delete(digest)
        try:
            yield remote
        finally:
            remote.close()

    def overwrite_raw(self, blobs: BlobStore, digest: str, data: bytes) -> None:
        path = Path(open_local(self.served_dir).local_path(digest) or "")
        path.chmod(0o644)
        path.write_bytes(data)
