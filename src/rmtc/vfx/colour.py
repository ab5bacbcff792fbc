"""Colour conversions through OpenColorIO, between the colour spaces of a config.

The default config is OpenColorIO's built-in ``ocio://default`` (the ACES CG config shipped inside the
library since OCIO 2.2; ``cg-config-v5.0.0_aces-v2.1_ocio-v2.6`` with OCIO 2.6), so conversions work
offline with no config file. ``ocio://studio-config-latest`` (57 spaces, camera log encodings included)
or a path to a facility's ``config.ocio`` work the same way. Colour space names may be canonical names,
aliases (``lin_ap1_scene``, the interop IDs OpenImageIO writes into EXR headers) or roles
(``scene_linear``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import numpy as np
import PyOpenColorIO as ocio  # noqa: N813 - the name every OpenColorIO user knows

from rmtc.errors import InvalidInput
from rmtc.vfx.image import Image, convert_pixels

DEFAULT_CONFIG = "ocio://default"
COLOURSPACE_KEY = "oiio:ColorSpace"


@functools.lru_cache(maxsize=16)
def _config(source: str) -> ocio.Config:
    try:
        return ocio.Config.CreateFromFile(source)
    except (ocio.Exception, ocio.ExceptionMissingFile) as exc:
        builtin = [name for name, *_ in ocio.BuiltinConfigRegistry().getBuiltinConfigs()]
        raise InvalidInput(
            f"cannot load OpenColorIO config {source!r}: {exc}",
            hint=f"use {DEFAULT_CONFIG}, ocio://cg-config-latest, ocio://studio-config-latest, "
            f"ocio://<built-in name> ({', '.join(builtin[-2:])} ...) or a path to a config.ocio",
        ) from exc


def load_config(config: str | os.PathLike[str] | None = None) -> ocio.Config:
    """The OpenColorIO config at ``config`` (a path or an ``ocio://`` URI; default the built-in one).

    Raises:
        InvalidInput: the config cannot be loaded.
    """
    return _config(os.fspath(config) if config is not None else DEFAULT_CONFIG)


def colour_spaces(config: str | os.PathLike[str] | None = None) -> list[str]:
    """Canonical names of the config's colour spaces, in the config's order."""
    return [cs.getName() for cs in load_config(config).getColorSpaces()]


def resolve_colour_space(name: str, config: str | os.PathLike[str] | None = None) -> str:
    """The canonical name of ``name`` (a name, alias or role) in the config.

    Raises:
        InvalidInput: the config has no such colour space; the message lists valid ones.
    """
    cfg = load_config(config)
    cs = cfg.getColorSpace(name) if name else None
    if cs is None:
        names = colour_spaces(config)
        shown = ", ".join(names[:12]) + (f" ... ({len(names)} in all)" if len(names) > 12 else "")
        raise InvalidInput(
            f"unknown colour space {name!r} in OpenColorIO config {cfg.getName()!r}",
            hint=f"use one of: {shown}; aliases and roles such as 'scene_linear' work too",
        )
    canonical: str = cs.getName()
    return canonical


@functools.lru_cache(maxsize=64)
def _processor(source: str, src: str, dst: str) -> ocio.CPUProcessor:
    return _config(source).getProcessor(src, dst).getDefaultCPUProcessor()


def convert_colour(
    image: Image,
    dst: str,
    *,
    src: str | None = None,
    config: str | os.PathLike[str] | None = None,
    channels: Sequence[str] = ("R", "G", "B"),
) -> Image:
    """The image with its colour channels converted from ``src`` to ``dst``.

    Only ``channels`` (three of them, red, green, blue) are transformed; alpha, depth and other channels
    are kept as they are. Values are converted as stored: unpremultiply first when a non-linear
    destination meets premultiplied alpha. Pixels keep their type (integer types are scaled to [0, 1]
    and back). The result's ``oiio:ColorSpace`` metadata names ``dst``, so writing it records the space.

    Args:
        image: HWC or NCHW image.
        dst: destination colour space.
        src: source colour space; None takes the one the image's metadata records.
        config: OpenColorIO config (default :data:`DEFAULT_CONFIG`).
        channels: the names of the red, green and blue channels.

    Raises:
        InvalidInput: an unknown colour space, no recorded source space, or missing colour channels.
    """
    source = os.fspath(config) if config is not None else DEFAULT_CONFIG
    if src is None:
        recorded = image.metadata.get(COLOURSPACE_KEY)
        if not recorded:
            raise InvalidInput(
                "the image records no colour space to convert from",
                hint="pass src= (e.g. src='ACEScg')",
            )
        src = str(recorded)
    src_name = resolve_colour_space(src, source)
    dst_name = resolve_colour_space(dst, source)
    if len(channels) != 3:
        raise InvalidInput(
            f"colour conversion needs three channels, got {list(channels)}", hint="pass R, G, B names"
        )
    idx = [image.channel_index(c) for c in channels]
    axis = 2 if image.layout == "HWC" else 1
    moved = np.moveaxis(image.pixels, axis, -1)
    rgb = convert_pixels(moved[..., idx], "float")
    rgb = np.ascontiguousarray(rgb, dtype=np.float32).reshape(-1, 3)
    _processor(source, src_name, dst_name).applyRGB(rgb)
    out = np.array(moved, copy=True)
    out[..., idx] = convert_pixels(rgb.reshape(*moved.shape[:-1], 3), image.pixel_type)
    pixels = np.ascontiguousarray(np.moveaxis(out, -1, axis))
    return image.replace(pixels=pixels, metadata={**image.metadata, COLOURSPACE_KEY: dst_name})
