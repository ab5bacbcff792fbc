"""The conformance suite on every built-in blob store: local, fsspec over file://, fsspec over memory://."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from rmtc.blobs.fsspec_store import FsspecBlobStore, open_fsspec
from rmtc.blobs.local import open_local
from rmtc.blobs.protocol import BlobStore
from rmtc.testing.conformance.blobs import BlobStoreConformance


class TestLocalBlobStore(BlobStoreConformance):
    @pytest.fixture
    def blobs(self, tmp_path: Path) -> BlobStore:
        return open_local(tmp_path / "blobs", create=True)


class TestFsspecBlobStoreOnFileUrls(BlobStoreConformance):
    @pytest.fixture
    def blobs(self, tmp_path: Path) -> BlobStore:
        return open_fsspec((tmp_path / "blobs").as_uri(), create=True)


class TestFsspecBlobStoreInMemory(BlobStoreConformance):
    @pytest.fixture
    def blobs(self):
        store = open_fsspec(f"memory://rmtc-test-{uuid.uuid4().hex}/blobs", create=True)
        yield store
        store.fs.rm(store.root, recursive=True)

    def overwrite_raw(self, blobs: BlobStore, digest: str, data: bytes) -> None:
        assert isinstance(blobs, FsspecBlobStore)
        blobs.fs.pipe_file(f"{blobs.root}/{digest[:2]}/{digest[2:4]}/{digest}", data)
