"""TorchScript for Nuke's Inference node: the wrapper, the export with its checks, the contract check.

Nuke's contract (see /work/shared/NUKE.md): ``forward`` takes exactly one ``1 x Cin x H x W`` float
tensor and returns one ``1 x Cout x H' x W'`` tensor; the module is scripted (``torch.jit.script``, never
traced, which would freeze the resolution); every tensor is made on the input's device with its dtype, so
the node's GPU and half-precision options work; module attributes of type int, float or bool-as-int
become knobs in CatFileCreator (no ``.`` in names, no Optional); PyTorch 2 TorchScript needs Nuke 15.1+.

:class:`NukeModel` meets it and handles what plates contain: NaN becomes 0, +-Inf the input bounds, and
with ``clamp_input`` on (the default) pixels are clamped to ``[input_min, input_max]`` (default
``[-1, 1000]``: grain below black and super-whites pass, pathological values do not reach the network).
``clamp_output`` (off by default) clamps the result to ``[output_min, output_max]``; ``mix`` blends the
result with the input when their shapes agree.

TorchScript files are programs: :func:`load_torchscript` is the one place that loads one, for the
user's own CLI process or job worker (``rmtc model push``, ``rmtc nuke export``), never the server.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import torch
from torch import Tensor, nn

from rmtc.errors import InvalidInput, NotFound
from rmtc.ml.weights import atomic_write

NUKE_MODEL_FORMAT: Final = "rmtc.NukeModel/1"
MIN_NUKE_VERSION: Final = "15.1"
#: The 19 channels CatFileCreator's Channels In / Out knobs accept (Foundry's .cat reference, appendix).
NUKE_CHANNELS: Final = (
    "rgba.red", "rgba.green", "rgba.blue", "rgba.alpha", "depth.Z", "forward.u", "forward.v",
    "backward.u", "backward.v", "deep.front", "deep.back", "disparityL.x", "disparityL.y",
    "disparityR.x", "disparityR.y", "mask.a", "rotopaint_mask.a", "mask_planartrack.a", "mask_splinewarp.a",
)  # fmt: skip
MAX_NUKE_CHANNELS: Final = len(NUKE_CHANNELS)
#: The knobs of :class:`NukeModel` and their defaults; bools are ints 0/1 as CatFileCreator wants.
KNOBS: Final = {
    "mix": 1.0,
    "clamp_input": 1,
    "input_min": -1.0,
    "input_max": 1000.0,
    "clamp_output": 0,
    "output_min": 0.0,
    "output_max": 1.0,
}
EXTRA_FILE: Final = "rmtc.json"


@contextmanager
def quiet_jit() -> Iterator[None]:
    """Silence PyTorch 2.10+'s deprecation warnings for TorchScript, which Nuke still requires."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
        )
        yield


class NukeModel(nn.Module):
    """One float tensor in, one out, with knobs: what CatFileCreator turns into a ``.cat``.

    Args:
        model: a scriptable module mapping ``N x in_channels x H x W`` to ``N x out_channels x sH x sW``.
        in_channels / out_channels / scale: fixed (TorchScript constants, so they are not knobs).
    """

    __constants__ = ["in_channels", "out_channels", "scale"]

    def __init__(self, model: nn.Module, in_channels: int, out_channels: int, scale: int = 1):
        super().__init__()
        self.model = model
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scale = scale
        self.mix: float = 1.0
        self.clamp_input: int = 1
        self.input_min: float = -1.0
        self.input_max: float = 1000.0
        self.clamp_output: int = 0
        self.output_min: float = 0.0
        self.output_max: float = 1.0

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise RuntimeError(
                "expected a 1 x " + str(self.in_channels) + " x H x W tensor, got " + str(list(x.shape))
            )
        clean = torch.nan_to_num(x, nan=0.0, posinf=self.input_max, neginf=self.input_min)
        if self.clamp_input != 0:
            clean = clean.clamp(self.input_min, self.input_max)
        y = self.model(clean)
        if self.clamp_output != 0:
            y = y.clamp(self.output_min, self.output_max)
        if self.mix != 1.0 and self.scale == 1 and self.in_channels == self.out_channels:
            y = clean + (y - clean) * self.mix
        out: Tensor = y
        return out


@dataclass(frozen=True, slots=True)
class NukeContract:
    """What a TorchScript file offers Nuke, as checked by :func:`check_nuke_contract`."""

    in_channels: int
    out_channels: int
    scale: int
    knobs: dict[str, str]
    min_nuke_version: str
    half_precision: bool | None
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "scale": self.scale,
            "knobs": dict(self.knobs),
            "min_nuke_version": self.min_nuke_version,
            "half_precision": self.half_precision,
            "notes": list(self.notes),
            "metadata": dict(self.metadata),
        }


