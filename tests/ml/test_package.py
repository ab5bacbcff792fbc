"""The ML core as the rest of rmtc sees it: lazy imports, device choice, entry-point factories."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from rmtc.errors import InvalidInput
from rmtc.ml.device import select_device
from rmtc.ml.plugins import image_to_image_trainer, tiled_inferer
from rmtc.ml.train import Trainer


def test_importing_the_package_and_its_plugin_factories_imports_no_torch():
    code = "import sys, rmtc.ml, rmtc.ml.plugins; assert 'torch' not in sys.modules, 'torch imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_trainer_and_inferer_factories_return_the_implementations():
    assert image_to_image_trainer() is Trainer
    assert tiled_inferer().name == "tiled"


def test_auto_picks_cuda_when_present_and_the_cpu_otherwise():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected and select_device(None).type == expected
    assert select_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_it_is_a_clear_error():
    with pytest.raises(InvalidInput, match="no CUDA device is present"):
        select_device("cuda")


@pytest.mark.parametrize("spec", ["tpu", "mps", "cuda:x"])
def test_unknown_devices_are_refused(spec):
    with pytest.raises(InvalidInput):
        select_device(spec)
