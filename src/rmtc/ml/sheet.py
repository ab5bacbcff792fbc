"""Contact sheets: input / prediction / target rows for a look at how training is going.

A sheet is a plain ``H x W x 3`` float32 array in display space (sRGB-encoded, 0-1), so callers can write
it with any image writer; :func:`encode_png` makes an 8-bit PNG with the standard library alone, which
is what the trainer writes beside each checkpoint unless given another writer.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np

from rmtc.errors import InvalidInput

GUTTER = 2


def to_display(chw: np.ndarray) -> np.ndarray:
    """One ``C x H x W`` linear image as ``H x W x 3`` sRGB-encoded values in [0, 1].

    One channel shows as grey, two as red and green, three or more as their first three.
    """
    c = chw.shape[0]
    if c == 1:
        rgb = np.repeat(chw, 3, axis=0)
    elif c == 2:
        rgb = np.concatenate([chw, np.zeros_like(chw[:1])], axis=0)
    else:
        rgb = chw[:3]
    x = np.clip(np.nan_to_num(rgb.astype(np.float32), nan=0.0), 0.0, 1.0)
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.ascontiguousarray(srgb.transpose(1, 2, 0), dtype=np.float32)


def _upscale(hwc: np.ndarray, height: int, width: int) -> np.ndarray:
    fy, fx = max(1, height // hwc.shape[0]), max(1, width // hwc.shape[1])
    return np.repeat(np.repeat(hwc, fy, axis=0), fx, axis=1)[:height, :width]


def contact_sheet(
    inputs: Sequence[np.ndarray], predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray]
) -> np.ndarray:
    """A sheet with one column per sample and rows input, prediction, target.

    Args:
        inputs, predictions, targets: ``C x H x W`` linear arrays, one of each per sample; inputs may be
            smaller than targets (an upres task) and are enlarged by pixel repetition.

    Returns:
        ``H x W x 3`` float32 in [0, 1], with a mid-grey gutter between cells.
    """
    if not (len(inputs) == len(predictions) == len(targets)) or not inputs:
        raise InvalidInput(
            f"a contact sheet needs as many inputs, predictions and targets (got {len(inputs)}, "
            f"{len(predictions)}, {len(targets)})",
            hint="pass one of each per sample",
        )
    columns = []
    for inp, pred, tgt in zip(inputs, predictions, targets, strict=True):
        h, w = tgt.shape[1], tgt.shape[2]
        cells = [_upscale(to_display(inp), h, w), to_display(pred)[:h, :w], to_display(tgt)]
        columns.append(cells)
    cell_h = max(c[2].shape[0] for c in columns)
    cell_w = max(c[2].shape[1] for c in columns)
    sheet = np.full(
        (3 * cell_h + 4 * GUTTER, len(columns) * cell_w + (len(columns) + 1) * GUTTER, 3),
        0.5,
        dtype=np.float32,
    )
    for j, cells in enumerate(columns):
        x0 = GUTTER + j * (cell_w + GUTTER)
        for i, cell in enumerate(cells):
            y0 = GUTTER + i * (cell_h + GUTTER)
            sheet[y0 : y0 + cell.shape[0], x0 : x0 + cell.shape[1]] = cell
    return sheet


def encode_png(image: np.ndarray) -> bytes:
    """An 8-bit PNG of an ``H x W x 3`` (or ``x 1``, ``x 4``) float image in [0, 1] or a uint8 image."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise InvalidInput(f"cannot encode an image of shape {a.shape} as PNG", hint="pass H x W x 1, 3 or 4")
    if a.dtype != np.uint8:
        a = (np.clip(np.nan_to_num(a.astype(np.float32)), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    h, w, c = a.shape
    colour = {1: 0, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