def script_for_nuke(
    model: nn.Module, in_channels: int, out_channels: int, scale: int = 1
) -> torch.jit.ScriptModule:
    """Wrap ``model`` in :class:`NukeModel` (on the CPU, float32, eval mode) and script it."""
    for name, count in (("input", in_channels), ("output", out_channels)):
        if not 1 <= count <= MAX_NUKE_CHANNELS:
            raise InvalidInput(
                f"Nuke cannot take a model with {count} {name} channel(s)",
                hint=f"Nuke's Inference node maps 1 to {MAX_NUKE_CHANNELS} predefined channels",
            )
    wrapper = NukeModel(model, in_channels, out_channels, scale).to("cpu", torch.float32).eval()
    wrapper.requires_grad_(False)  # inference only, whether or not the host disables autograd
    try:
        with quiet_jit():
            return torch.jit.script(wrapper)
    except Exception as exc:  # TorchScript's frontend raises many types
        raise InvalidInput(
            f"the model cannot be scripted for Nuke: {exc}".splitlines()[0],
            hint="Nuke needs torch.jit.script: type-annotate forward and avoid NumPy and Python-only code",
        ) from exc


def serialize(module: torch.jit.ScriptModule, metadata: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    with quiet_jit():
        torch.jit.save(module, buf, _extra_files={EXTRA_FILE: json.dumps(metadata, sort_keys=True)})
    return buf.getvalue()


def load_torchscript(source: str | os.PathLike[str] | bytes) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """Load a TorchScript module and its rmtc metadata (``{}`` for files made elsewhere), on the CPU.

    TorchScript is code: call this only on files the user chose to run, in their own process.

    Raises:
        NotFound: no such file. InvalidInput: not a TorchScript file.
    """
    extra = {EXTRA_FILE: ""}
    label = "the given bytes" if isinstance(source, bytes) else str(source)
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise NotFound(f"no TorchScript file at {source}", hint="check the path")
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else str(source)
        with quiet_jit():
            module = torch.jit.load(stream, map_location="cpu", _extra_files=extra)  # type: ignore[no-untyped-call]
    except (RuntimeError, ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise InvalidInput(
            f"{label} is not a TorchScript file: {reason}",
            hint="export it with torch.jit.script(model).save(path)",
        ) from exc
    raw = extra[EXTRA_FILE]
    try:
        meta = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        meta = {}
    return module, meta if isinstance(meta, dict) else {}


def knobs_of(module: torch.jit.ScriptModule) -> dict[str, str]:
    """The top-level int / float / bool attributes of a scripted module: CatFileCreator's knobs."""
    try:
        attrs = torch._C._jit_debug_module_iterators(module._c)["named_attributes"]  # type: ignore[attr-defined]
    except (AttributeError, KeyError, RuntimeError):  # a private API: degrade to no knobs
        return {}
    out: dict[str, str] = {}
    for name, value in attrs:
        if name.startswith("_") or name == "training" or "." in name:
            continue
        if isinstance(value, bool | int | float):
            out[name] = type(value).__name__
    return out


def check_forward_signature(module: torch.jit.ScriptModule, label: str) -> None:
    """Refuse a module whose ``forward`` is not ``(Tensor) -> Tensor``."""
    try:
        schema = module.forward.schema  # type: ignore[attr-defined]
    except AttributeError as exc:
        raise InvalidInput(f"{label} has no scripted forward method", hint="script the model") from exc
    args = [a for a in schema.arguments if a.name != "self"]
    shown = ", ".join(f"{a.name}: {a.type}" for a in args)
    returns = ", ".join(str(r.type) for r in schema.returns)
    if len(args) != 1 or str(args[0].type) != "Tensor" or len(schema.returns) != 1 or returns != "Tensor":
        raise InvalidInput(
            f"{label}: forward({shown}) -> {returns} does not fit Nuke, whose Inference node calls forward "
            "with one 1 x C x H x W float tensor and takes one tensor back",
            hint="wrap the model so forward takes and returns one tensor (concatenate several inputs along "
            "channels and split them inside with torch.split)",
        )


def probe_input(in_channels: int, size: tuple[int, int], dtype: torch.dtype = torch.float32) -> Tensor:
    """A fixed, smooth ``1 x C x H x W`` test image in (0, 1): the same on every machine."""
    h, w = size
    yy = torch.linspace(0.0, 1.0, h, dtype=torch.float64)[:, None]
    xx = torch.linspace(0.0, 1.0, w, dtype=torch.float64)[None, :]
    planes = [
        (0.5 + 0.45 * torch.sin(6.0 * xx * (c + 1) + 4.0 * yy)).expand(h, w) for c in range(in_channels)
    ]
    return torch.stack(planes)[None].to(dtype)


def probe(
    module: nn.Module, in_channels: int, size: tuple[int, int], dtype: torch.dtype = torch.float32
) -> Tensor:
    """Run the module on :func:`probe_input`; InvalidInput if it returns anything but a tensor."""
    with torch.no_grad():
        out = module(probe_input(in_channels, size, dtype))
    if not isinstance(out, Tensor):
        raise InvalidInput(f"the model returned {type(out).__name__}, not a tensor", hint="return one tensor")
    return out


def write_torchscript(path: str | os.PathLike[str], data: bytes) -> Path:
    out = Path(path)
    atomic_write(out, data)
    return out
