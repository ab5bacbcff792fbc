"""What image I/O and probing share: format tables, size limits and reading an OpenImageIO header.

Kept apart from :mod:`rmtc.vfx.imageio` so the probe worker process imports only this and
OpenImageIO, and starts fast.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import OpenImageIO as oiio  # noqa: N813 - the name every OpenImageIO user knows

from rmtc.errors import InvalidInput

#: Formats rmtc writes, by OpenImageIO format name: their extensions and the pixel types they store.
WRITE_FORMATS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "openexr": ((".exr",), ("half", "float")),
    "tiff": ((".tif", ".tiff"), ("uint8", "uint16", "float")),
    "png": ((".png",), ("uint8", "uint16")),
    "jpeg": ((".jpg", ".jpeg"), ("uint8",)),
    "dpx": ((".dpx",), ("uint8", "uint16")),
}
FORMAT_BY_EXTENSION: dict[str, str] = {ext: fmt for fmt, (exts, _) in WRITE_FORMATS.items() for ext in exts}
TILED_FORMATS = frozenset({"openexr", "tiff"})
EXR_COMPRESSIONS = frozenset(
    {
        "none",
        "rle",
        "zip",
        "zips",
        "piz",
        "pxr24",
        "b44",
        "b44a",
        "dwaa",
        "dwab",
        "htj2k",
        "htj2k256",
        "htj2k32",
    }
)
#: OpenImageIO "formats" that are not image files: they must never make a text file look like an image.
_PSEUDO_FORMATS = frozenset({"null", "term"})

#: Header keys that name where a frame sits in its sequence, in order of preference.
FRAME_KEYS = ("rmtc/frame", "dpx:FramePosition", "cineon:FramePosition")
RMTC_PREFIX = "rmtc/"


@functools.cache
def readable_extensions() -> frozenset[str]:
    """Extensions (with dot, lower case) OpenImageIO can read here, pseudo-formats excluded."""
    exts: set[str] = set()
    for entry in oiio.get_string_attribute("extension_list").split(";"):
        fmt, _, names = entry.partition(":")
        if fmt not in _PSEUDO_FORMATS:
            exts.update(f".{e.lower()}" for e in names.split(",") if e)
    return frozenset(exts)


@dataclass(frozen=True)
class Limits:
    """The largest image rmtc agrees to read; anything larger is treated as corrupt or hostile.

    Checked against the header before a single pixel is allocated (CVE-2025-48074 and its kin came from
    trusting the header's size). The defaults admit any real frame (16K, hundreds of AOVs) while
    refusing a header that claims terabytes.
    """

    max_width: int = 65536
    max_height: int = 65536
    max_channels: int = 1024
    max_image_mb: int = 8192

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def apply_to_openimageio(self) -> None:
        """Make OpenImageIO's own readers refuse oversize headers too (process-wide: workers only)."""
        oiio.attribute("limits:imagesize_MB", int(self.max_image_mb))
        oiio.attribute("limits:channels", int(self.max_channels))
        oiio.attribute("limits:resolution", int(max(self.max_width, self.max_height)))


def limit_violation(spec: oiio.ImageSpec, limits: Limits) -> str | None:
    """Why the header's claimed size is refused, or None when it is within ``limits``."""
    w, h, d, c = int(spec.width), int(spec.height), max(1, int(spec.depth)), int(spec.nchannels)
    if w <= 0 or h <= 0 or c <= 0:
        return f"the header claims an empty image ({w} x {h}, {c} channel(s))"
    if w > limits.max_width or h > limits.max_height:
        return (
            f"the header claims {w} x {h} pixels, above the limit of "
            f"{limits.max_width} x {limits.max_height}; the file is probably damaged or hostile"
        )
    if c > limits.max_channels:
        return f"the header claims {c} channels, above the limit of {limits.max_channels}"
    size = w * h * d * c * max(1, spec.format.size())
    if size > limits.max_image_mb * (1 << 20):
        return (
            f"the header claims a {w} x {h} x {c} {spec.format} image of {size / (1 << 20):.0f} MB, above "
            f"the limit of {limits.max_image_mb} MB; the file is probably damaged or hostile"
        )
    return None


def first_line(message: str) -> str:
    """The first non-empty line of an OpenImageIO error (they repeat and run on)."""
    for line in message.splitlines():
        if line.strip():
            return line.strip()
    return "unknown error"


def read_config() -> oiio.ImageSpec:
    """How rmtc opens files: pixel values as stored. OpenImageIO would otherwise premultiply the
    unassociated alpha of PNG (and some TIFFs) on read, losing the colour of transparent pixels."""
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    return config


def try_open(path: Path) -> oiio.ImageInput | None:
    """Open ``path`` for reading with :func:`read_config`; None when OpenImageIO cannot (see geterror)."""
    return oiio.ImageInput.open(os.fspath(path), read_config())


def open_input(path: Path) -> oiio.ImageInput:
    """Open ``path`` for reading; InvalidInput saying the file is damaged when OpenImageIO cannot."""
    inp = try_open(path)
    if inp is None:
        reason = first_line(oiio.geterror())
        raise InvalidInput(
            f"{path} is damaged or not a readable image: {reason}",
            hint="re-export or re-transfer the file; check it with rmtc.vfx.media.probe_many",
            details={"path": str(path), "reason": reason},
        )
    return inp


def type_name(td: oiio.TypeDesc) -> str:
    return str(td)


def read_type(spec: oiio.ImageSpec) -> tuple[str, list[str] | None]:
    """The pixel type rmtc reads a file's pixels as, and the per-channel types when they differ."""
    formats = [type_name(t) for t in (spec.channelformats or ())]
    mixed = formats if len(set(formats)) > 1 else None
    native = type_name(spec.format)
    if mixed is not None or native not in ("half", "float", "uint8", "uint16"):
        return "float", mixed
    return native, None


def plain(value: Any) -> Any:
    """A metadata value as JSON-friendly Python (tuples become lists, bytes hex, numpy values numbers)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    return str(value)


def metadata_of(spec: oiio.ImageSpec) -> tuple[dict[str, Any], dict[str, str]]:
    """Every header attribute, and the OpenImageIO type name of each, in file order."""
    values: dict[str, Any] = {}
    types: dict[str, str] = {}
    for p in spec.extra_attribs:
        values[p.name] = p.value
        types[p.name] = type_name(p.type)
    return values, types


def frame_of(values: Mapping[str, Any]) -> int | None:
    """The frame number the header records, if any (DPX writes 0xFFFFFFFF for "unset")."""
    for key in FRAME_KEYS:
        raw = values.get(key)
        if raw is None:
            continue
        try:
            frame = int(raw)
        except (TypeError, ValueError):
            continue
        if 0 <= frame < 0xFFFFFFFF:
            return frame
    return None


def header_of(inp: oiio.ImageInput, spec: oiio.ImageSpec) -> dict[str, Any]:
    """The media info rmtc records for an asset, from an open input's header (JSON-friendly)."""
    values, _ = metadata_of(spec)
    pixel_type, channel_types = read_type(spec)
    x0, y0 = int(spec.x), int(spec.y)
    fx, fy = int(spec.full_x), int(spec.full_y)
    tiled = int(spec.tile_width) > 0
    colourspace = values.get("oiio:ColorSpace") or values.get("colorInteropID")
    info: dict[str, Any] = {
        "format": inp.format_name(),
        "width": int(spec.width),
        "height": int(spec.height),
        "channels": int(spec.nchannels),
        "channel_names": list(spec.channelnames),
        "pixel_type": type_name(spec.format) if channel_types is None else pixel_type,
        "tiled": tiled,
        "data_window": [x0, y0, x0 + int(spec.width) - 1, y0 + int(spec.height) - 1],
        "display_window": [fx, fy, fx + int(spec.full_width) - 1, fy + int(spec.full_height) - 1],
        "colourspace": str(colourspace) if colourspace else None,
        "frame": frame_of(values),
    }
    if channel_types is not None:
        info["channel_types"] = channel_types
    if tiled:
        info["tile_size"] = [int(spec.tile_width), int(spec.tile_height)]
    if spec.deep:
        info["deep"] = True
    if "compression" in values:
        info["compression"] = str(values["compression"])
    subimages = values.get("oiio:subimages")
    if isinstance(subimages, int) and subimages > 1:
        info["subimages"] = subimages
    rmtc = {k: plain(v) for k, v in values.items() if k.startswith(RMTC_PREFIX)}
    if rmtc:
        info["rmtc_attributes"] = rmtc
    return info
