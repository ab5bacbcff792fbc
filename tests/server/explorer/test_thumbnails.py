"""Thumbnails are made by a sandboxed worker process: a good frame becomes a small PNG, a decode over
the worker's memory limit or a corrupt blob is refused with the reason, and refusals are cached."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import OpenImageIO as oiio  # noqa: N813
import pytest

from rmtc.blobs.local import LocalBlobStore, open_local
from rmtc.core.entities import Asset
from rmtc.core.ids import new_id
from rmtc.errors import IntegrityError, InvalidInput
from rmtc.server.thumbnails import Thumbnailer
from rmtc.vfx import Image, write_image


def stored_frame(blobs: LocalBlobStore, folder: Path, width: int, height: int) -> Asset:
    rgb = np.linspace(0, 1, width * height * 3, dtype=np.float32).reshape(height, width, 3)
    path = write_image(folder / f"frame_{width}x{height}.exr", Image(rgb, ("R", "G", "B")), pixel_type="half")
    info = blobs.put_file(path)
    return Asset(
        id=new_id(),
        name=path.name,
        created_at=datetime.now(UTC),
        created_by="tester",
        content_hash=info.digest,
        size=info.size,
    )


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return open_local(tmp_path / "blobs", create=True)


def test_when_a_frame_is_thumbnailed_then_the_png_fits_the_size_and_keeps_the_aspect(blobs, tmp_path):
    asset = stored_frame(blobs, tmp_path, 640, 360)
    png = Thumbnailer(tmp_path / "cache", size=128).png(blobs, asset)
    spec = oiio.ImageInput.open(str(png))
    try:
        assert (spec.spec().width, spec.spec().height, spec.spec().nchannels) == (128, 72, 3)
    finally:
        spec.close()


def test_when_decoding_needs_more_than_the_memory_limit_then_the_reason_says_so(blobs, tmp_path):
    asset = stored_frame(blobs, tmp_path, 2048, 1024)
    thumbnailer = Thumbnailer(tmp_path / "cache", memory_limit=4 << 20)
    with pytest.raises(InvalidInput, match="memory"):
        thumbnailer.png(blobs, asset)
    refused = list((tmp_path / "cache").glob("*.err"))
    assert len(refused) == 1
    with pytest.raises(InvalidInput, match="memory"):
        thumbnailer.png(blobs, asset)


def test_when_the_blob_is_corrupt_then_nothing_is_decoded(blobs, tmp_path):
    asset = stored_frame(blobs, tmp_path, 64, 32)
    path = Path(blobs.local_path(asset.content_hash))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        Thumbnailer(tmp_path / "cache").png(blobs, asset)
    assert list((tmp_path / "cache").glob("*.png")) == []
