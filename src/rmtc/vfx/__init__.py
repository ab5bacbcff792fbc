"""Images for rmtc (the ``vfx`` extra): frames in and out through OpenImageIO, media probing in
sandboxed workers, OpenColorIO conversions and synthetic footage.

::

    image      Image (pixels + layout + channel names + metadata), NCHW <-> HWC, NaN/Inf checks (numpy only)
    imageio    read_image / write_image: EXR, TIFF, PNG, JPEG, DPX; metadata kept; atomic writes
    media      probe (one header, in process) / probe_many (many files, worker processes with limits)
    colour     OpenColorIO conversions between the colour spaces of a config
    synthetic  seeded plates, matte and denoise footage for demos, tests and benchmarks

Names are loaded on first use, so ``import rmtc.vfx`` costs nothing and a module that needs only
:class:`Image` never loads OpenImageIO or OpenColorIO. Nothing here imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rmtc.vfx._oiio import Limits
    from rmtc.vfx.colour import colour_spaces, convert_colour
    from rmtc.vfx.image import Image, NonFinite, find_nonfinite, replace_nonfinite, to_hwc, to_nchw
    from rmtc.vfx.imageio import read_image, write_image
    from rmtc.vfx.media import ProbePool, probe, probe_many

_WHERE = {
    "Image": "image",
    "NonFinite": "image",
    "find_nonfinite": "image",
    "replace_nonfinite": "image",
    "to_hwc": "image",
    "to_nchw": "image",
    "read_image": "imageio",
    "write_image": "imageio",
    "Limits": "_oiio",
    "probe": "media",
    "probe_many": "media",
    "ProbePool": "media",
    "colour_spaces": "colour",
    "convert_colour": "colour",
}

__all__ = [
    "Image",
    "Limits",
    "NonFinite",
    "ProbePool",
    "colour_spaces",
    "convert_colour",
    "find_nonfinite",
    "probe",
    "probe_many",
    "read_image",
    "replace_nonfinite",
    "to_hwc",
    "to_nchw",
    "write_image",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rmtc.vfx' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rmtc.vfx.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
