"""Converters: weights to TorchScript for Nuke, and to ONNX, each checked against the eager model.

A conversion is recorded by the services as a ``variant_of`` its source weights; the
:class:`Conversion` it returns carries what they record: channel counts, scale, the minimum Nuke
version, which exporter ran, and the largest difference from PyTorch that the checks measured.

Converters are found through the ``rmtc.converters`` entry-point group; the factories live in
:mod:`rmtc.ml.plugins` so that scanning the group imports no torch.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import torch
from torch import nn

from rmtc.errors import InvalidInput
from rmtc.ml.nets import ImageModel
from rmtc.ml.nukecheck import check_nuke_contract, default_nuke_channels
from rmtc.ml.torchscript import (
    KNOBS,
    MIN_NUKE_VERSION,
    NUKE_MODEL_FORMAT,
    NukeModel,
    load_torchscript,
    probe,
    probe_input,
    script_for_nuke,
    serialize,
)
from rmtc.ml.weights import atomic_write, load_model

CHECK_SIZES: Final = ((64, 64), (45, 77))


@dataclass(frozen=True, slots=True)
class Conversion:
    """A converted file and the facts a conversion records."""

    format: str
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)


def _as_model(source: ImageModel | str | os.PathLike[str]) -> ImageModel:
    model = load_model(source) if not isinstance(source, nn.Module) else source
    if not isinstance(model, ImageModel):
        raise InvalidInput(
            f"cannot convert a {type(model).__name__}", hint="give an rmtc ImageModel or its weights file"
        )
    return copy.deepcopy(model).to("cpu", torch.float32).eval()


def export_nuke_torchscript(
    source: ImageModel | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    check_sizes: Sequence[tuple[int, int]] = CHECK_SIZES,
    tolerance: float = 1e-4,
    half_tolerance: float = 5e-2,
    extra: dict[str, Any] | None = None,
) -> Conversion:
    """Script a model for Nuke (see :mod:`rmtc.ml.torchscript`), check it, and write the ``.pt``.

    Checks, before anything is written: the serialised module, loaded back, runs at every size in
    ``check_sizes`` (at least two, so a resolution baked in is caught) and matches the eager wrapper
    within ``tolerance`` (relative to the output's magnitude); then in half precision (what Nuke's
    "Optimize for Speed and Memory" does), where the CPU supports it, returning half tensors.

    Args:
        source: a model or a weights file.
        extra: more metadata for the file's ``rmtc.json`` (e.g. the weights' hash, the model version).

    Raises:
        InvalidInput: the model cannot be scripted, Nuke cannot take its channel counts, or a check failed.
    """
    if len(check_sizes) < 2:
        raise InvalidInput("check at two resolutions at least", hint="give two check_sizes")
    model = _as_model(source)
    cin, cout, scale = model.in_channels, model.out_channels, model.scale
    scripted = script_for_nuke(model, cin, cout, scale)
    meta = {
        "format": NUKE_MODEL_FORMAT,
        "in_channels": cin,
        "out_channels": cout,
        "scale": scale,
        "channels_in": list(default_nuke_channels(cin, output=False)),
        "channels_out": list(default_nuke_channels(cout, output=True)),
        "knobs": dict(KNOBS),
        "min_nuke_version": MIN_NUKE_VERSION,
        "torch": torch.__version__,
        "config": model.config.to_dict(),
        **(extra or {}),
    }
    data = serialize(scripted, meta)
    loaded, _ = load_torchscript(data)
    eager = NukeModel(model, cin, cout, scale).eval()
    diffs = []
    for size in check_sizes:
        want = probe(eager, cin, size)
        got = probe(loaded, cin, size)
        if got.shape != (1, cout, size[0] * scale, size[1] * scale) or got.shape != want.shape:
            raise InvalidInput(
                f"the scripted model gives {tuple(got.shape)} at {size[1]}x{size[0]}, expected "
                f"{(1, cout, size[0] * scale, size[1] * scale)}",
                hint="the model must work at any resolution",
            )
        diff = float((got - want).abs().max())
        if not diff <= tolerance * max(1.0, float(want.abs().max())):
            raise InvalidInput(
                f"the scripted model differs from PyTorch by {diff:.3g} at {size[1]}x{size[0]}",
                hint="check the model for Python-only behaviour that scripting changes",
            )
        diffs.append(diff)
    half_diff = _check_half(data, eager, cin, check_sizes[0], half_tolerance)
    out = Path(path)
    atomic_write(out, data)
    checks = {
        "sizes": [list(s) for s in check_sizes],
        "max_abs_diff": max(diffs),
        "half_max_abs_diff": half_diff,
        "half_precision": "checked" if half_diff is not None else "not supported by this CPU's PyTorch",
    }
    return Conversion("torchscript", out, {**meta, "checks": checks})


def _check_half(
    data: bytes, eager: nn.Module, cin: int, size: tuple[int, int], tolerance: float
) -> float | None:
    module, _ = load_torchscript(data)
    module = module.half()
    try:
        got = probe(module, cin, size, torch.float16)
    except RuntimeError as exc:
        if "Half" in str(exc) and "not implemented" in str(exc):
            return None
        raise InvalidInput(
            f"the scripted model fails in half precision: {str(exc).splitlines()[0]}",
            hint="create every tensor with the input's dtype and device",
        ) from exc
    if got.dtype != torch.float16:
        raise InvalidInput(
            f"in half precision the scripted model returns {got.dtype}: it makes tensors of its own dtype",
            hint="create every tensor with dtype=x.dtype, device=x.device",
        )
    want = probe(eager, cin, size)
    diff = float((got.float() - want).abs().max())
    if not diff <= tolerance * max(1.0, float(want.abs().max())):
        raise InvalidInput(
            f"in half precision the scripted model is off by {diff:.3g}", hint="check its range"
        )
    return diff


def onnx_exporters() -> list[str]:
    """The ONNX exporters this installation can run: ``dynamo`` needs the onnxscript package."""
    found = ["legacy"]
    if importlib.util.find_spec("onnxscript") is not None:
        found.insert(0, "dynamo")
    return found


def export_onnx(
    source: ImageModel | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    exporter: Literal["auto", "dynamo", "legacy"] = "auto",
    opset: int = 18,
    check_sizes: Sequence[tuple[int, int]] = CHECK_SIZES,
    tolerance: float = 1e-4,
) -> Conversion:
    """Export a model to ONNX with height and width dynamic, check it with onnxruntime, write it.

    ``auto`` uses torch.export's exporter (``dynamo``) when onnxscript is installed, else the legacy
    TorchScript-based one (deprecated in PyTorch 2.9, still correct here). Weights are embedded (no
    external data files). The largest absolute difference from PyTorch over ``check_sizes`` is recorded
    and must stay within ``tolerance`` relative to the output's magnitude.

    Raises:
        InvalidInput: the export fails, or onnxruntime's result differs from PyTorch's.
    """
    import onnx
    import onnxruntime as ort

    model = _as_model(source)
    cin = model.in_channels
    chosen = onnx_exporters()[0] if exporter == "auto" else exporter
    if chosen not in onnx_exporters():
        raise InvalidInput(f"the {chosen} ONNX exporter is not available", hint="pip install onnxscript")
    h0, w0 = check_sizes[0]
    sample = probe_input(cin, (h0, w0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            data = _export_bytes(model, sample, chosen, opset)
        except Exception as exc:  # the exporters raise many types
            raise InvalidInput(
                f"ONNX export ({chosen}) failed: {_first_line(exc)}",
                hint="try exporter='legacy' or another opset",
            ) from exc
    onnx.checker.check_model(onnx.load_from_string(data))
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    diffs = []
    for size in check_sizes:
        x = probe_input(cin, size)
        with torch.no_grad():
            want = model(x).numpy()
        got = session.run(None, {name: x.numpy()})[0]
        if got.shape != want.shape:
            raise InvalidInput(
                f"the ONNX model gives {got.shape} at {size[1]}x{size[0]}, PyTorch {want.shape}"
            )
        diff = float(np.abs(got - want).max())
        if not diff <= tolerance * max(1.0, float(np.abs(want).max())):
            raise InvalidInput(f"the ONNX model differs from PyTorch by {diff:.3g} at {size[1]}x{size[0]}")
        diffs.append(diff)
    out = Path(path)
    atomic_write(out, data)
    meta = {
        "in_channels": cin,
        "out_channels": model.out_channels,
        "scale": model.scale,
        "exporter": chosen,
        "opset": opset,
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "max_abs_diff": max(diffs),
        "check_sizes": [list(s) for s in check_sizes],
        "exporter_warnings": sorted({str(w.message).splitlines()[0][:200] for w in caught}),
        "config": model.config.to_dict(),
    }
    return Conversion("onnx", out, meta)


def _export_bytes(model: nn.Module, sample: torch.Tensor, exporter: str, opset: int) -> bytes:
    names = {"input_names": ["input"], "output_names": ["output"], "opset_version": opset}
    if exporter == "legacy":
        buf = io.BytesIO()
        axes = {"input": {2: "height", 3: "width"}, "output": {2: "out_height", 3: "out_width"}}
        torch.onnx.export(model, (sample,), buf, dynamo=False, dynamic_axes=axes, **names)  # type: ignore[arg-type]
        return buf.getvalue()
    dims = {"x": {2: torch.export.Dim("height", min=1), 3: torch.export.Dim("width", min=1)}}
    registry_log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry_log.level
    registry_log.setLevel(logging.ERROR)  # "torchvision is not installed": irrelevant to image models
    try:
        program = torch.onnx.export(
            model,
            (sample,),
            dynamo=True,
            dynamic_shapes=dims,
            external_data=False,
            verbose=False,
            **names,  # type: ignore[arg-type]
        )
    finally:
        registry_log.setLevel(level)
    if program is None or program.model_proto is None:
        raise RuntimeError("the exporter returned no model")
    return bytes(program.model_proto.SerializeToString())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class TorchScriptConverter:
    """The ``torchscript`` converter: weights -> Nuke-ready ``.pt`` (:func:`export_nuke_torchscript`)."""

    name = "torchscript"
    suffix = ".pt"

    def convert(
        self, source: ImageModel | str | os.PathLike[str], path: str | os.PathLike[str], **options: Any
    ) -> Conversion:
        return export_nuke_torchscript(source, path, **options)

    def validate(self, path: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
        return check_nuke_contract(path, **options).to_dict()


class OnnxConverter:
    """The ``onnx`` converter: weights -> ``.onnx`` checked with onnxruntime (see :func:`export_onnx`)."""

    name = "onnx"
    suffix = ".onnx"

    def convert(
        self, source: ImageModel | str | os.PathLike[str], path: str | os.PathLike[str], **options: Any
    ) -> Conversion:
        return export_onnx(source, path, **options)
