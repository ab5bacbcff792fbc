"""Running an ONNX image-to-image model with onnxruntime, as a module tiled inference can drive.

``rmtc infer MODEL --variant onnx`` runs a model version's ONNX variant instead of its PyTorch weights,
to check on real frames what a deployment through onnxruntime would produce. The session is wrapped in
an :class:`torch.nn.Module` with no parameters so :func:`rmtc.ml.infer.infer_sequence` treats it like any
other model: tensors in, tensors out, tile origins aligned on ``multiple`` (the network's downsampling
factor, taken from the config the converter recorded), so tiles split where the PyTorch model's would.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rmtc.errors import InvalidInput

CUDA_PROVIDER = "CUDAExecutionProvider"


class OnnxModel(nn.Module):
    """An onnxruntime session over a model taking one float ``N x C x H x W`` tensor and returning one.

    Args:
        path: the ``.onnx`` file (weights embedded).
        multiple: tile origins must be multiples of this (1 when unknown).
        in_channels: the channel count the model takes (0 when unknown).
        device: ``cuda`` uses onnxruntime's CUDA provider when it is installed; otherwise the CPU.

    Raises:
        InvalidInput: onnxruntime cannot load the file, or it does not take exactly one input.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, multiple: int = 1, in_channels: int = 0, device: str = "cpu"
    ):
        super().__init__()
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and CUDA_PROVIDER in ort.get_available_providers():
            providers.insert(0, CUDA_PROVIDER)
        try:
            self.session: Any = ort.InferenceSession(str(Path(path)), providers=providers)
        except Exception as exc:  # onnxruntime raises its own, unexported, error types
            raise InvalidInput(
                f"onnxruntime cannot load {Path(path).name}: {str(exc).splitlines()[0][:200]}",
                hint="re-export it with `rmtc convert WEIGHTS --to onnx`",
            ) from exc
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise InvalidInput(
                f"{Path(path).name} takes {len(inputs)} inputs; an image-to-image model takes one",
                hint="export a model with one NCHW input",
            )
        self.input_name: str = inputs[0].name
        self.multiple = max(1, int(multiple))
        self.in_channels = int(in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        data = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        out = self.session.run(None, {self.input_name: data})[0]
        return torch.from_numpy(np.asarray(out, dtype=np.float32)).to(x.device, x.dtype)
