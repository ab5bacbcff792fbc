"""Vectorised drawing for the synthetic footage: noise textures, backgrounds, soft-edged shapes, figures.

Everything is float32 numpy over whole arrays (or a shape's bounding box), so a 4K frame takes a
fraction of a second. Edges are anti-aliased over about one pixel, so alphas are true coverages in
[0, 1], as a matte network should learn them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

F32 = np.float32


def stable_int(text: str) -> int:
    """A 64-bit integer from ``text`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, dtype=F32)


def _smooth(t: np.ndarray) -> np.ndarray:
    out: np.ndarray = t * t * (3.0 - 2.0 * t)
    return out


def value_noise(rng: np.random.Generator, h: int, w: int, cells: int, channels: int = 1) -> np.ndarray:
    """Smooth noise in [0, 1] of shape ``h x w x channels``, ``cells`` lattice cells across the width.

    Interpolated separably (rows of the lattice first, then down the image), so the cost is two gathers
    of the output's size.
    """
    cx = max(1, cells)
    cy = max(1, round(cells * h / max(w, 1)))
    lattice = rng.random((cy + 2, cx + 2, channels), dtype=F32)
    xs = np.linspace(0.0, cx, w, dtype=F32)
    x0 = np.minimum(xs.astype(np.int32), cx)
    fx = _smooth(xs - x0)[None, :, None]
    rows = lattice[:, x0] * (1 - fx) + lattice[:, x0 + 1] * fx
    ys = np.linspace(0.0, cy, h, dtype=F32)
    y0 = np.minimum(ys.astype(np.int32), cy)
    fy = _smooth(ys - y0)[:, None, None]
    out: np.ndarray = rows[y0] * (1 - fy) + rows[y0 + 1] * fy
    return out


def fbm(rng: np.random.Generator, h: int, w: int, cells: int, octaves: int, channels: int = 1) -> np.ndarray:
    """Fractal noise (octaves of :func:`value_noise`), roughly in [0, 1].

    The octaves are summed at a reduced resolution that still gives the finest octave four pixels a cell,
    then enlarged once: a 4K texture costs little more than one full-size interpolation.
    """
    finest = cells * 2 ** (octaves - 1)
    scale = max(1, w // max(1, finest * 4))
    lh, lw = max(2, -(-h // scale)), max(2, -(-w // scale))
    total = np.zeros((lh, lw, channels), dtype=F32)
    amp, norm = 1.0, 0.0
    for k in range(octaves):
        total += F32(amp) * value_noise(rng, lh, lw, cells * (2**k), channels)
        norm += amp
        amp *= 0.5
    total /= F32(norm)
    return total if scale == 1 else resize(total, h, w)


def resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize of an ``h' x w' x c`` array, separably (columns first, then rows)."""
    ih, iw = img.shape[:2]
    xs = np.linspace(0.0, iw - 1, w, dtype=F32)
    x0 = np.minimum(xs.astype(np.int32), iw - 2)
    fx = (xs - x0)[None, :, None]
    cols = img[:, x0] * (1 - fx) + img[:, x0 + 1] * fx
    ys = np.linspace(0.0, ih - 1, h, dtype=F32)
    y0 = np.minimum(ys.astype(np.int32), ih - 2)
    fy = (ys - y0)[:, None, None]
    out: np.ndarray = cols[y0] * (1 - fy) + cols[y0 + 1] * fy
    return out


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured linear-light backdrop with HDR highlights (values well above 1.0).

    A graded sky over a ground plane, both with fractal colour texture, a tiled wall band, and a few bright
    lights as Gaussian blobs reaching 2-8, as practical lights and sun glints do in real plates.
    """
    yy = np.linspace(0.0, 1.0, h, dtype=F32)[:, None, None]
    horizon = F32(rng.uniform(0.45, 0.65))
    sky_top, sky_low = (
        hsv_to_rgb(rng.uniform(0.5, 0.65), 0.5, 0.6),
        hsv_to_rgb(rng.uniform(0.05, 0.15), 0.3, 0.8),
    )
    ground = hsv_to_rgb(rng.uniform(0.05, 0.35), rng.uniform(0.3, 0.6), rng.uniform(0.15, 0.35))
    t = np.clip(yy / horizon, 0, 1)
    sky = sky_top * (1 - t) + sky_low * t
    tex = fbm(rng, h, w, cells=max(2, w // 96), octaves=4, channels=3)
    img = np.where(yy < horizon, sky * (0.8 + 0.4 * tex), ground * (0.5 + 1.0 * tex)).astype(F32)
    xx = np.arange(w, dtype=F32)[None, :, None]
    band = (yy > horizon - 0.12) & (yy < horizon)
    period = F32(max(8.0, w / rng.uniform(10, 20)))
    bricks = 0.6 + 0.4 * (np.sin(2 * np.pi * xx / period) > -0.2)
    img = np.where(band, img * bricks * F32(1.3), img).astype(F32)
    for _ in range(int(rng.integers(2, 5))):
        cy, cx = rng.uniform(0.05, 0.9) * h, rng.uniform(0, 1) * w
        radius = rng.uniform(0.01, 0.04) * max(h, w)
        peak = rng.uniform(2.0, 8.0)
        colour = hsv_to_rgb(rng.uniform(0.05, 0.2), rng.uniform(0.0, 0.3), 1.0)
        _add_blob(img, cy, cx, radius, peak * colour)
    return img


def _add_blob(img: np.ndarray, cy: float, cx: float, radius: float, colour: np.ndarray) -> None:
    h, w = img.shape[:2]
    r = math.ceil(3 * radius)
    y0, y1, x0, x1 = (
        max(0, int(cy) - r),
        min(h, int(cy) + r + 1),
        max(0, int(cx) - r),
        min(w, int(cx) + r + 1),
    )
    if y0 >= y1 or x0 >= x1:
        return
    ys = np.arange(y0, y1, dtype=F32)[:, None] - F32(cy)
    xs = np.arange(x0, x1, dtype=F32)[None, :] - F32(cx)
    g = np.exp(-(ys * ys + xs * xs) / F32(2 * radius * radius))
    img[y0:y1, x0:x1] += g[:, :, None] * colour


GRAIN_MARGIN = 64


def grain_field(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    """A grain plate a little larger than the frame; each frame takes a randomly shifted window of it, so
    the grain changes from frame to frame without drawing fresh random numbers for every pixel."""
    return rng.standard_normal((h + GRAIN_MARGIN, w + GRAIN_MARGIN, 3), dtype=F32) * F32(sigma)


def superellipse(
    h: int, w: int, cx: float, cy: float, rx: float, ry: float, angle: float, power: float
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Coverage in [0, 1] of a rotated superellipse (``power`` 2: ellipse, 1: diamond, 6+: rounded box).

    Returns the coverage over the shape's bounding box and the box ``(y0, y1, x0, x1)`` in the frame
    (empty when it lies outside).
    """
    reach = math.hypot(rx, ry) + 2
    y0, y1 = max(0, int(cy - reach)), min(h, int(cy + reach) + 2)
    x0, x1 = max(0, int(cx - reach)), min(w, int(cx + reach) + 2)
    if y0 >= y1 or x0 >= x1:
        return np.zeros((0, 0), dtype=F32), (0, 0, 0, 0)
    ys = np.arange(y0, y1, dtype=F32)[:, None] + F32(0.5 - cy)
    xs = np.arange(x0, x1, dtype=F32)[None, :] + F32(0.5 - cx)
    c, s = F32(math.cos(angle)), F32(math.sin(angle))
    u = (xs * c + ys * s) / F32(rx)
    v = (-xs * s + ys * c) / F32(ry)
    q = (np.abs(u) ** F32(power) + np.abs(v) ** F32(power)) ** F32(1.0 / power)
    dist = (q - 1) * F32(min(rx, ry))
    return np.clip(F32(0.5) - dist, 0, 1).astype(F32), (y0, y1, x0, x1)


@dataclass(frozen=True)
class Look:
    """How a talent looks: colours, texture and build, derived from the name alone."""

    clothes: tuple[float, float, float]
    accent: tuple[float, float, float]
    skin: tuple[float, float, float]
    pattern: str
    frequency: float
    angle: float
    height: float
    build: float
    head: float

    @classmethod
    def of(cls, name: str) -> Look:
        rng = np.random.default_rng(stable_int(f"talent:{name}"))
        hue = rng.random()

        def colour(h: float, s: float, v: float) -> tuple[float, float, float]:
            r, g, b = (float(c) for c in hsv_to_rgb(h, s, v))
            return r, g, b

        return cls(
            clothes=colour(hue, rng.uniform(0.6, 0.9), rng.uniform(0.35, 0.7)),
            accent=colour((hue + rng.uniform(0.3, 0.7)) % 1.0, rng.uniform(0.4, 0.9), rng.uniform(0.5, 0.9)),
            skin=colour(rng.uniform(0.03, 0.1), rng.uniform(0.3, 0.6), rng.uniform(0.3, 0.8)),
            pattern=("stripes", "checks", "dots", "mottled")[int(rng.integers(4))],
            frequency=float(rng.uniform(6, 14)),
            angle=float(rng.uniform(0, math.pi)),
            height=float(rng.uniform(0.5, 0.7)),
            build=float(rng.uniform(0.8, 1.25)),
            head=float(rng.uniform(0.85, 1.2)),
        )


def _pattern(look: Look, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The clothing texture in [0, 1], in figure-local units so it moves with the figure."""
    f = F32(look.frequency * 2 * math.pi)
    c, s = F32(math.cos(look.angle)), F32(math.sin(look.angle))
    a, b = u * c + v * s, -u * s + v * c
    if look.pattern == "stripes":
        return (np.sin(a * f) > 0).astype(F32)
    if look.pattern == "checks":
        return ((np.sin(a * f) > 0) ^ (np.sin(b * f) > 0)).astype(F32)
    if look.pattern == "dots":
        return ((np.sin(a * f) * np.sin(b * f)) > 0.5).astype(F32)
    mottled: np.ndarray = F32(0.5) + F32(0.5) * np.sin(a * f + 2 * np.sin(b * f * F32(0.7)))
    return mottled


def figure(
    look: Look, h: int, w: int, x: float, ground: float, phase: float
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """A walking figure with its feet at ``(x, ground)``: colour, coverage and their box in the frame.

    Head, torso, two arms and two legs are soft superellipses; limbs swing with ``phase`` (radians of the
    gait cycle), and the body bobs with the steps. Colour (``bh x bw x 3``, not premultiplied) and
    coverage (``bh x bw``) cover only the box ``(y0, y1, x0, x1)``, which may be empty.
    """
    size = look.height * h
    bob = abs(math.sin(phase)) * 0.015 * size
    swing = 0.45 * math.sin(phase)
    hip = ground - 0.48 * size - bob
    shoulder = ground - 0.78 * size - bob
    leg, arm = 0.26 * size, 0.2 * size
    side = 0.13 * size * look.build
    parts = [  # (cx, cy, rx, ry, angle, power, is_skin)
        (x, ground - 0.9 * size - bob, 0.075 * size * look.head, 0.085 * size * look.head, 0.0, 2.0, True),
        (x, (hip + shoulder) / 2, 0.12 * size * look.build, 0.2 * size, 0.0, 3.0, False),
        (
            x + math.sin(swing) * leg,
            hip + math.cos(swing) * leg,
            0.05 * size * look.build,
            leg,
            -swing,
            2.5,
            False,
        ),
        (
            x - math.sin(swing) * leg,
            hip + math.cos(swing) * leg,
            0.05 * size * look.build,
            leg,
            swing,
            2.5,
            False,
        ),
        (
            x - side - math.sin(swing) * arm,
            shoulder + math.cos(swing) * arm,
            0.035 * size,
            arm,
            swing,
            2.0,
            True,
        ),
        (
            x + side + math.sin(swing) * arm,
            shoulder + math.cos(swing) * arm,
            0.035 * size,
            arm,
            -swing,
            2.0,
            True,
        ),
    ]
    rendered = [(superellipse(h, w, cx, cy, rx, ry, a, p), skin) for cx, cy, rx, ry, a, p, skin in parts]
    boxes = [box for (cov, box), _ in rendered if cov.size]
    if not boxes:
        return np.zeros((0, 0, 3), F32), np.zeros((0, 0), F32), (0, 0, 0, 0)
    by0, by1 = min(b[0] for b in boxes), max(b[1] for b in boxes)
    bx0, bx1 = min(b[2] for b in boxes), max(b[3] for b in boxes)
    alpha = np.zeros((by1 - by0, bx1 - bx0), dtype=F32)
    colour = np.zeros((by1 - by0, bx1 - bx0, 3), dtype=F32)
    for (cov, (y0, y1, x0, x1)), is_skin in rendered:
        if cov.size == 0:
            continue
        u = (np.arange(x0, x1, dtype=F32)[None, :] - F32(x)) / F32(size)
        v = (np.arange(y0, y1, dtype=F32)[:, None] - F32(ground)) / F32(size)
        shade = (F32(0.75) + F32(0.5) * np.clip(F32(0.5) - u * F32(2), 0, 1))[:, :, None]
        if is_skin:
            col = np.array(look.skin, F32) * shade
        else:
            p = _pattern(look, u, v)[:, :, None]
            col = (np.array(look.clothes, F32) * (1 - p) + np.array(look.accent, F32) * p) * shade
        sl = np.s_[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
        region = alpha[sl]
        take = cov > region
        colour[sl][take] = np.broadcast_to(col, (*cov.shape, 3))[take]
        np.maximum(region, cov, out=region)
    return colour, alpha, (by0, by1, bx0, bx1)
