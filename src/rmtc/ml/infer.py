"""Tiled inference over frames of any size, in bounded memory.

A frame is cut into overlapping tiles; each tile runs through the model alone and the results are
blended with feathered weights. The weights are zero in a margin of a quarter of the overlap at each
tile edge that has a neighbour, then ramp linearly to one, so neighbouring ramps sum to exactly one
and no pixel is taken from within a quarter-overlap of a tile's cut edge. For a fully convolutional
model whose receptive field reaches less than a quarter of the overlap, and tiles placed on multiples
of the model's downsampling factor (``align``), the tiled result equals the whole-frame result up to
float rounding; for a deep U-Net the difference is small and shrinks as the overlap grows.

Memory: one tile on the device at a time, plus the output frame and one weight plane on the host. A
half-float frame (as half EXRs read) stays half: each tile is converted on its way to the model, so a
4K plate never exists as a float32 copy. Over a sequence, :func:`infer_sequence` keeps at most three
input frames (one being read, one waiting, one being computed) and two results (one waiting, one being
written) in memory, whatever the sequence's length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from rmtc.errors import InvalidInput
from rmtc.ml.data import as_hwc
from rmtc.ml.device import select_device
from rmtc.ml.pipeline import PipelineStats, run_pipeline

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Tile:
    """A tile's place in the input frame: rows ``y0:y1``, columns ``x0:x1``."""

    y0: int
    y1: int
    x0: int
    x1: int


