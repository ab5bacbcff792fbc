"""The in-memory image: pixels that carry their layout, channel names and header metadata.

Image I/O hands out ``H x W x C`` arrays; torch wants ``N x C x H x W`` float32. Confusing the two is
silent and ruinous (a 3-channel frame read as 3 rows), so an :class:`Image` states its layout and every
conversion goes through :func:`to_nchw` / :func:`to_hwc`, which check it instead of guessing from
shapes. This module needs only numpy: training and inference code can use it without OpenImageIO, and
nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rmtc.errors import InvalidInput

Layout = Literal["HWC", "NCHW"]
LAYOUTS: tuple[Layout, ...] = ("HWC", "NCHW")

#: Pixel type names (OpenImageIO's spelling) and the numpy dtype that holds each in memory.
DTYPES: dict[str, np.dtype[Any]] = {
    "half": np.dtype(np.float16),
    "float": np.dtype(np.float32),
    "uint8": np.dtype(np.uint8),
    "uint16": np.dtype(np.uint16),
}
PIXEL_TYPES: dict[np.dtype[Any], str] = {dt: name for name, dt in DTYPES.items()}


def pixel_type_of(dtype: np.dtype[Any]) -> str:
    """The pixel type name of a numpy dtype; refuses dtypes no image format here stores."""
    name = PIXEL_TYPES.get(np.dtype(dtype))
    if name is None:
        raise InvalidInput(
            f"pixels of dtype {np.dtype(dtype)} cannot be an image",
            hint=f"convert the array to one of {', '.join(str(d) for d in DTYPES.values())}",
        )
    return name


@dataclass(frozen=True, eq=False)
class Image:
    """Pixels with their layout, channel names and header metadata.

    Attributes:
        pixels: ``H x W x C`` (layout ``"HWC"``, what files give) or ``N x C x H x W`` (``"NCHW"``, what
            torch takes) array of float16, float32, uint8 or uint16.
        channel_names: one name per channel, in the order of the channel axis (``("R", "G", "B")``).
        layout: how ``pixels`` is laid out; never inferred from the shape.
        metadata: header attributes by name (``"rmtc/model_version"``, ``"oiio:ColorSpace"`` ...).
        metadata_types: OpenImageIO type names of attributes read from a file (``"float2"``,
            ``"matrix"``), so that a read -> write round trip keeps their types; values added by hand
            need none (str, int and float are inferred).
        origin: ``(x, y)`` of the data window's top-left pixel (non-zero for overscan or crops).
        display_window: ``(x_min, y_min, x_max, y_max)``, inclusive as in EXR; None means the data window.
        pixel_type: ``"half"``, ``"float"``, ``"uint8"`` or ``"uint16"``: the type of ``pixels``. Derived
            from the dtype when left empty; given explicitly it must agree with it.

    Raises:
        InvalidInput: the shape does not fit the layout, the channel count differs from the names, or the
            dtype is not an image pixel type.
    """

    pixels: np.ndarray
    channel_names: tuple[str, ...]
    layout: Layout = "HWC"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    metadata_types: Mapping[str, str] = field(default_factory=dict)
    origin: tuple[int, int] = (0, 0)
    display_window: tuple[int, int, int, int] | None = None
    pixel_type: str = ""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise InvalidInput(
                f"unknown image layout {self.layout!r}", hint=f"use one of {', '.join(LAYOUTS)}"
            )
        names = tuple(self.channel_names)
        object.__setattr__(self, "channel_names", names)
        want_ndim = 3 if self.layout == "HWC" else 4
        if self.pixels.ndim != want_ndim:
            raise InvalidInput(
                f"a {self.layout} image needs a {want_ndim}-D pixel array, got shape {self.pixels.shape}",
                hint="add the missing axes (a single-channel HWC frame is H x W x 1)",
            )
        count = self.pixels.shape[2] if self.layout == "HWC" else self.pixels.shape[1]
        if count != len(names) or not names:
            raise InvalidInput(
                f"the pixels have {count} channel(s) but {len(names)} channel name(s) were given: {names}",
                hint="give one name per channel",
            )
        if len(set(names)) != len(names):
            raise InvalidInput(f"duplicate channel names in {names}", hint="give each channel its own name")
        actual = pixel_type_of(self.pixels.dtype)
        if self.pixel_type and self.pixel_type != actual:
            raise InvalidInput(
                f"pixel_type {self.pixel_type!r} disagrees with the pixels' dtype {self.pixels.dtype}",
                hint="leave pixel_type empty to derive it from the array",
            )
        object.__setattr__(self, "pixel_type", actual)
        object.__setattr__(self, "metadata", dict(self.metadata))
        object.__setattr__(self, "metadata_types", dict(self.metadata_types))

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1] if self.layout == "HWC" else self.pixels.shape[3])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0] if self.layout == "HWC" else self.pixels.shape[2])

    @property
    def nchannels(self) -> int:
        return len(self.channel_names)

    def channel_index(self, name: str) -> int:
        """Position of channel ``name``; InvalidInput naming the channels there are if it is absent."""
        try:
            return self.channel_names.index(name)
        except ValueError:
            raise InvalidInput(
                f"the image has no channel {name!r}; it has {', '.join(self.channel_names)}",
                hint="pick one of the channels listed",
            ) from None

    def select(self, channels: Sequence[str]) -> Image:
        """A new image with only ``channels``, in the order given."""
        idx = [self.channel_index(c) for c in channels]
        axis = 2 if self.layout == "HWC" else 1
        return self.replace(pixels=np.take(self.pixels, idx, axis=axis), channel_names=tuple(channels))

    def replace(self, **changes: Any) -> Image:
        """A copy with some fields changed (``pixel_type`` follows the new pixels unless given)."""
        if "pixels" in changes and "pixel_type" not in changes:
            changes["pixel_type"] = ""
        return dataclasses.replace(self, **changes)

    def with_metadata(self, extra: Mapping[str, Any]) -> Image:
        """A copy whose metadata is extended (or overridden) by ``extra``."""
        return self.replace(metadata={**self.metadata, **extra})


def to_nchw(image: Image) -> Image:
    """The ``1 x C x H x W`` float32 image torch and Nuke's Inference node take (contiguous).

    Integer pixels are scaled to [0, 1] (uint8 / 255, uint16 / 65535), the usual meaning of stored code
    values; float pixels are kept as they are, super-whites and negatives included.
    """
    if image.layout == "NCHW":
        return image.replace(pixels=np.ascontiguousarray(image.pixels, dtype=np.float32))
    px = image.pixels
    if px.dtype.kind == "u":
        data = px.astype(np.float32) / float(np.iinfo(px.dtype).max)
    else:
        data = px.astype(np.float32, copy=False)
    nchw = np.ascontiguousarray(data.transpose(2, 0, 1)[None])
    return image.replace(pixels=nchw, layout="NCHW")


def to_hwc(image: Image, pixel_type: str | None = None) -> Image:
    """The ``H x W x C`` image files are written from, from a single-frame NCHW image.

    Args:
        image: an NCHW image with N = 1 (or an HWC one, returned converted to ``pixel_type`` only).
        pixel_type: convert the pixels to this type (``"half"`` for EXR plates); integer types are scaled
            from [0, 1] and clipped. None keeps the current type.

    Raises:
        InvalidInput: the batch holds more than one frame, or the pixel type is unknown.
    """
    px = image.pixels
    if image.layout == "NCHW":
        if px.shape[0] != 1:
            raise InvalidInput(
                f"an NCHW batch of {px.shape[0]} frames cannot become one HWC image",
                hint="split the batch and convert each frame (pixels[i:i + 1])",
            )
        px = px[0].transpose(1, 2, 0)
    if pixel_type is not None:
        px = convert_pixels(px, pixel_type)
    return image.replace(pixels=np.ascontiguousarray(px), layout="HWC")


def convert_pixels(pixels: np.ndarray, pixel_type: str) -> np.ndarray:
    """Pixels as ``pixel_type``; float -> integer maps [0, 1] to the full code range, rounded and clipped."""
    if pixel_type not in DTYPES:
        raise InvalidInput(f"unknown pixel type {pixel_type!r}", hint=f"use one of {', '.join(DTYPES)}")
    dtype = DTYPES[pixel_type]
    if pixels.dtype == dtype:
        return pixels
    src = pixels.astype(np.float32)
    if pixels.dtype.kind == "u":
        src = src / float(np.iinfo(pixels.dtype).max)
    if dtype.kind == "u":
        top = float(np.iinfo(dtype).max)
        ints: np.ndarray = np.clip(np.rint(np.nan_to_num(src) * top), 0, top).astype(dtype)
        return ints
    return src.astype(dtype)


@dataclass(frozen=True)
class NonFinite:
    """NaN and infinite pixel values found in an image.

    ``first`` is ``(x, y, channel name)`` of the first one in row-major order (for NCHW batches,
    ``first_index`` also gives the frame); both are None when every value is finite.
    """

    nan: int
    posinf: int
    neginf: int
    first: tuple[int, int, str] | None
    first_index: tuple[int, ...] | None

    @property
    def count(self) -> int:
        return self.nan + self.posinf + self.neginf

    def __bool__(self) -> bool:
        return self.count > 0

    def describe(self) -> str:
        if not self:
            return "all pixel values are finite"
        assert self.first is not None
        x, y, ch = self.first
        return (
            f"{self.nan} NaN and {self.posinf + self.neginf} infinite pixel value(s), "
            f"the first at x={x}, y={y}, channel {ch}"
        )


def find_nonfinite(image: Image) -> NonFinite:
    """Count NaN and +/-infinite values and locate the first, so callers can refuse or repair the frame."""
    px = image.pixels
    if px.dtype.kind != "f":
        return NonFinite(0, 0, 0, None, None)
    finite = np.isfinite(px)
    if finite.all():
        return NonFinite(0, 0, 0, None, None)
    nan = int(np.count_nonzero(np.isnan(px)))
    posinf = int(np.count_nonzero(np.isposinf(px)))
    neginf = int(px.size - np.count_nonzero(finite)) - nan - posinf
    index = tuple(int(v) for v in np.unravel_index(int(np.argmin(finite)), px.shape))
    if image.layout == "HWC":
        y, x, c = index
    else:
        _, c, y, x = index
    return NonFinite(nan, posinf, neginf, (x, y, image.channel_names[c]), index)


def replace_nonfinite(
    image: Image, *, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Image:
    """A copy with NaN set to ``nan`` and infinities to ``posinf`` / ``neginf``.

    None for an infinity means the largest (or lowest) finite value of the pixel type, which keeps a
    blown-out highlight bright rather than turning it black.
    """
    if image.pixels.dtype.kind != "f":
        return image
    fixed = np.nan_to_num(image.pixels, nan=nan, posinf=posinf, neginf=neginf)
    return image.replace(pixels=fixed)
