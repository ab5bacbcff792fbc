"""Storing many files at once: copies in parallel, two flushes per call, names only after the bytes."""

from __future__ import annotations

import ctypes
import errno
import os
import signal

import pytest

from rmtc.blobs import local
from rmtc.blobs.local import LocalBlobStore
from rmtc.core.hashing import hash_bytes
from rmtc.errors import InvalidInput, NotFound, StoreError

MIB = 1 << 20


def _files(folder, n, size=5000, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"f.{i:04d}.bin"
        path.write_bytes(f"{seed}-{i}-".encode() + os.urandom(size))
        paths.append(path)
    return paths


def _counting_syncs(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = local._syncfs

    def syncfs(path):
        calls.append(str(path))
        real(path)

    monkeypatch.setattr(local, "_syncfs", syncfs)
    return calls


def test_when_hundreds_of_files_are_stored_then_two_syncs_cover_them_all(
    store: LocalBlobStore, tmp_path, monkeypatch
):
    paths = _files(tmp_path / "src", 300)
    calls = _counting_syncs(monkeypatch)
    results = store.put_files(paths)
    assert len(calls) == 2
    assert [r.digest for r in results] == [hash_bytes(p.read_bytes()) for p in paths]
    assert all(r.created for r in results)
    assert all(store.verify(r.digest) for r in results)
    assert list((store.root / "tmp").iterdir()) == []


def test_when_some_files_are_bad_then_they_fail_alone_and_in_order(store: LocalBlobStore, tmp_path):
    good = _files(tmp_path / "src", 3)
    missing = tmp_path / "src" / "gone.bin"
    folder = tmp_path / "src" / "a-folder"
    folder.mkdir()
    results = store.put_files([good[0], missing, good[1], folder, good[2]])
    assert isinstance(results[1], NotFound) and isinstance(results[3], InvalidInput)
    assert [results[i].digest for i in (0, 2, 4)] == [hash_bytes(p.read_bytes()) for p in good]
    assert list((store.root / "tmp").iterdir()) == []


def test_when_a_file_is_larger_than_one_buffer_then_it_is_streamed_and_stored_whole(
    store: LocalBlobStore, tmp_path
):
    big = tmp_path / "plate.1001.exr"
    big.write_bytes(os.urandom(9 * MIB))
    small = _files(tmp_path / "src", 2)
    results = store.put_files([small[0], big, small[1]])
    assert results[1].digest == hash_bytes(big.read_bytes()) and results[1].size == 9 * MIB
    assert store.verify(results[1].digest)


def test_when_a_blob_already_exists_then_it_is_kept_and_a_corrupt_one_is_replaced(
    store: LocalBlobStore, tmp_path
):
    a, b = _files(tmp_path / "src", 2)
    first = store.put_files([a, b])
    damaged = store.root / first[1].digest[:2] / first[1].digest[2:4] / first[1].digest
    damaged.chmod(0o644)
    damaged.write_bytes(b"bit rot")
    again = store.put_files([a, b])
    assert (again[0].created, again[1].created) == (False, True)
    assert store.verify(first[0].digest) and store.verify(first[1].digest)
    assert list((store.root / "tmp").iterdir()) == []


def test_when_the_kernel_cannot_rename_without_replacing_then_hard_links_name_the_blobs(
    store: LocalBlobStore, tmp_path, monkeypatch
):
    def unsupported(*args):
        ctypes.set_errno(errno.EINVAL)
        return -1

    monkeypatch.setattr(local, "_renameat2", lambda: unsupported)
    paths = _files(tmp_path / "src", 3)
    results = store.put_files(paths)
    assert all(r.created for r in results) and all(store.verify(r.digest) for r in results)
    assert [r.created for r in store.put_files(paths)] == [False, False, False]
    assert list((store.root / "tmp").iterdir()) == []


def test_when_writing_a_copy_fails_then_that_file_fails_with_a_store_error_and_nothing_is_left(
    store: LocalBlobStore, tmp_path, monkeypatch
):
    paths = _files(tmp_path / "src", 4)
    real_write = os.write
    full = {"left": 2}

    def write(fd, data):
        if full["left"] == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        full["left"] -= 1
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    results = store.put_files(paths)
    monkeypatch.undo()
    failed = [r for r in results if isinstance(r, StoreError)]
    assert len(failed) == 2 and all(r.details["errno"] == "ENOSPC" for r in failed)
    stored = [r.digest for r in results if not isinstance(r, StoreError)]
    assert sorted(store.iter_digests()) == sorted(stored)
    assert list((store.root / "tmp").iterdir()) == []


def test_when_the_sync_of_the_names_fails_then_the_call_fails_and_leaves_no_temp(
    store: LocalBlobStore, tmp_path, monkeypatch
):
    paths = _files(tmp_path / "src", 3)
    calls = {"n": 0}
    real = local._syncfs

    def second_fails(path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.EIO, "injected")
        real(path)

    monkeypatch.setattr(local, "_syncfs", second_fails)
    with pytest.raises(StoreError):
        store.put_files(paths)
    assert list((store.root / "tmp").iterdir()) == []
    assert all(store.verify(d) for d in store.iter_digests())


#: Stores the files named on the command line, SIGKILLing itself just after the first filesystem sync
#: (``after``: bytes durable, nothing named yet) or just before the second (``before``: names given,
#: not yet durable).
KILLED_AT_SYNC = """
import os, signal, sys
from rmtc.blobs import local

root, when, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
real, calls = local._syncfs, []

def syncfs(path):
    calls.append(path)
    if when == "before" and len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    real(path)
    if when == "after" and len(calls) == 1:
        os.kill(os.getpid(), signal.SIGKILL)

local._syncfs = syncfs
local.open_local(root).put_files(paths)
print("finished", flush=True)
"""


def test_when_killed_after_the_bytes_are_flushed_but_before_naming_then_no_blob_is_visible(
    store: LocalBlobStore, tmp_path, child
):
    paths = _files(tmp_path / "src", 50)
    proc = child(KILLED_AT_SYNC, str(store.root), "after", *map(str, paths))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    assert list(store.iter_digests()) == []
    assert len(list((store.root / "tmp").rglob("*.part"))) == 50
    results = store.put_files(paths)
    assert all(r.created for r in results) and all(store.verify(r.digest) for r in results)
    assert store.sweep_temp(older_than=0) == 50  # what the killed writer left, once it is old enough
    assert list((store.root / "tmp").iterdir()) == []


def test_when_killed_after_naming_but_before_the_names_are_flushed_then_a_retry_completes(
    store: LocalBlobStore, tmp_path, child
):
    paths = _files(tmp_path / "src", 50)
    proc = child(KILLED_AT_SYNC, str(store.root), "before", *map(str, paths))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    named = list(store.iter_digests())
    assert len(named) == 50 and all(store.verify(d) for d in named)
    results = store.put_files(paths)
    assert [r.digest for r in results] == [hash_bytes(p.read_bytes()) for p in paths]
    assert sorted(store.iter_digests()) == sorted(r.digest for r in results)
