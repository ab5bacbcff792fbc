"""Seeded synthetic footage for demos, tests and benchmarks: nothing is downloaded.

Three kinds, all half-float linear EXR sequences (``name.####.exr``) with ``rmtc/...`` header attributes
saying what made them:

- :func:`make_plates`: one sequence per *talent*, a figure of its own colours, clothing texture and build
  walking through a textured, slightly grainy backdrop with HDR highlights, so that rights tracking has
  footage that visibly "depicts" someone.
- :func:`make_matte_task`: plates of moving soft-edged shapes and their ground-truth alpha (``matte``),
  for a network to learn foreground/background separation.
- :func:`make_denoise_task`: clean frames and the same frames with Gaussian noise of a known sigma.

The same arguments give byte-identical files (the EXR ``DateTime`` is fixed for that reason). Sizes are
``(width, height)``; 2K (2048 x 1080) and 4K frames take well under a second each.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fileseq.exceptions import ParseException
from fileseq.frameset import FrameSet

from rmtc.errors import InvalidInput
from rmtc.vfx import _draw
from rmtc.vfx.image import Image
from rmtc.vfx.imageio import write_image

GENERATOR = "rmtc.vfx.synthetic/1"
#: Colour space the footage is labelled with: the default OpenColorIO config's scene-linear space.
COLOURSPACE = "ACEScg"
_FIXED_DATETIME = "2000:01:01 00:00:00"
DEFAULT_FRAMES = range(1001, 1025)
DEFAULT_TALENTS = ("ava_reyes", "marcus_cole")
Frames = Iterable[int] | str


@dataclass(frozen=True)
class SyntheticSequence:
    """One written frame sequence: its role (``plate``, ``matte``, ``clean``, ``noisy``) and files."""

    role: str
    pattern: str
    frames: tuple[int, ...]
    paths: tuple[Path, ...]
    channels: tuple[str, ...]
    talent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "pattern": self.pattern,
            "frames": list(self.frames),
            "paths": [str(p) for p in self.paths],
            "channels": list(self.channels),
            "talent": self.talent,
        }


@dataclass(frozen=True)
class Manifest:
    """What a generator wrote: the sequences, and the parameters that reproduce them."""

    task: str
    root: Path
    size: tuple[int, int]
    seed: int
    sequences: tuple[SyntheticSequence, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    def sequence(self, role: str, talent: str | None = None) -> SyntheticSequence:
        """The sequence of ``role`` (and ``talent``, for plates); InvalidInput when there is none."""
        for s in self.sequences:
            if s.role == role and (talent is None or s.talent == talent):
                return s
        have = sorted({f"{s.role} ({s.talent})" if s.talent else s.role for s in self.sequences})
        raise InvalidInput(
            f"the {self.task} manifest has no {role!r} sequence" + (f" of {talent!r}" if talent else ""),
            hint=f"it has {', '.join(have)}",
        )

    def pairs(self, source: str, target: str) -> list[tuple[Path, Path]]:
        """Frame-aligned ``(source, target)`` paths, e.g. ``pairs("plate", "matte")``."""
        a, b = self.sequence(source), self.sequence(target)
        return list(zip(a.paths, b.paths, strict=True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": GENERATOR,
            "task": self.task,
            "root": str(self.root),
            "size": list(self.size),
            "seed": self.seed,
            "params": dict(self.params),
            "sequences": [s.to_dict() for s in self.sequences],
        }


def make_plates(
    out_dir: str | os.PathLike[str],
    *,
    frames: Frames = DEFAULT_FRAMES,
    size: tuple[int, int] = (256, 256),
    talents: Iterable[str] = DEFAULT_TALENTS,
    seed: int = 0,
    compression: str = "zip",
) -> Manifest:
    """Write ``<out_dir>/<talent>/plate.####.exr`` (RGB, half, linear) for each talent.

    Each talent walks across its own backdrop; its look (colours, clothing pattern, build) depends on the
    name alone, so the same talent is recognisable across seeds, while the backdrop, path and grain
    depend on ``seed`` too.

    ``compression`` is the EXR compression of every generator (``"none"`` writes fastest, for benchmarks
    of everything but compression).

    Raises:
        InvalidInput: no talents, a talent name that is not a plain directory name, bad frames or size.
    """
    root, frame_list, (w, h) = _prepare(out_dir, frames, size)
    names = list(talents)
    if not names:
        raise InvalidInput("make_plates needs at least one talent", hint="pass talents=('ava_reyes',)")
    for name in names:
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise InvalidInput(
                f"talent name {name!r} cannot be a directory name", hint="use names like 'ava_reyes'"
            )
    sequences = []
    for name in names:
        rng = np.random.default_rng([seed, _draw.stable_int(f"plate:{name}")])
        look = _draw.Look.of(name)
        backdrop = _draw.background(rng, h, w)
        grain = _draw.grain_field(rng, h, w, sigma=0.01)
        forward = rng.random() < 0.5
        ground = h * rng.uniform(0.88, 0.97)
        stride = rng.uniform(0.25, 0.4)
        start_phase = rng.uniform(0, 2 * math.pi)
        seq_dir = root / name
        seq_dir.mkdir(exist_ok=True)
        paths = []
        for k, frame in enumerate(frame_list):
            t = k / max(1, len(frame_list) - 1)
            x = w * (0.2 + 0.6 * (t if forward else 1 - t))
            colour, alpha, (y0, y1, x0, x1) = _draw.figure(
                look, h, w, x, ground, start_phase + k * stride * math.pi
            )
            rgb = backdrop.copy()
            rgb[y0:y1, x0:x1] = _over(colour, alpha, backdrop[y0:y1, x0:x1])
            rgb = _grainy(rgb, grain, rng)
            meta = {"rmtc/task": "plates", "rmtc/talent": name}
            paths.append(
                _write(
                    seq_dir / f"plate.{frame:04d}.exr", rgb, ("R", "G", "B"), frame, seed, meta, compression
                )
            )
        sequences.append(
            _sequence("plate", seq_dir / "plate.####.exr", frame_list, paths, ("R", "G", "B"), name)
        )
    return Manifest("plates", root, (w, h), seed, tuple(sequences), {"talents": names})


def make_matte_task(
    out_dir: str | os.PathLike[str],
    *,
    frames: Frames = DEFAULT_FRAMES,
    size: tuple[int, int] = (256, 256),
    shapes: int = 3,
    seed: int = 0,
    compression: str = "zip",
) -> Manifest:
    """Write ``plate.####.exr`` (RGB) and ``matte.####.exr`` (one channel, ``A``): moving shapes over a
    textured backdrop, and their exact coverage, with soft (anti-aliased) edges."""
    root, frame_list, (w, h) = _prepare(out_dir, frames, size)
    if shapes < 1:
        raise InvalidInput(
            f"shapes={shapes}: the matte task needs at least one shape", hint="pass shapes >= 1"
        )
    rng = np.random.default_rng([seed, _draw.stable_int("matte")])
    scene = _ShapeScene(rng, h, w, shapes)
    plates, mattes = [], []
    for k, frame in enumerate(frame_list):
        premult, alpha = scene.render(k)
        rgb = _grainy(_over_premultiplied(premult, alpha, scene.backdrop), scene.grain, rng)
        meta = {"rmtc/task": "matte"}
        plates.append(
            _write(root / f"plate.{frame:04d}.exr", rgb, ("R", "G", "B"), frame, seed, meta, compression)
        )
        mattes.append(
            _write(root / f"matte.{frame:04d}.exr", alpha[:, :, None], ("A",), frame, seed, meta, compression)
        )
    return Manifest(
        "matte",
        root,
        (w, h),
        seed,
        (
            _sequence("plate", root / "plate.####.exr", frame_list, plates, ("R", "G", "B")),
            _sequence("matte", root / "matte.####.exr", frame_list, mattes, ("A",)),
        ),
        {"shapes": shapes},
    )


def make_denoise_task(
    out_dir: str | os.PathLike[str],
    *,
    frames: Frames = DEFAULT_FRAMES,
    size: tuple[int, int] = (256, 256),
    noise_sigma: float = 0.05,
    shapes: int = 3,
    seed: int = 0,
    compression: str = "zip",
) -> Manifest:
    """Write ``clean.####.exr`` and ``noisy.####.exr`` (RGB): noisy = clean + N(0, ``noise_sigma``²),
    independent per pixel, channel and frame, in linear light (so noisy values can go below zero).
    ``rmtc/noise_sigma`` is recorded in every header."""
    root, frame_list, (w, h) = _prepare(out_dir, frames, size)
    if not (noise_sigma >= 0 and math.isfinite(noise_sigma)):
        raise InvalidInput(f"noise_sigma={noise_sigma} must be a finite value >= 0", hint="pass e.g. 0.05")
    rng = np.random.default_rng([seed, _draw.stable_int("denoise")])
    scene = _ShapeScene(rng, h, w, shapes)
    cleans, noisies = [], []
    for k, frame in enumerate(frame_list):
        premult, alpha = scene.render(k)
        clean = _over_premultiplied(premult, alpha, scene.backdrop).astype(np.float16).astype(np.float32)
        noisy = clean + rng.standard_normal(clean.shape, dtype=np.float32) * np.float32(noise_sigma)
        meta = {"rmtc/task": "denoise", "rmtc/noise_sigma": repr(float(noise_sigma))}
        cleans.append(
            _write(root / f"clean.{frame:04d}.exr", clean, ("R", "G", "B"), frame, seed, meta, compression)
        )
        noisies.append(
            _write(root / f"noisy.{frame:04d}.exr", noisy, ("R", "G", "B"), frame, seed, meta, compression)
        )
    return Manifest(
        "denoise",
        root,
        (w, h),
        seed,
        (
            _sequence("clean", root / "clean.####.exr", frame_list, cleans, ("R", "G", "B")),
            _sequence("noisy", root / "noisy.####.exr", frame_list, noisies, ("R", "G", "B")),
        ),
        {"noise_sigma": float(noise_sigma), "shapes": shapes},
    )


@dataclass(frozen=True)
class _Shape:
    pos: tuple[float, float]
    vel: tuple[float, float]
    radii: tuple[float, float]
    angle: float
    spin: float
    power: float
    colours: tuple[np.ndarray, np.ndarray]
    freq: float

    @classmethod
    def random(cls, rng: np.random.Generator, h: int, w: int) -> _Shape:
        def pair(lo: float, hi: float, sx: float, sy: float) -> tuple[float, float]:
            a, b = rng.uniform(lo, hi, 2)
            return float(a * sx), float(b * sy)

        return cls(
            pos=pair(0.2, 0.8, w, h),
            vel=pair(-0.02, 0.02, w, h),
            radii=pair(0.08, 0.2, min(w, h), min(w, h)),
            angle=float(rng.uniform(0, math.pi)),
            spin=float(rng.uniform(-0.1, 0.1)),
            power=float(rng.choice([1.0, 2.0, 2.0, 6.0])),
            colours=(
                _draw.hsv_to_rgb(rng.random(), rng.uniform(0.5, 1), rng.uniform(0.3, 1.2)),
                _draw.hsv_to_rgb(rng.random(), rng.uniform(0.2, 1), rng.uniform(0.2, 0.9)),
            ),
            freq=float(rng.uniform(0.05, 0.2)),
        )


class _ShapeScene:
    """Moving, turning shapes (ellipses, diamonds, rounded boxes) with striped colours over a backdrop."""

    def __init__(self, rng: np.random.Generator, h: int, w: int, count: int):
        self.h, self.w = h, w
        self.backdrop = _draw.background(rng, h, w)
        self.grain = _draw.grain_field(rng, h, w, sigma=0.01)
        self.shapes = [_Shape.random(rng, h, w) for _ in range(count)]

    def render(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``k``'s shapes: premultiplied colour and alpha, each shape laid over the previous ones."""
        h, w = self.h, self.w
        colour = np.zeros((h, w, 3), dtype=np.float32)
        alpha = np.zeros((h, w), dtype=np.float32)
        for s in self.shapes:
            cx, cy = _bounce(s.pos[0] + s.vel[0] * k, w), _bounce(s.pos[1] + s.vel[1] * k, h)
            angle = s.angle + s.spin * k
            cov, (y0, y1, x0, x1) = _draw.superellipse(h, w, cx, cy, s.radii[0], s.radii[1], angle, s.power)
            if cov.size == 0:
                continue
            ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(cy)
            xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(cx)
            phase = (xs * np.float32(math.cos(angle)) + ys * np.float32(math.sin(angle))) * np.float32(s.freq)
            col = np.where((np.sin(phase) > 0)[:, :, None], s.colours[0], s.colours[1]).astype(np.float32)
            a = cov[:, :, None]
            region = colour[y0:y1, x0:x1]
            region *= 1 - a
            region += col * a
            under = alpha[y0:y1, x0:x1]
            under *= 1 - cov
            under += cov
        return colour, alpha


