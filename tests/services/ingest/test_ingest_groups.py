"""Ingest in windows: small files of a window share two flushes; a failed flush fails its window alone."""

from __future__ import annotations

import errno
import os
import threading

import pytest

from rmtc.blobs import local
from rmtc.core.hashing import hash_bytes
from rmtc.core.kinds import Kind
from rmtc.errors import Conflict
from rmtc.services.ingest import service
from rmtc.services.ingest.service import GROUP_BYTES, SMALL, windows


def _files(folder, sizes):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, size in enumerate(sizes):
        path = folder / f"f.{i:04d}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def _syncs(monkeypatch, fail_at: int = 0) -> list[int]:
    """Count the blob store's filesystem syncs; the ``fail_at``-th fails with EIO."""
    calls: list[int] = []
    real = local._syncfs

    def syncfs(path):
        calls.append(1)
        if len(calls) == fail_at:
            raise OSError(errno.EIO, "injected")
        real(path)

    monkeypatch.setattr(local, "_syncfs", syncfs)
    return calls


def test_when_input_spans_several_windows_then_each_window_pays_two_flushes(tracker, tmp_path, monkeypatch):
    monkeypatch.setattr(service, "GROUP_FILES", 4)
    monkeypatch.setattr(service, "RAMP", 1)
    paths = _files(tmp_path / "src", [3000] * 10)
    calls = _syncs(monkeypatch)
    report = tracker.ingestor.ingest([str(tmp_path / "src")], probe_media=False)
    assert len(calls) == 2 * 3
    assert [f.path for f in report.files] == paths
    assert report.created == 10 and not report.failed


def test_when_a_window_flush_fails_then_every_file_of_that_window_fails_and_none_is_recorded(
    tracker, tmp_path, monkeypatch
):
    monkeypatch.setattr(service, "GROUP_FILES", 4)
    monkeypatch.setattr(service, "RAMP", 1)
    monkeypatch.setattr(service, "IN_FLIGHT", 1)  # windows one after the other: the 3rd sync is window 2's
    paths = _files(tmp_path / "src", [3000] * 10)
    _syncs(monkeypatch, fail_at=3)
    report = tracker.ingestor.ingest([str(tmp_path / "src")], probe_media=False)
    assert [p for p, _ in report.failed] == [str(p) for p in paths[4:8]]
    assert all("injected" in reason for _, reason in report.failed)
    assert [f.path for f in report.files] == paths[:4] + paths[8:]
    recorded = {a.content_hash for a in tracker.iter(tracker.query(Kind.ASSET))}
    assert recorded == {hash_bytes(p.read_bytes()) for p in paths[:4] + paths[8:]}
    assert all(tracker.blobs.exists(h) for h in recorded)
    assert not any(tracker.blobs.exists(hash_bytes(p.read_bytes())) for p in paths[4:8])
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_when_small_and_large_files_alternate_then_the_small_ones_share_one_group_in_input_order(
    tracker, tmp_path, monkeypatch
):
    monkeypatch.setattr(service, "SMALL", 6000)
    paths = _files(tmp_path / "src", [4000, 8000, 4000, 4000, 8000, 4000])
    calls = _syncs(monkeypatch)
    report = tracker.ingestor.ingest([str(tmp_path / "src")], probe_media=False)
    assert len(calls) == 2  # the large files are fsynced one by one, not synced with the group
    assert [f.path for f in report.files] == paths
    for f, p in zip(report.files, paths, strict=True):
        assert tracker.get(f.asset).content_hash == hash_bytes(p.read_bytes())


def test_when_by_reference_spans_windows_then_every_file_is_hashed_in_order(tracker, tmp_path, monkeypatch):
    monkeypatch.setattr(service, "GROUP_FILES", 3)
    paths = _files(tmp_path / "src", [100] * 8)
    report = tracker.ingestor.ingest([str(tmp_path / "src")], by_reference=True, probe_media=False)
    assert [f.path for f in report.files] == paths
    assert [tracker.get(f.asset).content_hash for f in report.files] == [
        hash_bytes(p.read_bytes()) for p in paths
    ]


def test_windows_start_small_then_double_up_to_the_limits():
    assert windows([1] * 5000) == [(0, 256), (256, 768), (768, 1792), (1792, 3840), (3840, 5000)]


def test_windows_close_at_the_file_count_or_at_the_bytes_of_small_files(monkeypatch):
    monkeypatch.setattr(service, "RAMP", 1)
    assert windows([1] * 5000) == [(0, 2048), (2048, 4096), (4096, 5000)]
    fit = GROUP_BYTES // (SMALL - 1)  # small files that fit in one group's bytes
    assert windows([SMALL - 1] * (fit + 1)) == [(0, fit), (fit, fit + 1)]
    assert windows([SMALL * 4, SMALL * 4, 10]) == [(0, 3)]  # large files do not fill the group
    assert windows([]) == []


def test_when_a_window_is_recorded_then_the_later_windows_are_already_copied(tracker, tmp_path, monkeypatch):
    monkeypatch.setattr(service, "GROUP_FILES", 2)
    monkeypatch.setattr(service, "RAMP", 1)
    paths = _files(tmp_path / "src", [100] * 8)  # four windows
    all_copied = threading.Event()
    copied: list[int] = []
    real_put = tracker.blobs.put_files

    def put_files(batch):
        results = real_put(batch)
        copied.append(len(batch))
        if sum(copied) == len(paths):
            all_copied.set()
        return results

    real_record = service.Ingestor._record_batch
    waited: list[bool] = []

    def record_batch(self, *args, **kwargs):
        waited.append(all_copied.wait(timeout=10))  # copying must not wait for this recording
        return real_record(self, *args, **kwargs)

    monkeypatch.setattr(tracker.blobs, "put_files", put_files)
    monkeypatch.setattr(service.Ingestor, "_record_batch", record_batch)
    report = tracker.ingestor.ingest([str(tmp_path / "src")], probe_media=False)
    assert waited[0], "the last window was copied only after the first one was recorded"
    assert [f.path for f in report.files] == paths


def test_when_recording_fails_then_windows_not_yet_copied_never_are(tracker, tmp_path, monkeypatch):
    monkeypatch.setattr(service, "GROUP_FILES", 2)
    monkeypatch.setattr(service, "RAMP", 1)
    monkeypatch.setattr(service, "IN_FLIGHT", 1)
    _files(tmp_path / "src", [100] * 12)  # six windows
    failed = threading.Event()
    copied: list[int] = []
    real_put = tracker.blobs.put_files

    def put_files(batch):
        if copied:
            failed.wait(timeout=10)  # the later windows start copying only once the recording failed
        copied.append(len(batch))
        return real_put(batch)

    def record_batch(self, *args, **kwargs):
        failed.set()
        raise Conflict("injected", hint="none")

    monkeypatch.setattr(tracker.blobs, "put_files", put_files)
    monkeypatch.setattr(service.Ingestor, "_record_batch", record_batch)
    with pytest.raises(Conflict, match="injected"):
        tracker.ingestor.ingest([str(tmp_path / "src")], probe_media=False)
    assert len(copied) <= 2  # the first window, and the second if it had started
