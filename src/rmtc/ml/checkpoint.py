"""Checkpoints that resume training exactly, stored without pickle and checked before use.

A checkpoint is a directory::

    ckpt-000500/
      manifest.json          format label, step, BLAKE3 hash and size of every other file, own digest
      weights.safetensors    the model (its config in the header, see rmtc.ml.weights)
      optimizer.safetensors  the optimizer's tensors (AdamW moments and step counts)
      rng.safetensors        torch's CPU (and CUDA) generator states and the data sampler's generator
      state.json             optimizer hyper-parameters, NumPy and Python RNG states, trainer state

The directory is written under a temporary name and renamed into place, so it exists whole or not at
all. Loading re-hashes every file first: a truncated file, a flipped byte or a missing part raises
:class:`~rmtc.errors.IntegrityError` naming the file, before any of it is used.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from torch import Tensor

from rmtc.core.hashing import hash_bytes
from rmtc.errors import IntegrityError, InvalidInput, NotFound
from rmtc.ml.nets import ImageModel, NetConfig
from rmtc.ml.weights import safetensors_bytes, weights_bytes

CHECKPOINT_FORMAT: Final = "rmtc.Checkpoint/1"
MANIFEST: Final = "manifest.json"
PARTS: Final = ("weights.safetensors", "optimizer.safetensors", "rng.safetensors", "state.json")


@dataclass(frozen=True, slots=True)
class LoadedCheckpoint:
    """A verified checkpoint: apply it with :func:`restore_into`."""

    path: Path
    step: int
    config: NetConfig
    weights: dict[str, Tensor]
    optimizer: dict[str, Any]
    rng: dict[str, Any]
    trainer: dict[str, Any]


def save_checkpoint(
    directory: str | os.PathLike[str],
    *,
    model: ImageModel,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    step: int,
    trainer: dict[str, Any],
) -> Path:
    """Write a checkpoint directory atomically; an existing one of the same name is replaced.

    Args:
        directory: the checkpoint's path (e.g. ``run/checkpoints/ckpt-000500``).
        generator: the data sampler's generator; torch's, NumPy's and Python's global RNGs are saved too.
        trainer: JSON-able trainer state (recipe, data fingerprint, best metrics...).
    """
    final = Path(directory)
    final.parent.mkdir(parents=True, exist_ok=True)
    opt_tensors, opt_json = _flatten_optimizer(optimizer.state_dict())
    rng_tensors, rng_json = _capture_rng(generator)
    state = {
        "step": step,
        "config": model.config.to_dict(),
        "optimizer": opt_json,
        "rng": rng_json,
        "trainer": trainer,
    }
    blobs = {
        "weights.safetensors": weights_bytes(model, {"step": str(step)}),
        "optimizer.safetensors": safetensors_bytes(opt_tensors, {"format": CHECKPOINT_FORMAT}),
        "rng.safetensors": safetensors_bytes(rng_tensors, {"format": CHECKPOINT_FORMAT}),
        "state.json": json.dumps(state, sort_keys=True, allow_nan=False).encode(),
    }
    body = {
        "format": CHECKPOINT_FORMAT,
        "step": step,
        "files": {name: {"blake3": hash_bytes(data), "size": len(data)} for name, data in blobs.items()},
    }
    blobs[MANIFEST] = json.dumps({**body, "digest": _digest(body)}, sort_keys=True, indent=1).encode()
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        for name, data in blobs.items():
            with (tmp / name).open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if final.exists():
            shutil.rmtree(final)
        tmp.replace(final)
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def verify_checkpoint(directory: str | os.PathLike[str]) -> dict[str, bytes]:
    """Read every part of a checkpoint and check it against the manifest; returns the parts' bytes.

    Raises:
        NotFound: no such directory. InvalidInput: not a checkpoint directory, or one written by a newer
            rmtc. IntegrityError: the manifest or a part is missing, truncated or altered (names the file).
    """
    root = Path(directory)
    if not root.exists():
        raise NotFound(f"no checkpoint at {root}", hint="check the path")
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a checkpoint directory", hint="give the ckpt-NNNNNN directory")
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise IntegrityError(
            f"checkpoint {root} has no {MANIFEST}: it is incomplete or not a checkpoint",
            hint="resume from another checkpoint",
            details={"file": str(manifest_path)},
        )
    manifest = _read_manifest(manifest_path)
    parts: dict[str, bytes] = {}
    for name in PARTS:
        path = root / name
        entry = manifest["files"].get(name)
        if not isinstance(entry, dict):
            raise IntegrityError(
                f"{manifest_path} does not list {name}", details={"file": str(manifest_path)}
            )
        if not path.is_file():
            raise IntegrityError(
                f"checkpoint part {path} is missing",
                hint="resume from another checkpoint",
                details={"file": str(path)},
            )
        data = path.read_bytes()
        if len(data) != entry.get("size"):
            raise IntegrityError(
                f"checkpoint part {path} is {len(data)} bytes, the manifest says {entry.get('size')}: "
                "truncated or altered",
                hint="resume from another checkpoint",
                details={"file": str(path)},
            )
        if hash_bytes(data) != entry.get("blake3"):
            raise IntegrityError(
                f"checkpoint part {path} does not match its recorded BLAKE3 hash: its bytes were altered",
                hint="resume from another checkpoint",
                details={"file": str(path)},
            )
        parts[name] = data
    return parts


def load_checkpoint(directory: str | os.PathLike[str]) -> LoadedCheckpoint:
    """Verify (see :func:`verify_checkpoint`) and decode a checkpoint; nothing is applied yet."""
    root = Path(directory)
    parts = verify_checkpoint(root)
    try:
        weights = st_load(parts["weights.safetensors"])
        opt_tensors = st_load(parts["optimizer.safetensors"])
        rng_tensors = st_load(parts["rng.safetensors"])
        state = json.loads(parts["state.json"])
        config = NetConfig.from_dict(state["config"])
        step = int(state["step"])
        optimizer = _unflatten_optimizer(opt_tensors, state["optimizer"])
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(
            f"checkpoint {root} passed its hash check but cannot be decoded: {exc}",
            hint="it was written by an incompatible rmtc; resume from another checkpoint",
            details={"file": str(root)},
        ) from exc
    return LoadedCheckpoint(
        root, step, config, weights, optimizer, {**state["rng"], **rng_tensors}, state["trainer"]
    )


def restore_into(
    ckpt: LoadedCheckpoint, model: ImageModel, optimizer: torch.optim.Optimizer, generator: torch.Generator
) -> None:
    """Load weights, optimizer state and every RNG state of ``ckpt`` into live objects."""
    model.load_state_dict(ckpt.weights, strict=True)
    optimizer.load_state_dict(ckpt.optimizer)
    generator.set_state(ckpt.rng["generator"])
    torch.set_rng_state(ckpt.rng["torch_cpu"])
    cuda = sorted(k for k in ckpt.rng if k.startswith("torch_cuda_"))
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([ckpt.rng[k] for k in cuda])
    kind, keys, pos, has_gauss, cached = ckpt.rng["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = ckpt.rng["python"]
    random.setstate((version, tuple(internal), gauss))


def _capture_rng(generator: torch.Generator) -> tuple[dict[str, Tensor], dict[str, Any]]:
    tensors = {"generator": generator.get_state(), "torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i:02d}"] = s
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return tensors, {
        "numpy": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss],
    }


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"{pid}/{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, Tensor], data: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        pid, key = name.split("/", 1)
        state.setdefault(int(pid), {})[key] = value
    for pid, extra in data["scalars"].items():
        state.setdefault(int(pid), {}).update(extra)
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
        for g in data["param_groups"]
    ]
    return {"state": dict(sorted(state.items())), "param_groups": groups}


def _digest(body: dict[str, Any]) -> str:
    return hash_bytes(json.dumps(body, sort_keys=True).encode())


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_bytes())
        body = {k: v for k, v in manifest.items() if k != "digest"}
        ok = isinstance(manifest, dict) and manifest.get("digest") == _digest(body)
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        ok, manifest = False, {}
    if not ok:
        raise IntegrityError(
            f"checkpoint manifest {path} is damaged: it does not match its own digest",
            hint="resume from another checkpoint",
            details={"file": str(path)},
        )
    if manifest.get("format") != CHECKPOINT_FORMAT:
        raise InvalidInput(
            f"{path} is a {manifest.get('format')!r} checkpoint; this rmtc reads {CHECKPOINT_FORMAT!r}",
            hint="upgrade rmtc",
        )
    if not isinstance(manifest.get("files"), dict):
        raise IntegrityError(f"checkpoint manifest {path} lists no files", details={"file": str(path)})
    return manifest  # type: ignore[no-any-return]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_checkpoints(directory: str | os.PathLike[str]) -> list[Path]:
    """The ``ckpt-NNNNNN`` directories under ``directory``, oldest step first."""
    root = Path(directory)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("ckpt-*") if p.is_dir() and p.name[5:].isdigit())
