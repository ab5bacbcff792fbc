"""Reading and writing frames through OpenImageIO: EXR (half and float, scanline and tiled), TIFF, PNG,
JPEG and DPX.

Header metadata survives a read -> write round trip, so provenance written into a frame (``rmtc/...``
attributes) follows it through the pipeline. Writes are atomic: the frame is written to a temporary file
in the target directory, flushed to disk and renamed, so a crash never leaves a half-written frame under
the final name, and a reader never sees one.

These functions decode in the calling process and are meant for frames the caller trusts (its own
renders, frames already ingested). Files from outside go through :func:`rmtc.vfx.media.probe_many`
first, which decodes in a sandboxed worker process.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio  # noqa: N813 - the name every OpenImageIO user knows

from rmtc.errors import InvalidInput, RmtcError
from rmtc.vfx import _oiio
from rmtc.vfx._oiio import FORMAT_BY_EXTENSION, WRITE_FORMATS, Limits
from rmtc.vfx.image import DTYPES, Image, convert_pixels, to_hwc

__all__ = ["Image", "Limits", "read_image", "write_image"]

#: Attributes that describe how the source file was encoded, not the picture: never carried to a new file.
_ENCODING_KEYS = frozenset(
    {
        "compression",
        "planarconfig",
        "Compression",
        "tiff:Compression",
        "tiff:PhotometricInterpretation",
        "tiff:PlanarConfiguration",
        "tiff:RowsPerStrip",
        "dpx:Packing",
        "dpx:ImageDescriptor",
        "dpx:EndOfLinePadding",
        "dpx:EndOfImagePadding",
        "openexr:chunkCount",
        "openexr:lineOrder",
        "dwaCompressionLevel",
        "tiff:half",
    }
)


def read_image(
    path: str | os.PathLike[str],
    *,
    channels: Sequence[str] | None = None,
    limits: Limits | None = None,
) -> Image:
    """Read the first subimage of a file as an ``H x W x C`` :class:`Image`.

    Pixels keep the file's type (float16 for half EXR, uint8 for 8-bit PNG ...); files mixing channel
    types (half RGB with a float Z) and exotic types are read as float32. Values are as stored: the
    unassociated alpha of a PNG is not premultiplied on the way in. The header's size is checked
    against ``limits`` before pixels are allocated.

    Args:
        path: the image file.
        channels: names of the channels to read, in the order wanted (``["R", "G", "B"]`` of an RGBA
            plate); None reads them all.
        limits: the largest image accepted (default :class:`~rmtc.vfx._oiio.Limits`).

    Raises:
        InvalidInput: the file is missing, has an extension no reader handles, is damaged or exceeds the
            limits, is a deep image, or lacks a requested channel.
    """
    p = Path(path)
    if not p.is_file():
        what = "is not a file" if p.exists() else "does not exist"
        raise InvalidInput(f"cannot read image {p}: it {what}", hint="check the path (and the frame number)")
    ext = p.suffix.lower()
    if ext and ext not in _oiio.readable_extensions():
        raise InvalidInput(
            f"cannot read {p}: {ext!r} is not an image format OpenImageIO reads",
            hint=f"use one of {', '.join(sorted(FORMAT_BY_EXTENSION))} (or another OpenImageIO format)",
        )
    inp = _oiio.open_input(p)
    try:
        spec = inp.spec()
        if spec.deep:
            raise InvalidInput(f"{p} is a deep image", hint="flatten it (e.g. with Nuke's DeepToImage) first")
        problem = _oiio.limit_violation(spec, limits or Limits())
        if problem:
            raise InvalidInput(
                f"refusing to read {p}: {problem}", hint="raise the limits if the file is genuine"
            )
        names = tuple(spec.channelnames)
        wanted = tuple(channels) if channels is not None else names
        missing = [c for c in wanted if c not in names]
        if missing or not wanted:
            raise InvalidInput(
                f"{p} has no channel(s) {', '.join(map(repr, missing)) or '(none requested)'}; "
                f"it has {', '.join(names)}",
                hint="ask for channels the file has",
            )
        idx = [names.index(c) for c in wanted]
        lo, hi = min(idx), max(idx) + 1
        pixel_type, _ = _oiio.read_type(spec)
        pixels = inp.read_image(0, 0, lo, hi, pixel_type)
        if pixels is None:
            reason = _oiio.first_line(inp.geterror())
            raise InvalidInput(
                f"{p} is damaged: its pixels cannot be decoded ({reason})",
                hint="re-export or re-transfer the file",
                details={"path": str(p), "reason": reason},
            )
        values, types = _oiio.metadata_of(spec)
    finally:
        inp.close()
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if [i - lo for i in idx] != list(range(hi - lo)):
        pixels = pixels[:, :, [i - lo for i in idx]]
    pixels = np.ascontiguousarray(pixels, dtype=DTYPES[pixel_type])
    full = (spec.full_x, spec.full_y, spec.full_x + spec.full_width - 1, spec.full_y + spec.full_height - 1)
    window = (spec.x, spec.y, spec.x + spec.width - 1, spec.y + spec.height - 1)
    return Image(
        pixels=pixels,
        channel_names=wanted,
        metadata=values,
        metadata_types=types,
        origin=(int(spec.x), int(spec.y)),
        display_window=None if full == window else tuple(int(v) for v in full),  # type: ignore[arg-type]
    )


def write_image(
    path: str | os.PathLike[str],
    image: Image,
    *,
    pixel_type: str | None = None,
    tiled: bool = False,
    tile_size: int = 64,
    compression: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    durable: bool = True,
) -> Path:
    """Write ``image`` to ``path`` atomically; the format follows the extension.

    The image's metadata is written to the header (attributes describing the source file's encoding are
    dropped), extended by ``metadata``: a value of None removes an attribute, and ``rmtc/...`` attributes
    are always written as strings (dicts and lists as JSON), the form every reader of rmtc provenance
    expects. Pixel values are written as they are: no colour transform is applied (see
    :mod:`rmtc.vfx.colour`), and alpha is neither premultiplied nor divided out (a PNG is written with
    the values given; a TIFF keeps the association the source file declared).

    Args:
        path: target file; its directory must exist. ``.exr``, ``.tif``/``.tiff``, ``.png``,
            ``.jpg``/``.jpeg``, ``.dpx``.
        image: the frame (an NCHW image with one frame is converted).
        pixel_type: ``"half"``, ``"float"``, ``"uint8"`` or ``"uint16"``, as the format allows. None: half
            for EXR; otherwise the image's own type when the format stores it, else the format's
            deepest (float for TIFF, uint16 for PNG and DPX, uint8 for JPEG). Floats become integers by
            scaling [0, 1] to the code range.
        tiled: write tiles of ``tile_size`` pixels (EXR and TIFF) instead of scanlines.
        compression: the format's compression name (EXR: zip, piz, dwaa ...; TIFF: zip, lzw, none);
            None uses OpenImageIO's default (zip for EXR).
        metadata: header attributes to add or override.
        durable: fsync the file and its directory before returning (turn off only for scratch files).

    Returns:
        The path written.

    Raises:
        InvalidInput: unknown extension, a pixel type or channel count the format cannot store, tiles
            for a format without them, a bad compression name or metadata value, a missing directory.
        RmtcError: OpenImageIO failed to write (disk full, permissions); nothing is left behind.
    """
    p = Path(path)
    fmt = FORMAT_BY_EXTENSION.get(p.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"cannot write {p}: unsupported image format {p.suffix or '(no extension)'!r}",
            hint=f"use one of {', '.join(sorted(FORMAT_BY_EXTENSION))}",
        )
    if not p.parent.is_dir():
        raise InvalidInput(f"cannot write {p}: directory {p.parent} does not exist", hint="create it first")
    hwc = to_hwc(image)
    ptype = _choose_pixel_type(fmt, hwc, pixel_type, p)
    spec = _make_spec(fmt, hwc, ptype, tiled, tile_size, compression, p)
    _apply_metadata(spec, fmt, hwc, metadata or {}, p)
    pixels = hwc.pixels
    if DTYPES[ptype].kind == "u" and pixels.dtype != DTYPES[ptype]:
        pixels = convert_pixels(pixels, ptype)  # rounded and clipped here, not left to the writer
    _atomic_write(p, spec, np.ascontiguousarray(pixels), durable)
    return p


def _choose_pixel_type(fmt: str, image: Image, requested: str | None, path: Path) -> str:
    allowed = WRITE_FORMATS[fmt][1]
    if requested is not None:
        if requested not in allowed:
            raise InvalidInput(
                f"cannot write {path}: {fmt} does not store {requested!r} pixels",
                hint=f"use pixel_type {' or '.join(map(repr, allowed))}, or another format",
            )
        return requested
    if fmt == "openexr":
        return "float" if image.pixel_type == "float" else "half"
    return image.pixel_type if image.pixel_type in allowed else allowed[-1]


def _make_spec(
    fmt: str, image: Image, ptype: str, tiled: bool, tile_size: int, compression: str | None, path: Path
) -> oiio.ImageSpec:
    spec = oiio.ImageSpec(image.width, image.height, image.nchannels, ptype)
    spec.channelnames = image.channel_names
    if fmt == "png" or image.metadata.get("oiio:UnassociatedAlpha"):
        # The values are stored as given (PNG alpha is always unassociated); OpenImageIO would otherwise
        # divide colour by alpha on the way out.
        spec.attribute("oiio:UnassociatedAlpha", 1)
    spec.x, spec.y = image.origin
    if image.display_window is not None:
        x0, y0, x1, y1 = image.display_window
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = x0, y0, x1 - x0 + 1, y1 - y0 + 1
    else:
        spec.full_x, spec.full_y = image.origin
        spec.full_width, spec.full_height = image.width, image.height
    if tiled:
        if fmt not in _oiio.TILED_FORMATS:
            raise InvalidInput(
                f"cannot write {path} tiled: {fmt} has no tiles", hint="use EXR or TIFF, or tiled=False"
            )
        if tile_size < 1 or (fmt == "tiff" and tile_size % 16):
            raise InvalidInput(
                f"tile size {tile_size} is not valid for {fmt}",
                hint="use a positive size (a multiple of 16 for TIFF)",
            )
        spec.tile_width = spec.tile_height = tile_size
        spec.tile_depth = 1
    if compression is not None:
        if fmt == "openexr" and compression.split(":")[0] not in _oiio.EXR_COMPRESSIONS:
            raise InvalidInput(
                f"unknown EXR compression {compression!r}",
                hint=f"use one of {', '.join(sorted(_oiio.EXR_COMPRESSIONS))}",
            )
        spec.attribute("compression", compression)
    return spec


def _carried(name: str, fmt: str) -> bool:
    """Whether a source attribute goes into a new file of format ``fmt``."""
    if name in _ENCODING_KEYS:
        return False
    if name.startswith("oiio:"):
        return name == "oiio:ColorSpace"
    prefix, sep, _ = name.partition(":")
    if sep and prefix in WRITE_FORMATS:
        return prefix == fmt
    return True


def _apply_metadata(
    spec: oiio.ImageSpec, fmt: str, image: Image, extra: Mapping[str, Any], path: Path
) -> None:
    merged: dict[str, Any] = {k: v for k, v in image.metadata.items() if _carried(k, fmt)}
    for key, value in extra.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    for name, value in merged.items():
        if name.startswith(_oiio.RMTC_PREFIX) and not isinstance(value, str):
            value = (
                json.dumps(_oiio.plain(value), sort_keys=True)
                if isinstance(value, dict | list)
                else str(value)
            )
        typename = image.metadata_types.get(name) if name not in extra else None
        try:
            if typename and typename not in ("string", "int", "float"):
                spec.attribute(name, oiio.TypeDesc(typename), value)
            elif isinstance(value, bool):
                spec.attribute(name, int(value))
            elif isinstance(value, str | int | float):
                spec.attribute(name, value)
            else:
                raise TypeError(type(value).__name__)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InvalidInput(
                f"cannot write header attribute {name!r} = {value!r} to {path}: {exc}",
                hint="use str, int or float values (rmtc/ attributes are written as strings)",
            ) from exc


def _atomic_write(path: Path, spec: oiio.ImageSpec, pixels: np.ndarray, durable: bool) -> None:
    tmp = path.with_name(f".{path.stem}.tmp-{uuid.uuid4().hex[:12]}{path.suffix}")
    try:
        out = oiio.ImageOutput.create(os.fspath(tmp))
        if out is None:
            raise RmtcError(f"cannot write {path}: {_oiio.first_line(oiio.geterror())}")
        if not out.open(os.fspath(tmp), spec):
            reason = _oiio.first_line(out.geterror() or oiio.geterror())
            raise InvalidInput(
                f"cannot write {path}: {reason}",
                hint="check that the format takes this many channels and that the directory is writable",
            )
        ok = out.write_image(pixels)
        err = out.geterror() if not ok else ""
        closed = out.close()
        if not ok or not closed:
            raise RmtcError(
                f"cannot write {path}: {_oiio.first_line(err or out.geterror())}",
                hint=f"check free space and permissions in {path.parent}",
            )
        if durable:
            _fsync(tmp)
        tmp.replace(path)
        if durable:
            _fsync(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
