"""Damaged and hostile image files, made byte by byte, for the probe and read tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def _patch_box(data: bytearray, attribute: str, box: tuple[int, int, int, int]) -> None:
    """Overwrite an EXR header's box2i attribute (name, type, size, then 4 little-endian int32)."""
    at = data.find(attribute.encode() + b"\0box2i\0")
    assert at > 0, attribute
    value = at + len(attribute) + 1 + len("box2i") + 1 + 4
    data[value : value + 16] = struct.pack("<4i", *box)


def exr_claiming_size(good_exr: Path, out: Path, width: int, height: int) -> Path:
    """A real EXR whose header claims ``width x height`` pixels (the data is still the small image's)."""
    data = bytearray(good_exr.read_bytes())
    for name in ("dataWindow", "displayWindow"):
        _patch_box(data, name, (0, 0, width - 1, height - 1))
    out.write_bytes(bytes(data))
    return out


def truncated(good: Path, out: Path, keep: float = 0.5) -> Path:
    data = good.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def random_with_magic(out: Path, magic: bytes = b"v/1\x01", size: int = 4096, seed: int = 0) -> Path:
    """Random bytes after a format's magic number: a reader must get past the magic to refuse it."""
    out.write_bytes(magic + np.random.default_rng(seed).bytes(size))
    return out


def tiff(
    out: Path,
    width: int,
    height: int,
    *,
    samples: int = 3,
    strip_offset: int | None = None,
    strip_bytes: int | None = None,
    payload: bytes = b"\0" * 64,
) -> Path:
    """A minimal little-endian baseline TIFF with one uncompressed 8-bit strip, whose header says what
    we like (dimensions, channel count, where the strip is)."""
    bps_at = 8 + 2 + 10 * 12 + 4
    bps = struct.pack(f"<{samples}H", *([8] * samples)) if samples > 2 else b""
    data_at = bps_at + len(bps)
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, samples, bps_at if samples > 2 else 8),
        (259, 3, 1, 1),
        (262, 3, 1, 2 if samples >= 3 else 1),
        (273, 4, 1, data_at if strip_offset is None else strip_offset),
        (277, 3, 1, samples),
        (278, 4, 1, height),
        (279, 4, 1, len(payload) if strip_bytes is None else strip_bytes),
        (284, 3, 1, 1),
    ]
    body = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        body += struct.pack("<HHI", tag, kind, count) + packed
    out.write_bytes(body + struct.pack("<I", 0) + bps + payload)
    return out
