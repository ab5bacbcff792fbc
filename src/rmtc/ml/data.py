"""Paired frames for training: checks, the held-out split, random patches and validation crops.

Frames come from a :class:`PairSource`: anything that can say how many (input, target) pairs it has and
load one as two ``H x W x C`` float arrays (the layout image I/O returns). Every pair is checked once,
when a sampler loads it, so a bad frame stops training before the first step with a message naming it.

Randomness comes only from the ``torch.Generator`` the caller passes to :meth:`PatchSampler.sample`, so
a trainer that checkpoints that generator's state resumes on exactly the same patches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from rmtc.core.hashing import hasher
from rmtc.errors import InvalidInput


@runtime_checkable
class PairSource(Protocol):
    """Paired frames, input -> target, indexed from 0.

    ``load(i)`` returns ``(input, target)`` as float arrays of shape ``H x W x C`` (2-D arrays count as
    one channel); the target is ``scale`` times the input's size for an upres task, else the same size.
    ``label(i)`` names the pair in messages (e.g. ``"plate.1003.exr -> matte.1003.exr"``).
    """

    def __len__(self) -> int: ...

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]: ...

    def label(self, index: int) -> str: ...


class ArrayPairs:
    """A :class:`PairSource` over arrays in memory (tests, notebooks, frames already read).

    Raises:
        InvalidInput: the input and target lists differ in length.
    """

    def __init__(
        self,
        inputs: Sequence[np.ndarray],
        targets: Sequence[np.ndarray],
        labels: Sequence[str] | None = None,
    ):
        if len(inputs) != len(targets):
            raise InvalidInput(
                f"{len(inputs)} input frame(s) but {len(targets)} target frame(s)",
                hint="give one target frame for every input frame",
            )
        if labels is not None and len(labels) != len(inputs):
            raise InvalidInput(
                f"{len(labels)} label(s) for {len(inputs)} pair(s)", hint="give one label per pair"
            )
        self._inputs = list(inputs)
        self._targets = list(targets)
        self._labels = list(labels) if labels is not None else [f"pair {i}" for i in range(len(inputs))]

    def __len__(self) -> int:
        return len(self._inputs)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self._inputs[index], self._targets[index]

    def label(self, index: int) -> str:
        return self._labels[index]


def as_hwc(array: np.ndarray, what: str) -> np.ndarray:
    """A float32 ``H x W x C`` view or copy of an image array; refuses other shapes and integer pixels."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[0] < 1 or a.shape[1] < 1 or a.shape[2] < 1:
        raise InvalidInput(
            f"{what}: expected an H x W x C image array, got shape {a.shape}", hint="pass HWC arrays"
        )
    if not np.issubdtype(a.dtype, np.floating):
        raise InvalidInput(
            f"{what}: pixels are {a.dtype}, expected floats",
            hint="convert to float (0-1 for display-referred data)",
        )
    return np.ascontiguousarray(a, dtype=np.float32)


def check_finite(a: np.ndarray, what: str) -> None:
    """Refuse NaN and infinite pixels, naming how many and where the first one is."""
    finite = np.isfinite(a)
    if finite.all():
        return
    nan = int(np.isnan(a).sum())
    inf = int(a.size - finite.sum()) - nan
    y, x, c = (int(v) for v in np.argwhere(~finite)[0])
    raise InvalidInput(
        f"{what} has {nan} NaN and {inf} infinite pixel value(s), the first at y={y}, x={x}, channel {c}",
        hint="fix the frame (or drop it from the dataset) before training",
    )