def _starts(length: int, tile: int, step: int, align: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    last = length - tile
    last -= last % align
    if last + tile < length:  # the end cannot be reached on the alignment grid: overhang instead
        last += align
    if not starts or starts[-1] != last:
        starts.append(last)
    return starts


def plan_tiles(height: int, width: int, tile: int, overlap: int, align: int = 1) -> list[Tile]:
    """Tiles covering a ``height x width`` frame; origins are multiples of ``align``.

    The last tile of a row or column may be shorter (it is cut at the frame edge).

    Raises:
        InvalidInput: a tile not larger than the overlap, or an overlap or tile not a multiple of ``align``.
    """
    if overlap < 0 or tile <= overlap:
        raise InvalidInput(f"tile size {tile} must exceed the overlap {overlap}", hint="use a larger tile")
    if tile % align or overlap % align:
        raise InvalidInput(
            f"tile {tile} and overlap {overlap} must be multiples of {align}, the model's downsampling",
            hint=f"round them to multiples of {align}",
        )
    step = tile - overlap
    return [
        Tile(y, min(y + tile, height), x, min(x + tile, width))
        for y in _starts(height, tile, step, align)
        for x in _starts(width, tile, step, align)
    ]


def _ramp(length: int, before: bool, after: bool, overlap: int) -> np.ndarray:
    """1-D blend weights for a tile side: 0 in the outer quarter-overlap, a linear ramp, then 1."""
    w = np.ones(length, dtype=np.float64)
    margin, ramp = overlap // 4, overlap - 2 * (overlap // 4)
    if ramp <= 0:
        return w
    rise = (np.arange(ramp, dtype=np.float64) + 0.5) / ramp
    edge = np.concatenate([np.zeros(margin), rise])[:length]
    if before:
        w[: edge.size] = np.minimum(w[: edge.size], edge)
    if after:
        w[length - edge.size :] = np.minimum(w[length - edge.size :], edge[::-1])
    return w


def _neighbours(tiles: list[Tile], t: Tile) -> tuple[bool, bool, bool, bool]:
    """Whether another tile overlaps ``t`` from above, below, left, right."""
    up = any(o.y0 < t.y0 < o.y1 for o in tiles if o.x0 < t.x1 and t.x0 < o.x1)
    down = any(o.y0 < t.y1 < o.y1 for o in tiles if o.x0 < t.x1 and t.x0 < o.x1)
    left = any(o.x0 < t.x0 < o.x1 for o in tiles if o.y0 < t.y1 and t.y0 < o.y1)
    right = any(o.x0 < t.x1 < o.x1 for o in tiles if o.y0 < t.y1 and t.y0 < o.y1)
    return up, down, left, right


def model_alignment(model: nn.Module) -> int:
    """The factor tile origins must be multiples of for ``model`` (its ``multiple``, else 1)."""
    for m in model.modules():
        value = getattr(m, "multiple", None)
        if isinstance(value, int) and value > 0:
            return value
    return 1


@torch.no_grad()
def infer_tiled(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    image: np.ndarray,
    *,
    tile: int = 512,
    overlap: int = 64,
    align: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Run an image-to-image model over an ``H x W x C`` frame in overlapping tiles.

    Args:
        model: takes ``1 x C x h x w`` and returns ``1 x C' x sh x sw`` (``s`` a whole scale, found from
            the first tile); already on ``device``.
        image: the frame, ``H x W x C`` floats (float16 and float32 frames are used as they are).
        tile, overlap: tile size and overlap in input pixels; a frame within one tile runs whole.
        align: tile origins are multiples of this (default: the model's downsampling factor).
        device: where tiles run (default: CUDA when present). dtype: the tiles' dtype (e.g. half on GPU).

    Returns:
        The ``sH x sW x C'`` float32 result.

    Raises:
        InvalidInput: a bad frame or tiling, or a model whose output size is not a whole multiple.
    """
    frame = image if _half_or_float(image) else as_hwc(image, "the frame")
    h, w = frame.shape[:2]
    dev = select_device(device)
    if align is None:
        align = model_alignment(model) if isinstance(model, nn.Module) else 1
    tiles = plan_tiles(h, w, tile, overlap, align)
    out: np.ndarray | None = None
    weight: np.ndarray | None = None
    scale = 0
    for t in tiles:
        x = torch.from_numpy(frame[t.y0 : t.y1, t.x0 : t.x1]).permute(2, 0, 1)[None]
        y = model(x.to(dev, dtype, non_blocking=True))
        th, tw = t.y1 - t.y0, t.x1 - t.x0
        if scale == 0:
            scale = int(y.shape[2]) // th
            if y.dim() != 4 or scale < 1 or y.shape[2] != th * scale or y.shape[3] != tw * scale:
                raise InvalidInput(
                    f"the model turned a {tw}x{th} tile into {tuple(y.shape)}, not a whole-number upscale",
                    hint="use a model whose output is the input size times a whole number",
                )
            out = np.zeros((h * scale, w * scale, int(y.shape[1])), dtype=np.float32)
            weight = np.zeros((h * scale, w * scale), dtype=np.float32)
        assert out is not None and weight is not None
        if len(tiles) == 1:
            return np.ascontiguousarray(y[0].float().permute(1, 2, 0).cpu().numpy())
        up, down, left, right = _neighbours(tiles, t)
        wy = _ramp(th * scale, up, down, overlap * scale)
        wx = _ramp(tw * scale, left, right, overlap * scale)
        wt = (wy[:, None] * wx[None, :]).astype(np.float32)
        result = y[0].float().permute(1, 2, 0).cpu().numpy()
        ys, xs = slice(t.y0 * scale, t.y1 * scale), slice(t.x0 * scale, t.x1 * scale)
        out[ys, xs] += result * wt[:, :, None]
        weight[ys, xs] += wt
    assert out is not None and weight is not None
    return np.ascontiguousarray(out / np.maximum(weight, 1e-12)[:, :, None], dtype=np.float32)


def _half_or_float(image: np.ndarray) -> bool:
    """Whether a frame can be tiled as it is: a C-contiguous ``H x W x C`` float16 or float32 array."""
    return (
        isinstance(image, np.ndarray)
        and image.ndim == 3
        and min(image.shape) >= 1
        and image.dtype in (np.float16, np.float32)
        and image.flags.c_contiguous
    )


def infer_sequence(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    items: Iterable[K],
    read: Callable[[K], np.ndarray],
    write: Callable[[K, np.ndarray], None],
    *,
    tile: int = 512,
    overlap: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    depth: int = 1,
    on_done: Callable[[K], None] | None = None,
) -> PipelineStats:
    """Tiled inference over many frames with reading, compute and writing overlapping.

    ``read(item)`` returns an ``H x W x C`` frame (keep half-float frames half: see the module
    docstring); ``write(item, result)`` stores the result (both run on their own threads, see
    :func:`rmtc.ml.pipeline.run_pipeline`). The model runs on ``device``. ``depth`` frames wait at each
    hand-over: one is enough to keep the model busy when it is the slowest stage (the reader then holds
    the next frame ready), and every extra one costs a frame of memory.
    """
    dev = select_device(device)
    if isinstance(model, nn.Module):
        model = model.to(dev, dtype).eval()
    net = model

    def compute(frame: np.ndarray) -> np.ndarray:
        return infer_tiled(net, frame, tile=tile, overlap=overlap, device=dev, dtype=dtype)

    return run_pipeline(items, read, compute, write, depth=depth, on_done=on_done)


class TiledInferer:
    """The ``tiled`` inferer (``rmtc.inferers``): :func:`infer_tiled` and :func:`infer_sequence`."""

    name = "tiled"

    def infer(self, model: nn.Module, image: np.ndarray, **options: Any) -> np.ndarray:
        return infer_tiled(model, image, **options)

    def infer_sequence(
        self,
        model: nn.Module,
        items: Iterable[Any],
        read: Callable[[Any], np.ndarray],
        write: Callable[[Any, np.ndarray], None],
        **options: Any,
    ) -> PipelineStats:
        return infer_sequence(model, items, read, write, **options)
