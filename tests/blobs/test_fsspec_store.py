"""What the fsspec store adds to the conformance suite: URLs, temp objects, local paths, faults."""

from __future__ import annotations

import errno
import io
import os
import stat
import uuid
from pathlib import Path

import pytest

from rmtc.blobs.fsspec_store import FsspecBlobStore, open_fsspec
from rmtc.blobs.local import LocalBlobStore
from rmtc.errors import InvalidInput, NotFound, SchemaTooNew, StoreError
from rmtc.plugins import Registry


@pytest.fixture
def memory_url():
    url = f"memory://rmtc-test-{uuid.uuid4().hex}/blobs"
    yield url
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    if fs.exists(root):
        fs.rm(root, recursive=True)


def _temp_objects(store: FsspecBlobStore) -> list[str]:
    return store.fs.ls(f"{store.root}/tmp", detail=False) if store.fs.exists(f"{store.root}/tmp") else []


def test_when_root_missing_and_not_create_then_not_found_naming_rmtc_init(memory_url: str):
    with pytest.raises(NotFound) as err:
        open_fsspec(memory_url)
    assert "rmtc init" in (err.value.hint or "")


def test_when_url_has_an_unknown_or_uninstalled_protocol_then_invalid_input():
    with pytest.raises(InvalidInput):
        open_fsspec("nosuchprotocol://bucket/blobs")
    with pytest.raises(InvalidInput, match="s3"):
        open_fsspec("s3://bucket/blobs")


def test_url_is_printable_without_credentials(memory_url: str):
    assert open_fsspec(memory_url, create=True).url == memory_url
    from rmtc.blobs.fsspec_store import _safe

    assert _safe("s3://KEY:SECRET@bucket/blobs?token=x") == "s3://bucket/blobs"


def test_in_memory_blobs_have_no_local_path(memory_url: str):
    store = open_fsspec(memory_url, create=True)
    assert store.local_path(store.put_bytes(b"x").digest) is None


def test_on_a_local_filesystem_blobs_have_a_real_read_only_path(tmp_path: Path):
    store = open_fsspec((tmp_path / "blobs").as_uri(), create=True)
    digest = store.put_bytes(b"frame").digest
    path = Path(store.local_path(digest) or "")
    assert path == tmp_path / "blobs" / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == b"frame" and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    with pytest.raises(NotFound):
        store.local_path("0" * 64)


def test_sweep_temp_removes_only_temp_objects_older_than_the_age(memory_url: str):
    store = open_fsspec(memory_url, create=True)
    store.fs.pipe_file(f"{store.root}/tmp/dead.part", b"partial")
    store.fs.pipe_file(f"{store.root}/tmp/README", b"not ours")
    assert store.sweep_temp(older_than=3600) == 0
    assert store.sweep_temp(older_than=0) == 1
    assert [p.rsplit("/", 1)[1] for p in _temp_objects(store)] == ["README"]


def test_when_layout_marker_is_newer_then_schema_too_new(memory_url: str):
    store = open_fsspec(memory_url, create=True)
    store.fs.pipe_file(f"{store.root}/.rmtc-blobs", b"rmtc.BlobStore/9\n")
    with pytest.raises(SchemaTooNew):
        open_fsspec(memory_url)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO], ids=errno.errorcode.get)
def test_when_an_upload_fails_then_store_error_and_no_temp_object(memory_url: str, monkeypatch, code: int):
    store = open_fsspec(memory_url, create=True)
    kept = store.put_bytes(b"before").digest
    real_open = store.fs.open

    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            raise OSError(code, "injected")

    def failing_open(path, mode="rb", **kwargs):
        if "w" in mode:
            real_open(path, mode, **kwargs).close()  # the temp object exists, as on a real store
            return Full()
        return real_open(path, mode, **kwargs)

    monkeypatch.setattr(store.fs, "open", failing_open)
    with pytest.raises(StoreError) as err:
        store.put_bytes(b"x" * 100)
    monkeypatch.undo()
    assert err.value.details["errno"] == errno.errorcode[code]
    assert _temp_objects(store) == []
    assert list(store.iter_digests()) == [kept]


def test_when_fsync_fails_on_a_local_filesystem_then_store_error_and_no_temp_file(
    tmp_path: Path, monkeypatch
):
    store = open_fsspec((tmp_path / "blobs").as_uri(), create=True)

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "injected")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(StoreError):
        store.put_bytes(b"x" * 100)
    monkeypatch.undo()
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    assert list(store.iter_digests()) == []


def test_built_in_blob_stores_are_found_by_url_scheme(tmp_path: Path, memory_url: str):
    blobs = Registry("rmtc.blobs")
    assert isinstance(blobs.get("file")((tmp_path / "a").as_uri(), create=True), LocalBlobStore)
    assert isinstance(blobs.get("local")(str(tmp_path / "b"), create=True), LocalBlobStore)
    assert isinstance(blobs.get("memory")(memory_url, create=True), FsspecBlobStore)
    assert blobs.get("s3") is blobs.get("gs") is blobs.get("fsspec") is open_fsspec
