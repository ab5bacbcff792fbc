from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import save_file

from rmtc.errors import InvalidInput, NotFound
from rmtc.ml.nets import NetConfig, build_model
from rmtc.ml.weights import describe, load_model, read_weights_metadata, save_weights


def _same_outputs(a, b) -> bool:
    x = torch.rand(1, a.in_channels, 24, 24)
    with torch.no_grad():
        return torch.equal(a.eval()(x), b.eval()(x))


def test_saved_weights_rebuild_the_same_model_with_nothing_else(tmp_path):
    model = build_model(NetConfig(in_channels=4, out_channels=1, scale=2, hdr="none"))
    path = save_weights(model, tmp_path / "w.safetensors", {"run": "r1"})
    loaded = load_model(path)
    assert loaded.config == model.config
    assert _same_outputs(model, loaded)
    meta = read_weights_metadata(path)
    assert meta["format"] == "rmtc.Weights/1" and meta["run"] == "r1"
    assert describe(path)["parameters"] == sum(p.numel() for p in model.parameters())


def test_the_file_is_safetensors_not_pickle(tmp_path):
    path = save_weights(build_model(NetConfig()), tmp_path / "w.safetensors")
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    assert "__metadata__" in header
    assert not raw.startswith(b"PK") and b"\x80\x02" not in raw[:2]


def test_when_foreign_weights_name_an_architecture_then_the_config_comes_from_their_shapes(tmp_path):
    model = build_model(NetConfig(in_channels=3, out_channels=1))
    path = tmp_path / "foreign.safetensors"
    save_file({k: v.contiguous() for k, v in model.net.state_dict().items()}, str(path))
    loaded = load_model(path, architecture="unet")
    assert (loaded.config.in_channels, loaded.config.out_channels) == (3, 1)
    assert torch.equal(loaded.net.head.weight, model.net.head.weight)


def test_when_foreign_weights_name_no_architecture_then_invalid_input_asks_for_one(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(InvalidInput, match="does not say which architecture") as err:
        load_model(path)
    assert "unet" in (err.value.hint or "")


def test_when_tensors_do_not_fit_the_config_then_the_message_lists_them(tmp_path):
    model = build_model(NetConfig(in_channels=3, out_channels=3))
    path = tmp_path / "w.safetensors"
    state = {k: v.contiguous() for k, v in model.net.state_dict().items()}
    state["extra.weight"] = torch.zeros(1)
    del state["head.bias"]
    save_file(state, str(path))
    with pytest.raises(InvalidInput, match=r"missing: head\.bias.*unexpected: extra\.weight"):
        load_model(path, config=NetConfig(in_channels=3, out_channels=3))
    with pytest.raises(InvalidInput, match="wrong shape"):
        load_model(path, config=NetConfig(in_channels=4, out_channels=3))


def test_when_the_file_is_not_safetensors_then_invalid_input_and_missing_is_not_found(tmp_path):
    bad = tmp_path / "model.pth"
    bad.write_bytes(b"\x80\x04\x95 not safetensors at all")
    with pytest.raises(InvalidInput, match="not a readable safetensors file"):
        load_model(bad, architecture="unet")
    with pytest.raises(NotFound):
        load_model(tmp_path / "nope.safetensors")
