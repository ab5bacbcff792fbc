"""Fixtures of the Nuke integration tests: the ``nuke`` stand-in, and a published model version."""

from __future__ import annotations

import sys

import pytest
import torch

from .fake_nuke import FakeNuke


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def nuke(monkeypatch):
    """The stand-in, importable as ``nuke`` (as generated scripts and menu.py import it)."""
    fake = FakeNuke()
    monkeypatch.setitem(sys.modules, "nuke", fake)
    return fake


@pytest.fixture(scope="session")
def weights_path(tmp_path_factory):
    """Untrained weights of a small 3 -> 1 U-Net: export and render tests need a model, not a good one."""
    from rmtc.ml.nets import NetConfig, build_model
    from rmtc.ml.weights import save_weights

    torch.manual_seed(0)
    model = build_model(NetConfig(in_channels=3, out_channels=1))
    return save_weights(model, tmp_path_factory.mktemp("w") / "matte.safetensors")


@pytest.fixture
def project(project_dir):
    import rmtc

    with rmtc.open(project_dir) as t:
        yield t


@pytest.fixture
def version(project, weights_path):
    """``matte@1`` (alias production), published with its TorchScript, under a licence for inference."""
    from rmtc.services.ml import ML

    project.parties.add_license("eula", grants=["inference", "derivatives"])
    weights = ML(project).models.push(weights_path, name="matte-src", license="eula").weights
    return ML(project).publisher.publish(weights, "matte", alias="production")
