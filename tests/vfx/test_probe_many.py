"""probe_many(): damaged and hostile files in sandboxed workers; the calling process (pytest) survives.

The files are real (truncated, random, oversize-claiming EXRs; hostile TIFFs) and so are the out-of-memory
and the workers. A decoder crash, a hang and a CPU-burning decode cannot be produced from a file on
demand, so those are injected into the real worker process through its command line (the only fault
injection here).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rmtc.vfx import media
from rmtc.vfx._oiio import Limits
from rmtc.vfx.image import Image
from rmtc.vfx.imageio import write_image
from rmtc.vfx.media import ProbePool, probe_many

from . import hostile
from .helpers import RGB, pixels

FAULTS = """
import os, signal
_real_probe_file = _probe_worker.probe_file
def _faulty_probe_file(path, **kwargs):
    name = os.path.basename(str(path))
    if name.startswith("segfault"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if name.startswith("hang"):
        signal.pause()
    if name.startswith("burn"):
        while True:
            pass
    return _real_probe_file(path, **kwargs)
_probe_worker.probe_file = _faulty_probe_file
"""


@pytest.fixture(scope="module")
def pool() -> Iterator[ProbePool]:
    with ProbePool(workers=1) as p:
        yield p


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers that crash, hang or burn CPU on files named so (see FAULTS)."""
    real = media._worker_command

    def command() -> list[str]:
        argv = real()
        argv[-1] = argv[-1].replace("_probe_worker.main()", "\n" + FAULTS + "\n_probe_worker.main()")
        return argv

    monkeypatch.setattr(media, "_worker_command", command)


@pytest.fixture
def damaged(tmp_path: Path, good_exr: Path) -> dict[str, Path]:
    return {
        "good": good_exr,
        "truncated_header": hostile.truncated(good_exr, tmp_path / "trunc_header.exr", keep=0.05),
        "random_after_magic": hostile.random_with_magic(tmp_path / "random.exr"),
        "claims_1M_x_1M": hostile.exr_claiming_size(good_exr, tmp_path / "huge.exr", 1_000_000, 1_000_000),
        "empty": _write(tmp_path / "empty.exr", b""),
        "tiff_1M_x_1M": hostile.tiff(tmp_path / "huge.tif", 1_000_000, 1_000_000),
        "tiff_40k_bomb": hostile.tiff(tmp_path / "bomb.tif", 40_000, 40_000, samples=1),
        "tiff_60000_channels": hostile.tiff(tmp_path / "channels.tif", 16, 16, samples=60_000),
        "tiff_strip_past_eof": hostile.tiff(
            tmp_path / "strip.tif", 64, 64, strip_offset=10**7, strip_bytes=12288
        ),
        "text_named_dpx": _write(tmp_path / "text.dpx", b"hello\n" * 50),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_when_damaged_and_hostile_files_are_probed_then_each_is_undecodable_and_the_good_one_is_read(
    pool, damaged
):
    names = list(damaged)
    results = pool.probe([damaged[n] for n in names], decode=True)
    by_name = dict(zip(names, results, strict=True))
    good = by_name.pop("good")
    assert good["width"] == 48 and good["decoded"] is True and good["nonfinite"] == 0
    for name, result in by_name.items():
        assert set(result) == {"undecodable"}, name
        assert isinstance(result["undecodable"], str) and result["undecodable"], name


def test_when_the_header_is_intact_but_the_pixels_are_cut_then_only_a_decode_finds_it(
    pool, tmp_path, good_exr
):
    cut = hostile.truncated(good_exr, tmp_path / "cut.exr", keep=0.6)
    header_only, decoded = pool.probe([cut])[0], pool.probe([cut], decode=True)[0]
    assert header_only["width"] == 48
    assert "cannot be decoded" in decoded["undecodable"]


def test_when_non_images_and_missing_files_are_probed_then_they_get_empty_and_not_found(
    pool, tmp_path, good_exr
):
    notes = _write(tmp_path / "notes.txt", b"shot notes")
    results = pool.probe([notes, tmp_path / "gone.exr", tmp_path, good_exr])
    assert results[0] == {} and results[2] == {}
    assert results[1] == {"undecodable": "file not found"}
    assert results[3]["width"] == 48


def test_when_a_decode_needs_more_than_the_memory_limit_then_that_file_is_out_of_memory(tmp_path, good_exr):
    zeros = Image(
        np.zeros((2048, 2048, 4), np.float16), ("R", "G", "B", "A")
    )  # 32 MB decoded, 0.1 MB on disk
    big = write_image(tmp_path / "big.exr", zeros, compression="rle")
    results = probe_many([big, good_exr], decode=True, memory_limit=8 << 20, workers=1)
    assert "memory" in results[0]["undecodable"]
    assert results[1]["decoded"] is True


def test_when_limits_are_tight_then_the_header_is_refused_before_any_pixel_is_read(tmp_path, good_exr):
    results = probe_many([good_exr], decode=True, limits=Limits(max_image_mb=0), workers=1)
    assert "above the limit of 0 MB" in results[0]["undecodable"]


@pytest.mark.usefixtures("faulty")
def test_when_the_decoder_crashes_then_that_file_is_undecodable_and_the_rest_are_probed(tmp_path, good_exr):
    crash = hostile.truncated(good_exr, tmp_path / "segfault.exr", keep=1.0)
    with ProbePool(workers=1) as p:
        results = p.probe([good_exr, crash, good_exr, crash, good_exr])
        assert [r.get("width") for r in results] == [48, None, 48, None, 48]
        assert results[1] == {"undecodable": "the decoder crashed (SIGSEGV)"}
        assert p.probe([good_exr])[0]["width"] == 48  # the pool replaced its worker


@pytest.mark.usefixtures("faulty")
def test_when_a_file_hangs_then_it_times_out_and_the_next_file_is_probed(tmp_path, good_exr):
    hang = hostile.truncated(good_exr, tmp_path / "hang.exr", keep=1.0)
    results = probe_many([hang, good_exr], timeout=2.0, workers=1)
    assert results[0] == {"undecodable": "timed out after 2 s"}
    assert results[1]["width"] == 48


@pytest.mark.usefixtures("faulty")
def test_when_a_file_burns_cpu_then_the_cpu_limit_stops_it(tmp_path, good_exr):
    burn = hostile.truncated(good_exr, tmp_path / "burn.exr", keep=1.0)
    results = probe_many([burn, good_exr], cpu_limit=1, timeout=120, workers=1)
    assert results[0] == {"undecodable": "the decoder used more than its CPU limit of 1 s"}
    assert results[1]["width"] == 48


def test_when_many_files_are_probed_then_a_few_workers_serve_them_all_in_order(tmp_path, monkeypatch):
    paths = []
    for i in range(150):
        paths.append(write_image(tmp_path / f"p.{i:04d}.exr", Image(pixels((4, 4 + i % 7, 3), seed=i), RGB)))
    started = []
    real_popen = subprocess.Popen

    def counting_popen(*args, **kwargs):
        started.append(args)
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", counting_popen)
    results = probe_many(paths, workers=2)
    assert [r["width"] for r in results] == [4 + i % 7 for i in range(150)]
    assert 1 <= len(started) <= 2
