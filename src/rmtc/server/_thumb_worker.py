"""The thumbnail worker: one short-lived process that decodes one untrusted image into a small PNG.

Started by :class:`rmtc.server.thumbnails.Thumbnailer`, never imported by the server itself. It reads
one JSON request from stdin (``source``, ``target``, ``size``, ``memory_limit``, ``cpu_limit``,
``limits``), runs under the same resource limits as the media probe worker (address space, CPU time,
no core file) with the header's claimed size checked before any pixel is allocated, writes the PNG to
``target`` and exits 0. Any refusal or decoder error exits 2 with the reason as the last stderr line;
a crash or a limit shows as a signal, which the parent turns into a reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio  # noqa: N813 - the name every OpenImageIO user knows

from rmtc.vfx import _oiio
from rmtc.vfx._oiio import Limits
from rmtc.vfx._probe_worker import OUT_OF_MEMORY, _arm_cpu_limit, _limit_resources

_FLOAT_TYPES = ("half", "float", "double")


class Refused(Exception):
    """The image cannot be shown; the message says why."""


def _channels(spec: oiio.ImageSpec) -> list[int]:
    """Indices of the channels to show: R, G, B by name when present, else the first one or three."""
    names = [str(n).split(".")[-1].upper() for n in spec.channelnames]
    if all(c in names for c in "RGB"):
        return [names.index(c) for c in "RGB"]
    return [0, 1, 2] if spec.nchannels >= 3 else [0]


def _downsample(pixels: np.ndarray, size: int) -> np.ndarray:
    """Box-filter to at most ``size`` pixels on the long side (an integer factor, no aliasing)."""
    h, w = pixels.shape[:2]
    factor = max(1, -(-max(h, w) // size))
    if factor == 1:
        return pixels
    h2, w2 = max(1, h // factor), max(1, w // factor)
    crop = pixels[: h2 * factor, : w2 * factor]
    small: np.ndarray = crop.reshape(h2, factor, w2, factor, -1).mean(axis=(1, 3))
    return small


def _display(pixels: np.ndarray, linear: bool) -> np.ndarray:
    """8-bit display values: scene-linear floats get the sRGB transfer; stored integers are kept."""
    values = np.nan_to_num(pixels.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0).clip(0.0, 1.0)
    if linear:
        values = np.where(values <= 0.0031308, values * 12.92, 1.055 * np.power(values, 1 / 2.4) - 0.055)
    return (values * 255.0 + 0.5).astype(np.uint8)


def make_thumbnail(source: Path, target: Path, size: int, limits: Limits) -> dict[str, Any]:
    """Decode ``source`` and write a PNG of at most ``size`` pixels on its long side to ``target``."""
    inp = _oiio.try_open(source)
    if inp is None:
        raise Refused(f"not a readable image: {_oiio.first_line(oiio.geterror())}")
    try:
        spec = inp.spec()
        problem = _oiio.limit_violation(spec, limits)
        if problem:
            raise Refused(problem)
        if spec.deep:
            raise Refused("deep images have no flat picture to show")
        chans = _channels(spec)
        pixels = inp.read_image(0, 0, 0, max(chans) + 1, "float")
        if pixels is None:
            raise Refused(f"the pixels cannot be decoded: {_oiio.first_line(inp.geterror())}")
        linear = str(spec.format) in _FLOAT_TYPES
    finally:
        inp.close()
    arr = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, -1)[:, :, chans]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    small = _display(_downsample(arr, size), linear)
    out_spec = oiio.ImageSpec(small.shape[1], small.shape[0], 3, "uint8")
    out = oiio.ImageOutput.create(str(target))
    if out is None or not out.open(str(target), out_spec):
        raise Refused(f"cannot write the thumbnail: {_oiio.first_line(oiio.geterror())}")
    try:
        if not out.write_image(np.ascontiguousarray(small)):
            raise Refused(f"cannot write the thumbnail: {_oiio.first_line(out.geterror())}")
    finally:
        out.close()
    return {"width": int(small.shape[1]), "height": int(small.shape[0])}


def main() -> None:
    request = json.loads(sys.stdin.readline() or "{}")
    limits = Limits(**request.get("limits", {}))
    oiio.attribute("threads", 1)
    oiio.attribute("exr_threads", -1)
    limits.apply_to_openimageio()
    _limit_resources(request.get("memory_limit"))
    _arm_cpu_limit(request.get("cpu_limit"))
    try:
        info = make_thumbnail(Path(request["source"]), Path(request["target"]), int(request["size"]), limits)
    except Refused as exc:
        sys.stderr.write(f"{exc}\n")
        sys.exit(2)
    except MemoryError:
        sys.stderr.write(f"{OUT_OF_MEMORY}\n")
        sys.exit(2)
    sys.stdout.write(json.dumps(info) + "\n")


if __name__ == "__main__":
    main()