def _bounce(p: float, extent: float) -> float:
    """Position ``p`` folded back into [0.1, 0.9] * extent, as a ball bouncing between walls."""
    lo, hi = 0.1 * extent, 0.9 * extent
    span = hi - lo
    t = (p - lo) % (2 * span)
    return lo + (t if t <= span else 2 * span - t)


def _grainy(rgb: np.ndarray, grain: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Film-like grain, stronger where brighter (as photon noise is), from a shifted window of ``grain``."""
    h, w = rgb.shape[:2]
    oy, ox = (int(v) for v in rng.integers(0, _draw.GRAIN_MARGIN, 2))
    rgb += grain[oy : oy + h, ox : ox + w] * np.sqrt(np.maximum(rgb, 0) + np.float32(0.05))
    return rgb


def _over(colour: np.ndarray, alpha: np.ndarray, under: np.ndarray) -> np.ndarray:
    a = alpha[:, :, None]
    out: np.ndarray = colour * a + under * (1 - a)
    return out


def _over_premultiplied(premult: np.ndarray, alpha: np.ndarray, under: np.ndarray) -> np.ndarray:
    out: np.ndarray = premult + under * (1 - alpha[:, :, None])
    return out


def _write(
    path: Path,
    pixels: np.ndarray,
    channels: tuple[str, ...],
    frame: int,
    seed: int,
    extra: Mapping[str, str],
    compression: str,
) -> Path:
    meta = {
        "rmtc/generator": GENERATOR,
        "rmtc/seed": str(seed),
        "rmtc/frame": str(frame),
        "oiio:ColorSpace": COLOURSPACE,
        "DateTime": _FIXED_DATETIME,
        **extra,
    }
    image = Image(np.ascontiguousarray(pixels, dtype=np.float16), channels)
    return write_image(path, image, pixel_type="half", compression=compression, metadata=meta, durable=False)


def _sequence(
    role: str,
    pattern: Path,
    frames: list[int],
    paths: list[Path],
    channels: tuple[str, ...],
    talent: str | None = None,
) -> SyntheticSequence:
    return SyntheticSequence(role, str(pattern), tuple(frames), tuple(paths), channels, talent)


def _prepare(
    out_dir: str | os.PathLike[str], frames: Frames, size: tuple[int, int]
) -> tuple[Path, list[int], tuple[int, int]]:
    if isinstance(frames, str):
        try:
            frame_list = [int(f) for f in FrameSet(frames)]
        except ParseException as exc:
            raise InvalidInput(
                f"cannot parse frame range {frames!r}: {exc}", hint="write ranges like '1001-1024'"
            ) from exc
    else:
        frame_list = [int(f) for f in frames]
    if not frame_list or min(frame_list) < 0 or len(set(frame_list)) != len(frame_list):
        raise InvalidInput(
            f"frames {frames!r} must be distinct non-negative numbers", hint="pass e.g. range(1001, 1025)"
        )
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InvalidInput(f"size {size!r} must be (width, height)", hint="pass e.g. (256, 256)") from None
    if w < 16 or h < 16 or w > 16384 or h > 16384:
        raise InvalidInput(f"size {w} x {h} is out of range", hint="use 16 to 16384 pixels a side")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    return root, frame_list, (w, h)
