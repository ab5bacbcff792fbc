"""Synthetic paired frames made with NumPy alone, the same on every machine for a given seed."""

from __future__ import annotations

import numpy as np


def matte_frames(count: int, height: int = 96, width: int = 96, seed: int = 0) -> tuple[list, list]:
    """Shapes of flat saturated colours over a grey sinusoid texture -> their alpha (one channel)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    inputs, targets = [], []
    for _ in range(count):
        image = np.full((height, width, 3), 0.25, np.float32)
        for _k in range(3):
            fy, fx, phase = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(0, 6.3)
            image += 0.07 * np.sin(fy * yy + fx * xx + phase)[..., None]
        image += rng.normal(0, 0.02, (height, width, 3)).astype(np.float32)
        alpha = np.zeros((height, width), np.float32)
        for _k in range(rng.integers(3, 6)):
            cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(8, 20)
            if rng.random() < 0.5:
                mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r).astype(np.float32)
            else:
                mask = ((abs(yy - cy) < r) & (abs(xx - cx) < r * rng.uniform(0.5, 1))).astype(np.float32)
            colour = rng.uniform(0.6, 1.0, 3).astype(np.float32)
            colour[rng.integers(3)] *= 0.5
            image = mask[..., None] * colour + (1 - mask[..., None]) * image
            alpha = np.maximum(alpha, mask)
        inputs.append(image.astype(np.float32))
        targets.append(alpha[..., None])
    return inputs, targets


def hdr_pairs(
    count: int, height: int = 40, width: int = 48, channels: int = 3, seed: int = 0
) -> tuple[list, list]:
    """Linear HDR plates with super-whites and slight negatives -> a darkened copy (a grade)."""
    rng = np.random.default_rng(seed)
    inputs, targets = [], []
    for _ in range(count):
        plate = rng.gamma(0.7, 0.4, (height, width, channels)).astype(np.float32)
        plate[rng.random((height, width)) < 0.02] *= 40.0
        plate -= 0.01
        inputs.append(plate)
        targets.append((plate * 0.5).astype(np.float32))
    return inputs, targets
