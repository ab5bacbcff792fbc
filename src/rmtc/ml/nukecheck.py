"""Check a TorchScript file against Nuke's Inference contract, whoever made it.

``rmtc model push model.pt`` and ``rmtc nuke export`` call :func:`check_nuke_contract` before recording
or exporting anything: a module with the wrong signature, one that only works at the resolution it was
traced at, or one whose channel counts Nuke cannot map is refused with the reason and the fix.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import torch

from rmtc.errors import InvalidInput
from rmtc.ml.torchscript import (
    MAX_NUKE_CHANNELS,
    MIN_NUKE_VERSION,
    NUKE_CHANNELS,
    NukeContract,
    check_forward_signature,
    knobs_of,
    load_torchscript,
    probe,
    quiet_jit,
)

PROBE_SIZES = ((64, 64), (45, 77))
#: Channel counts tried, in this order, on a file that does not say its own.
PROBE_CHANNELS = (3, 4, 1, 2, *range(5, MAX_NUKE_CHANNELS + 1))


def default_nuke_channels(count: int, output: bool) -> tuple[str, ...]:
    """Nuke channel names for ``count`` channels: rgba first; a single output channel is the alpha.

    Raises:
        InvalidInput: more channels than Nuke's 19 predefined ones, or none.
    """
    if not 1 <= count <= MAX_NUKE_CHANNELS:
        raise InvalidInput(
            f"Nuke cannot map {count} channel(s)",
            hint=f"Nuke's Inference node takes 1 to {MAX_NUKE_CHANNELS}",
        )
    if count == 1:
        return ("rgba.alpha",) if output else ("rgba.red",)
    return NUKE_CHANNELS[:count]


def check_nuke_contract(
    source: str | os.PathLike[str] | bytes | torch.jit.ScriptModule,
    *,
    in_channels: int | None = None,
    sizes: Sequence[tuple[int, int]] = PROBE_SIZES,
    check_half: bool = True,
) -> NukeContract:
    """What a TorchScript module offers Nuke, or why Nuke cannot run it.

    Runs the module (TorchScript is code: only on a file the user chose, in their own process) on a
    test image at two resolutions. The input channel count comes from ``in_channels``, else the file's
    rmtc metadata, else the first count in :data:`PROBE_CHANNELS` the module accepts.

    Raises:
        NotFound: no such file. InvalidInput: not TorchScript; ``forward`` is not ``(Tensor) -> Tensor``;
            it fails at every channel count; its output is not ``1 x C x sH x sW`` float with Nuke-mappable
            C and a whole scale; its output size does not follow the input's (a traced module).
    """
    if isinstance(source, torch.jit.ScriptModule):
        buf = io.BytesIO()
        with quiet_jit():
            torch.jit.save(source, buf)
        data: bytes | str | os.PathLike[str] = buf.getvalue()
        label = "the module"
    else:
        data = source
        label = "the given bytes" if isinstance(source, bytes) else str(source)
    module, meta = load_torchscript(data)
    module.eval()
    check_forward_signature(module, label)
    notes: list[str] = []
    recorded = meta.get("in_channels")
    candidates = (
        [in_channels] if in_channels else [recorded] if isinstance(recorded, int) else list(PROBE_CHANNELS)
    )
    if not meta:
        notes.append(
            f"no rmtc metadata: assuming PyTorch 2 TorchScript, which needs Nuke {MIN_NUKE_VERSION}+"
        )
    cin, first, error = 0, None, ""
    for c in candidates:
        if not 1 <= c <= MAX_NUKE_CHANNELS:
            raise InvalidInput(
                f"{label}: Nuke cannot feed {c} input channels", hint=f"use 1 to {MAX_NUKE_CHANNELS}"
            )
        try:
            first = probe(module, c, sizes[0])
        except RuntimeError as exc:
            error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            continue
        cin = c
        break
    if first is None:
        tried = ", ".join(str(c) for c in candidates)
        raise InvalidInput(
            f"{label} fails on a 1 x C x {sizes[0][0]} x {sizes[0][1]} float tensor, C in {tried}: {error}",
            hint="give the input channel count, and check the model runs on one image of any size",
        )
    cout, scale = _shape_facts(label, first, sizes[0])
    try:
        second = probe(module, cin, sizes[1])
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"{label} runs at {sizes[0][1]}x{sizes[0][0]} but fails at {sizes[1][1]}x{sizes[1][0]}: "
            f"{reason}; traced modules freeze the resolution",
            hint="export with torch.jit.script, not torch.jit.trace, and pad odd sizes inside forward",
        ) from exc
    if _shape_facts(label, second, sizes[1]) != (cout, scale):
        raise InvalidInput(
            f"{label}: its output size does not follow the input size ({tuple(first.shape)} for "
            f"{sizes[0]}, {tuple(second.shape)} for {sizes[1]}); traced modules freeze the resolution",
            hint="export with torch.jit.script, not torch.jit.trace",
        )
    if not (bool(torch.isfinite(first).all()) and bool(torch.isfinite(second).all())):
        notes.append("the output has NaN or infinite values on a plain test image")
    half = _half_ok(data, cin, sizes[0], notes) if check_half else None
    return NukeContract(
        in_channels=cin,
        out_channels=cout,
        scale=scale,
        knobs=knobs_of(module),
        min_nuke_version=str(meta.get("min_nuke_version", MIN_NUKE_VERSION)),
        half_precision=half,
        notes=notes,
        metadata=meta,
    )


def _shape_facts(label: str, out: torch.Tensor, size: tuple[int, int]) -> tuple[int, int]:
    if out.dim() != 4 or out.shape[0] != 1 or not out.dtype.is_floating_point:
        raise InvalidInput(
            f"{label} returns a {out.dtype} tensor of shape {tuple(out.shape)}; Nuke needs 1 x C x H x W",
            hint="return one float tensor with batch 1",
        )
    cout = int(out.shape[1])
    if not 1 <= cout <= MAX_NUKE_CHANNELS:
        raise InvalidInput(
            f"{label} returns {cout} channels; Nuke maps 1 to {MAX_NUKE_CHANNELS}",
            hint="return fewer channels (split the model)",
        )
    h, w = size
    oh, ow = int(out.shape[2]), int(out.shape[3])
    if oh % h or ow % w or oh // h != ow // w or oh < h:
        raise InvalidInput(
            f"{label} turns {w}x{h} into {ow}x{oh}: Nuke needs the same size or a whole upscale in both axes",
            hint="crop or pad back to the input size inside forward",
        )
    return cout, oh // h


def _half_ok(
    data: bytes | str | os.PathLike[str], cin: int, size: tuple[int, int], notes: list[str]
) -> bool | None:
    module, _ = load_torchscript(data)
    module = module.half().eval()
    try:
        out = probe(module, cin, size, torch.float16)
    except RuntimeError as exc:
        if "Half" in str(exc) and "not implemented" in str(exc):
            notes.append("half precision could not be checked: this CPU's PyTorch lacks a half kernel")
            return None
        notes.append(f"fails in half precision (Optimize for Speed and Memory): {str(exc).splitlines()[0]}")
        return False
    if out.dtype != torch.float16:
        notes.append(f"in half precision it returns {out.dtype}: it makes tensors without the input's dtype")
        return False
    return True