def check_pair(source: PairSource, index: int, scale: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Load pair ``index`` and check it: HWC floats, finite, the target ``scale`` times the input's size."""
    label = source.label(index)
    raw_in, raw_tgt = source.load(index)
    inp = as_hwc(raw_in, f"{label} (input)")
    tgt = as_hwc(raw_tgt, f"{label} (target)")
    want = (inp.shape[0] * scale, inp.shape[1] * scale)
    if tgt.shape[:2] != want:
        size = f"{scale} times the input's size" if scale > 1 else "the same size as the input"
        raise InvalidInput(
            f"{label}: the input is {inp.shape[1]}x{inp.shape[0]} but the target is "
            f"{tgt.shape[1]}x{tgt.shape[0]}; the target must be {size}",
            hint="pair frames of matching size (and check the model's scale)",
        )
    check_finite(inp, f"{label} (input)")
    check_finite(tgt, f"{label} (target)")
    return inp, tgt


def split_frames(
    count: int, held_out: Sequence[int] = (), held_out_count: int = 0
) -> tuple[list[int], list[int]]:
    """Split pair indices into (training, validation) by whole frames.

    Args:
        count: the number of pairs.
        held_out: explicit validation indices; wins over ``held_out_count``.
        held_out_count: otherwise, how many frames to hold out, spread evenly over the sequence (so a
            moving shot is validated on frames unlike its neighbours' as far as possible).

    Raises:
        InvalidInput: no pairs, an index out of range or repeated, or nothing left to train on.
    """
    if count < 1:
        raise InvalidInput("the dataset has no frame pairs", hint="add paired frames to the dataset")
    if held_out:
        bad = [i for i in held_out if not 0 <= i < count]
        if bad:
            raise InvalidInput(
                f"validation frame index {bad[0]} is out of range 0-{count - 1}", hint="fix it"
            )
        if len(set(held_out)) != len(held_out):
            raise InvalidInput("validation frame indices repeat", hint="list each held-out frame once")
        val = sorted(held_out)
    elif held_out_count > 0:
        val = sorted({min(count - 1, int((i + 0.5) * count / held_out_count)) for i in range(held_out_count)})
    else:
        val = []
    train = [i for i in range(count) if i not in set(val)]
    if not train:
        raise InvalidInput(
            f"holding out {len(val)} of {count} frame(s) for validation leaves none to train on",
            hint="hold out fewer frames or add more",
        )
    return train, val


@dataclass(frozen=True, slots=True)
class FrameStats:
    in_channels: int
    out_channels: int
    min_height: int
    min_width: int


def load_frames(
    source: PairSource, indices: Sequence[int], scale: int = 1
) -> tuple[list[tuple[np.ndarray, np.ndarray]], FrameStats]:
    """Load and check the pairs at ``indices``; every input (and every target) must share a channel count."""
    if not indices:
        raise InvalidInput("no frame pairs to load", hint="add paired frames to the dataset")
    frames = [check_pair(source, i, scale) for i in indices]
    cin, cout = frames[0][0].shape[2], frames[0][1].shape[2]
    for i, (inp, tgt) in zip(indices, frames, strict=True):
        if inp.shape[2] != cin or tgt.shape[2] != cout:
            raise InvalidInput(
                f"{source.label(i)} has {inp.shape[2]} input / {tgt.shape[2]} target channel(s) but "
                f"{source.label(indices[0])} has {cin} / {cout}",
                hint="every pair must have the same channels",
            )
    h = min(f[0].shape[0] for f in frames)
    w = min(f[0].shape[1] for f in frames)
    return frames, FrameStats(cin, cout, h, w)


def fingerprint(frames: Sequence[tuple[np.ndarray, np.ndarray]]) -> str:
    """A BLAKE3 digest of the frames' shapes and pixels: a resumed run checks it trains on the same data."""
    h = hasher()
    for inp, tgt in frames:
        for a in (inp, tgt):
            h.update(repr(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return str(h.hexdigest())


class PatchSampler:
    """Random square patches of the training pairs, with flips and 90-degree rotations.

    The patch is ``patch_size`` input pixels square, or the smallest frame's shorter side if that is
    smaller; the target patch is ``scale`` times larger at the matching place.
    """

    def __init__(
        self,
        frames: Sequence[tuple[np.ndarray, np.ndarray]],
        patch_size: int = 256,
        scale: int = 1,
        augment: bool = True,
    ):
        if not frames:
            raise InvalidInput("no frame pairs to train on", hint="add paired frames to the dataset")
        self.frames = [
            (torch.from_numpy(i).permute(2, 0, 1), torch.from_numpy(t).permute(2, 0, 1)) for i, t in frames
        ]
        self.patch = min(
            patch_size, *(i.shape[1] for i, _ in self.frames), *(i.shape[2] for i, _ in self.frames)
        )
        self.scale = scale
        self.augment = augment

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """A batch ``(inputs, targets)`` as ``N x C x H x W`` float32 CPU tensors."""
        p, s = self.patch, self.scale
        inputs: list[Tensor] = []
        targets: list[Tensor] = []
        for _ in range(batch_size):
            k = int(torch.randint(len(self.frames), (1,), generator=generator))
            inp, tgt = self.frames[k]
            y = int(torch.randint(inp.shape[1] - p + 1, (1,), generator=generator))
            x = int(torch.randint(inp.shape[2] - p + 1, (1,), generator=generator))
            a = inp[:, y : y + p, x : x + p]
            b = tgt[:, y * s : (y + p) * s, x * s : (x + p) * s]
            if self.augment:
                flip_h, flip_v = (int(v) for v in torch.randint(0, 2, (2,), generator=generator))
                rot = int(torch.randint(0, 4, (1,), generator=generator))
                if flip_h:
                    a, b = a.flip(2), b.flip(2)
                if flip_v:
                    a, b = a.flip(1), b.flip(1)
                if rot:
                    a, b = torch.rot90(a, rot, (1, 2)), torch.rot90(b, rot, (1, 2))
            inputs.append(a)
            targets.append(b)
        return torch.stack(inputs).contiguous(), torch.stack(targets).contiguous()


def center_crops(
    frames: Sequence[tuple[np.ndarray, np.ndarray]], size: int, scale: int = 1
) -> list[tuple[Tensor, Tensor]]:
    """Deterministic centre crops (``size`` input pixels square at most) as ``1 x C x H x W`` tensors.

    Validation and contact sheets use these, so they never draw from the training RNG.
    """
    crops: list[tuple[Tensor, Tensor]] = []
    for inp, tgt in frames:
        h, w = inp.shape[:2]
        ch, cw = min(size, h), min(size, w)
        y, x = (h - ch) // 2, (w - cw) // 2
        a = inp[y : y + ch, x : x + cw]
        b = tgt[y * scale : (y + ch) * scale, x * scale : (x + cw) * scale]
        crops.append(
            (
                torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].contiguous(),
                torch.from_numpy(np.ascontiguousarray(b)).permute(2, 0, 1)[None].contiguous(),
            )
        )
    return crops
