"""Disk full and I/O errors: a clean StoreError, no temp file left, and the store as it was."""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

from rmtc.blobs.local import LocalBlobStore
from rmtc.core.hashing import hash_bytes
from rmtc.errors import FileChanged, StoreError

MIB = 1 << 20


def _failing(real, code: int, *, after: int = 0, only=lambda *a: True):
    """``real`` that raises OSError(code) from its ``after``-th matching call on."""
    calls = 0

    def call(*args, **kwargs):
        nonlocal calls
        if only(*args):
            calls += 1
            if calls > after:
                raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    return call


def _is_dir_fd(fd: int) -> bool:
    return stat.S_ISDIR(os.fstat(fd).st_mode)


FAULTS = {
    "write-first": ("write", {"after": 0, "only": lambda fd, *_: fd > 2}),
    "write-midway": ("write", {"after": 1, "only": lambda fd, *_: fd > 2}),
    "fsync-file": ("fsync", {"only": lambda fd: not _is_dir_fd(fd)}),
    "fsync-dir": ("fsync", {"only": _is_dir_fd}),
    "link": ("link", {}),
    "open-temp": ("open", {"only": lambda path, *_: str(path).endswith(".part")}),
}


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EDQUOT], ids=errno.errorcode.get)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_when_the_disk_fails_during_an_insert_then_store_error_and_no_temp_file(
    store: LocalBlobStore, monkeypatch, fault: str, code: int
):
    before = store.put_bytes(b"stored before the fault").digest
    data = os.urandom(10 * MIB)
    name, options = FAULTS[fault]
    monkeypatch.setattr(os, name, _failing(getattr(os, name), code, **options))
    with pytest.raises(StoreError) as err:
        store.put_bytes(data)
    monkeypatch.undo()

    assert err.value.details["errno"] == errno.errorcode[code]
    assert err.value.hint
    assert list((store.root / "tmp").iterdir()) == []
    listed = set(store.iter_digests())
    assert before in listed and listed <= {before, hash_bytes(data)}
    assert all(store.verify(d) for d in listed)
    assert store.put_bytes(data).digest == hash_bytes(data)
    assert store.verify(hash_bytes(data))


def test_when_a_file_grows_while_it_is_copied_then_file_changed_and_nothing_stored(
    store: LocalBlobStore, tmp_path, monkeypatch
):
    source = tmp_path / "plate.1001.exr"
    source.write_bytes(os.urandom(9 * MIB))
    real_write = os.write

    def write_while_rendering(fd, data):
        with source.open("ab") as f:
            f.write(b"more scanlines")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write_while_rendering)
    with pytest.raises(FileChanged):
        store.put_file(source)
    monkeypatch.undo()
    assert list(store.iter_digests()) == []
    assert list((store.root / "tmp").iterdir()) == []


#: Runs an insert with a real file-size limit (RLIMIT_FSIZE): write(2) fails with EFBIG for real.
SIZE_LIMITED = """
import json, os, resource, signal, sys
from rmtc.blobs.local import open_local
from rmtc.errors import StoreError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
try:
    open_local(sys.argv[1]).put_bytes(os.urandom(6 << 20))
    print(json.dumps({"stored": True}))
except StoreError as exc:
    print(json.dumps(exc.to_dict()))
"""


def test_when_a_real_write_limit_is_hit_then_store_error_and_no_temp_file(store: LocalBlobStore, child):
    out, err = child(SIZE_LIMITED, str(store.root)).communicate(timeout=60)
    result = json.loads(out)
    assert result["code"] == "store" and result["details"]["errno"] == "EFBIG", err
    assert list((store.root / "tmp").iterdir()) == []
    assert list(store.iter_digests()) == []


def test_when_the_batch_sync_fails_then_nothing_is_published_and_no_temp_is_left(tmp_path, monkeypatch):
    import errno

    from rmtc.blobs import local

    store = local.open_local(tmp_path / "store", create=True)
    src = tmp_path / "frame.bin"
    src.write_bytes(b"x" * 5000)

    def failing(path):
        raise OSError(errno.EIO, "injected")

    monkeypatch.setattr(local, "_syncfs", failing)
    with pytest.raises(StoreError):
        store.put_files([src])
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
    assert list(store.iter_digests()) == []
