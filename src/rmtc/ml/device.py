"""Where tensors live: CUDA when present, CPU otherwise, and a clear error for an impossible ask."""

from __future__ import annotations

import torch

from rmtc.errors import InvalidInput


def select_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Resolve a device request.

    Args:
        spec: ``"auto"`` or ``None`` (the first CUDA device when one is present, else the CPU),
            ``"cpu"``, ``"cuda"`` or ``"cuda:N"``, or a :class:`torch.device`.

    Raises:
        InvalidInput: the request names a device this machine does not have.
    """
    if spec is None or spec == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as exc:
        raise InvalidInput(f"unknown device {spec!r}", hint='use "auto", "cpu", "cuda" or "cuda:N"') from exc
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise InvalidInput(f"device {spec!r} is not supported", hint='use "auto", "cpu", "cuda" or "cuda:N"')
    if not torch.cuda.is_available():
        raise InvalidInput(f"device {spec!r} was asked for but no CUDA device is present", hint='use "auto"')
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise InvalidInput(
            f"device {spec!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)",
            hint='use "cuda:0" or "auto"',
        )
    return device
