"""Weights as safetensors, never pickle: the file says which architecture and config it belongs to.

A weights file written here carries, in its safetensors header metadata, ``format`` =
:data:`WEIGHTS_FORMAT` and ``config`` = the :class:`~rmtc.ml.nets.NetConfig` as JSON, so
:func:`load_model` rebuilds the model with nothing else. A safetensors file from elsewhere (``rmtc model
push FILE --architecture unet``) has no such metadata: the architecture is named by the caller and the
config read from the tensor shapes.

Every safetensors file rmtc writes goes through :func:`safetensors_bytes`, which makes its bytes a
function of the tensors and metadata alone: the safetensors library serialises the header metadata from
a hash map whose order changes from one process to the next, so the same weights saved twice would
otherwise hash differently and never dedupe in the blob store.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import Tensor

from rmtc.errors import InvalidInput, NotFound
from rmtc.ml.nets import ARCHITECTURES, ImageModel, NetConfig, build_model

WEIGHTS_FORMAT: Final = "rmtc.Weights/1"


def weights_bytes(model: ImageModel, extra: Mapping[str, str] | None = None) -> bytes:
    """The safetensors bytes of a model's weights, with its config in the header.

    Tensors are copied to contiguous CPU memory; ``extra`` adds string metadata (e.g. the run id).
    """
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {"format": WEIGHTS_FORMAT, "config": model.config.to_json(), **dict(extra or {})}
    return safetensors_bytes(state, meta)


def safetensors_bytes(tensors: Mapping[str, Tensor], metadata: Mapping[str, str] | None = None) -> bytes:
    """Safetensors bytes that depend only on the tensors and the metadata: byte-identical for equal inputs.

    The data section is laid out by the safetensors library (largest alignment first, then by name,
    which is already deterministic); the JSON header is rewritten with every key sorted, compact
    separators and space padding to 8 bytes, as the format allows, so content hashes dedupe.
    """
    raw = st_save(dict(tensors), metadata=dict(metadata) if metadata else None)
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + raw[8 + size :]


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temp file beside it, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_weights(
    model: ImageModel, path: str | os.PathLike[str], extra: Mapping[str, str] | None = None
) -> Path:
    """Write the model's weights to ``path`` (safetensors, atomically); returns the path."""
    out = Path(path)
    atomic_write(out, weights_bytes(model, extra))
    return out


def read_weights_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The header metadata of a safetensors file, without reading its tensors.

    Raises:
        NotFound: no such file. InvalidInput: the file is not safetensors.
    """
    p = _existing(path)
    try:
        with safe_open(str(p), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidInput(
            f"{p} is not a readable safetensors file: {exc}", hint="give a .safetensors file"
        ) from exc


def load_state(path: str | os.PathLike[str]) -> tuple[dict[str, Tensor], dict[str, str]]:
    """All tensors of a safetensors file and its metadata (no code runs: safetensors holds only data)."""
    p = _existing(path)
    data = p.read_bytes()
    try:
        tensors = st_load(data)
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidInput(
            f"{p} is not a readable safetensors file: {exc}", hint="give a .safetensors file"
        ) from exc
    return tensors, meta


def load_model(
    path: str | os.PathLike[str],
    *,
    architecture: str | None = None,
    config: NetConfig | None = None,
    scale: int = 1,
) -> ImageModel:
    """Rebuild a model from a weights file.

    Args:
        path: a safetensors file.
        architecture: for files without rmtc metadata: the architecture name; the config is read from
            the tensor shapes (with ``scale``).
        config: for files without rmtc metadata: the full config (wins over ``architecture``).
        scale: the output scale, for a config read from shapes.

    Raises:
        InvalidInput: the file is not safetensors, names no architecture and none is given, or its tensors
            do not fit the architecture (the message lists the missing, unexpected or misshapen ones).
    """
    state, meta = load_state(path)
    if config is None and "config" in meta:
        try:
            config = NetConfig.from_dict(json.loads(meta["config"]))
        except (json.JSONDecodeError, TypeError) as exc:
            raise InvalidInput(
                f"{path}: the config in its metadata is not valid JSON", hint="re-export it"
            ) from exc
    prefixed = any(k.startswith("net.") for k in state)
    if config is None:
        if architecture is None:
            raise InvalidInput(
                f"{path} does not say which architecture its weights belong to",
                hint=f"name it (--architecture), one of: {', '.join(ARCHITECTURES)}",
            )
        if architecture not in ARCHITECTURES:
            raise InvalidInput(
                f"unknown architecture {architecture!r}", hint=f"use one of: {', '.join(ARCHITECTURES)}"
            )
        config = ARCHITECTURES[architecture].infer_config(state, "net." if prefixed else "", scale)
    model = build_model(config)
    target = model if prefixed else model.net
    _load_strict(target, state, str(path))
    return model


def _load_strict(module: torch.nn.Module, state: dict[str, Tensor], source: str) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshapen = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or misshapen:
        parts: list[str] = []
        for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshapen)):
            if names:
                shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                parts.append(f"{label}: {shown}")
        raise InvalidInput(
            f"{source}: the weights do not fit the architecture ({'; '.join(parts)})",
            hint="check the architecture name, size, channel counts and scale",
        )
    module.load_state_dict(state, strict=True)


def _existing(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"no weights file at {p}", hint="check the path")
    return p


def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a weights file holds: format, config (when recorded), tensor count and parameter count."""
    state, meta = load_state(path)
    config = json.loads(meta["config"]) if "config" in meta else None
    return {
        "format": meta.get("format"),
        "config": config,
        "tensors": len(state),
        "parameters": sum(t.numel() for t in state.values()),
    }
