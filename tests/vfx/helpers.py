"""Seeded test pixels and channel-name shorthands shared by the image tests."""

from __future__ import annotations

import numpy as np

RGB = ("R", "G", "B")
RGBA = ("R", "G", "B", "A")


def pixels(shape: tuple[int, ...], dtype: str = "float16", seed: int = 0, hdr: bool = True) -> np.ndarray:
    """Seeded test pixels: floats in [0, 4) (super-whites included) or the full integer range."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "u":
        return rng.integers(0, np.iinfo(dt).max, size=shape, endpoint=True).astype(dt)
    return (rng.random(shape) * (4.0 if hdr else 1.0)).astype(dt)
