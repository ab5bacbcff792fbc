"""The local store's layout, locations, permissions and temp-file sweeping."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from rmtc.blobs.local import LocalBlobStore, open_local
from rmtc.core.hashing import hash_bytes
from rmtc.errors import InvalidInput, NotFound, SchemaTooNew
from rmtc.testing.conformance.blobs import BAD_DIGESTS


def _temp_files(store: LocalBlobStore) -> list[Path]:
    return sorted((store.root / "tmp").glob("*"))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_when_blob_stored_then_it_lies_at_ab_cd_digest_and_is_read_only(store: LocalBlobStore):
    digest = store.put_bytes(b"frame 1001").digest
    path = store.root / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == b"frame 1001"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.local_path(digest) == str(path)
    assert _temp_files(store) == []


def test_when_root_missing_and_not_create_then_not_found_naming_rmtc_init(tmp_path: Path):
    with pytest.raises(NotFound) as err:
        open_local(tmp_path / "nowhere")
    assert "rmtc init" in (err.value.hint or "")
    assert not (tmp_path / "nowhere").exists()


def test_when_root_is_a_file_then_invalid_input(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInput):
        open_local(tmp_path / "file")


@pytest.mark.parametrize(
    "as_url",
    [
        lambda p: p.as_uri(),
        lambda p: "file://localhost" + str(p),
        lambda p: "local://" + str(p),
        lambda p: str(p),
    ],
    ids=["file-url", "localhost", "local-scheme", "path"],
)
def test_when_opened_by_path_or_file_url_then_the_same_store(tmp_path: Path, as_url):
    root = tmp_path / "my blobs"
    digest = open_local(root, create=True).put_bytes(b"x").digest
    again = open_local(as_url(root))
    assert again.root == root and again.read_bytes(digest) == b"x"
    assert again.url == root.as_uri()


@pytest.mark.parametrize(
    "location",
    [
        "file://fileserver/share/blobs",
        "s3://bucket/blobs",
        "file:///tmp/x?y=1",
        "file:///tmp/x#frag",
        "a\x00b",
    ],
)
def test_when_location_is_not_a_local_path_then_invalid_input(location: str):
    with pytest.raises(InvalidInput):
        open_local(location)


def test_local_path_is_the_real_path_even_through_a_symlinked_root(tmp_path: Path):
    real = tmp_path / "real"
    open_local(real, create=True)
    (tmp_path / "link").symlink_to(real)
    store = open_local(tmp_path / "link")
    digest = store.put_bytes(b"x").digest
    assert store.local_path(digest) == str(real / digest[:2] / digest[2:4] / digest)
    with pytest.raises(NotFound):
        store.local_path(hash_bytes(b"absent"))


def test_when_layout_marker_is_newer_then_schema_too_new(tmp_path: Path):
    root = tmp_path / "blobs"
    open_local(root, create=True)
    (root / ".rmtc-blobs").write_text("rmtc.BlobStore/2\n")
    with pytest.raises(SchemaTooNew):
        open_local(root)


def test_when_stray_files_lie_in_the_store_then_iter_digests_ignores_them(store: LocalBlobStore):
    digest = store.put_bytes(b"real").digest
    other = hash_bytes(b"misfiled")
    (store.root / digest[:2] / digest[2:4] / "notes.txt").write_text("x")
    (store.root / digest[:2] / digest[2:4] / digest.upper()).write_text("x")
    (store.root / "zz" / "00").mkdir(parents=True)
    (store.root / "zz" / "00" / other).write_text("x")
    (store.root / digest[:2] / "ff").mkdir(exist_ok=True)
    (store.root / digest[:2] / "ff" / other).write_text("x")
    (store.root / "tmp" / f"{other}.part").write_text("x")
    assert list(store.iter_digests()) == [digest]


@pytest.mark.parametrize("bad", BAD_DIGESTS, ids=lambda v: ascii(v)[:40])
def test_when_digest_is_a_traversal_payload_then_nothing_outside_or_inside_the_root_changes(
    tmp_path: Path, bad
):
    canary = tmp_path / "canary"
    canary.write_bytes(b"canary")
    store = open_local(tmp_path / "a" / "b" / "blobs", create=True)
    store.put_bytes(b"inside")
    before = _tree(tmp_path)
    for call in (store.open, store.read_bytes, store.exists, store.size, store.verify, store.delete):
        with pytest.raises(InvalidInput):
            call(bad)
    with pytest.raises(InvalidInput):
        store.local_path(bad)
    assert _tree(tmp_path) == before


def test_sweep_temp_removes_only_temp_files_older_than_the_age(store: LocalBlobStore):
    tmp = store.root / "tmp"
    old, fresh, other = tmp / "old.part", tmp / "fresh.part", tmp / "README"
    for p in (old, fresh, other):
        p.write_bytes(b"partial")
    hours_ago = time.time() - 3 * 3600
    os.utime(old, (hours_ago, hours_ago))
    os.utime(other, (hours_ago, hours_ago))
    assert store.sweep_temp(older_than=3600) == 1
    assert sorted(p.name for p in tmp.iterdir()) == ["README", "fresh.part"]
    assert store.sweep_temp(older_than=0) == 1
    assert sorted(p.name for p in tmp.iterdir()) == ["README"]


def test_when_store_opened_then_day_old_temp_files_are_swept(store: LocalBlobStore):
    tmp = store.root / "tmp"
    (tmp / "dead.part").write_bytes(b"x")
    (tmp / "alive.part").write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(tmp / "dead.part", (two_days_ago, two_days_ago))
    open_local(store.root)
    assert [p.name for p in tmp.iterdir()] == ["alive.part"]


def test_when_temp_dir_was_removed_then_the_next_put_recreates_it(store: LocalBlobStore):
    (store.root / "tmp").rmdir()
    assert store.put_bytes(b"x").created
    assert _temp_files(store) == []
