import os
import signal
import subprocess
import sys
import textwrap

import pytest

import rmtc
from rmtc.core.hashing import hash_bytes
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import NotFound


def _frames(folder, n=6, size=4096, name="plate", start=1001):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{name}.{start + i}.exr").write_bytes(os.urandom(size))
    return str(folder / f"{name}.####.exr")


def test_ingest_records_one_asset_per_file_with_its_sequence_and_frame(tracker, tmp_path):
    pattern = _frames(tmp_path / "sh010")
    report = tracker.ingestor.ingest([pattern])
    assert (len(report.files), report.created) == (6, 6)
    asset = tracker.get(report.files[0].asset)
    assert asset.frame == 1001 and asset.sequence == pattern and asset.storage == "copy"
    data = (tmp_path / "sh010" / "plate.1001.exr").read_bytes()
    assert asset.content_hash == hash_bytes(data)
    assert tracker.blobs.read_bytes(asset.content_hash) == data


def test_re_ingesting_the_same_bytes_creates_nothing(tracker, tmp_path):
    pattern = _frames(tmp_path / "sh010")
    first = tracker.ingestor.ingest([pattern])
    again = tracker.ingestor.ingest([pattern])
    assert again.created == 0 and again.existing == 6
    assert [f.asset for f in again.files] == [f.asset for f in first.files]
    assert tracker.store.count_entities(tracker.query(Kind.ASSET)) == 6


def test_by_reference_records_path_and_hash_without_copying(tracker, tmp_path):
    pattern = _frames(tmp_path / "sh020", n=2)
    report = tracker.ingestor.ingest([pattern], by_reference=True)
    asset = tracker.get(report.files[0].asset)
    assert asset.storage == "reference" and asset.uri.endswith("plate.1001.exr")
    assert not tracker.blobs.exists(asset.content_hash)


def test_talent_licence_and_dataset_tags_are_recorded(tracker, tmp_path):
    tracker.parties.add_talent("ava_reyes")
    tracker.parties.add_license("ava-2026", grants=["training"], parties=["ava_reyes"])
    report = tracker.ingestor.ingest(
        [_frames(tmp_path / "sh010", n=3)], talent=["ava_reyes"], licenses=["ava-2026"], dataset="beauty"
    )
    asset = report.files[0].asset
    assert [p.name for p in tracker.neighbours(asset, Relation.DEPICTS)] == ["ava_reyes"]
    assert [x.name for x in tracker.neighbours(asset, Relation.GOVERNED_BY)] == ["ava-2026"]
    assert tracker.datasets.snapshot("dataset:beauty").member_count == 3


def test_an_unknown_talent_is_refused_before_any_file_is_read(tracker, tmp_path):
    with pytest.raises(NotFound, match="party:nobody"):
        tracker.ingestor.ingest([_frames(tmp_path / "x", n=1)], talent=["nobody"])
    assert tracker.store.count_entities(tracker.query(Kind.ASSET)) == 0


def test_a_file_vanishing_mid_ingest_fails_alone(tracker, tmp_path, monkeypatch):
    folder = tmp_path / "vanish"
    _frames(folder, n=3)
    real_put = tracker.blobs.put_files

    def vanish_then_put(paths):
        for path in paths:
            if str(path).endswith("1002.exr"):
                os.unlink(path)  # deleted by someone else after the scan found it
        return real_put(paths)

    monkeypatch.setattr(tracker.blobs, "put_files", vanish_then_put)
    report = tracker.ingestor.ingest([str(folder / "plate.####.exr")])
    assert len(report.files) == 2
    (path, reason) = report.failed[0]
    assert path.endswith("plate.1002.exr") and reason


def test_exr_frames_get_media_info_from_their_headers(tracker, tmp_path):
    pytest.importorskip("OpenImageIO", reason="the vfx extra is not installed")
    import numpy as np

    from rmtc.vfx.imageio import Image, write_image

    path = tmp_path / "beauty.1001.exr"
    write_image(str(path), Image(np.zeros((8, 16, 4), dtype=np.float32), channel_names=("R", "G", "B", "A")))
    report = tracker.ingestor.ingest([str(path)])
    media = tracker.get(report.files[0].asset).media
    assert (media["width"], media["height"], media["channels"]) == (16, 8, 4)


INGEST_SCRIPT = textwrap.dedent(
    """
    import sys, rmtc
    with rmtc.open(sys.argv[1]) as t:
        t.ingestor.ingest([sys.argv[2]], probe_media=False)
    print("done")
    """
)


def test_an_ingest_killed_half_way_completes_when_run_again(project_dir, tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(1200):
        (folder / f"f.{i:04d}.bin").write_bytes(os.urandom(8192))
    proc = subprocess.Popen([sys.executable, "-c", INGEST_SCRIPT, str(project_dir), str(folder)])
    blobs_dir = project_dir / ".rmtc" / "blobs"
    # kill it once some blobs exist but before it can have finished
    for _ in range(2000):
        if proc.poll() is not None:
            break
        if blobs_dir.exists() and sum(1 for _ in blobs_dir.rglob("*") if _.is_file()) > 100:
            break
        subprocess.run(["sleep", "0.01"], check=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out = subprocess.run(
        [sys.executable, "-c", INGEST_SCRIPT, str(project_dir), str(folder)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    with rmtc.open(project_dir) as t:
        assert t.store.count_entities(t.query(Kind.ASSET)) == 1200
        assert t.verifier.verify().ok


def test_four_processes_ingesting_into_one_sqlite_project_lose_nothing(project_dir, tmp_path):
    folders = []
    for p in range(4):
        folder = tmp_path / f"src{p}"
        folder.mkdir()
        for i in range(150):  # a third of each folder is shared with the next one
            data = f"shared-{(p * 100 + i) % 400}" if i < 50 else f"own-{p}-{i}"
            (folder / f"f.{i:04d}.bin").write_bytes(data.encode() * 64)
        folders.append(folder)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", INGEST_SCRIPT, str(project_dir), str(f)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in folders
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    expected = {hash_bytes(f.read_bytes()) for folder in folders for f in folder.iterdir()}
    with rmtc.open(project_dir) as t:
        stored = {a.content_hash for a in t.iter(t.query(Kind.ASSET))}
        assert stored == expected
        assert t.store.count_entities(t.query(Kind.ASSET)) == len(expected)
