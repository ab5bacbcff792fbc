"""Entry-point factories of the ML core: light, so scanning a plug-in group imports no torch.

Register in ``pyproject.toml``::

    [project.entry-points."rmtc.converters"]
    torchscript = "rmtc.ml.plugins:torchscript_converter"
    onnx = "rmtc.ml.plugins:onnx_converter"

    [project.entry-points."rmtc.trainers"]
    image-to-image = "rmtc.ml.plugins:image_to_image_trainer"

    [project.entry-points."rmtc.inferers"]
    tiled = "rmtc.ml.plugins:tiled_inferer"

Each factory imports its implementation when called; a missing ``ml`` extra then fails there, where
the registry records it as a load failure that ``rmtc plugins`` shows.
"""

from __future__ import annotations

from typing import Any


def torchscript_converter() -> Any:
    """A :class:`rmtc.ml.convert.TorchScriptConverter`: weights -> Nuke-ready TorchScript."""
    from rmtc.ml.convert import TorchScriptConverter

    return TorchScriptConverter()


def onnx_converter() -> Any:
    """A :class:`rmtc.ml.convert.OnnxConverter`: weights -> ONNX checked with onnxruntime."""
    from rmtc.ml.convert import OnnxConverter

    return OnnxConverter()


def image_to_image_trainer() -> Any:
    """The :class:`rmtc.ml.train.Trainer` class: build with ``(recipe, source, out_dir, ...)``."""
    from rmtc.ml.train import Trainer

    return Trainer


def tiled_inferer() -> Any:
    """A :class:`rmtc.ml.infer.TiledInferer`."""
    from rmtc.ml.infer import TiledInferer

    return TiledInferer()
