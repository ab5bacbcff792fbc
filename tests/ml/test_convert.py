from __future__ import annotations

import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from rmtc.errors import InvalidInput, NotFound
from rmtc.ml.convert import export_nuke_torchscript, export_onnx, onnx_exporters
from rmtc.ml.nets import NetConfig, build_model
from rmtc.ml.nukecheck import check_nuke_contract, default_nuke_channels
from rmtc.ml.plugins import onnx_converter, torchscript_converter
from rmtc.ml.torchscript import KNOBS, load_torchscript, probe_input, quiet_jit
from rmtc.ml.weights import save_weights

#: Ops that make a tensor from nothing: each would need the input's device and dtype passed by hand.
FACTORIES = ("aten::zeros(", "aten::ones(", "aten::empty(", "aten::full(", "aten::tensor(", "aten::arange(")


@pytest.fixture(scope="module")
def upres(tmp_path_factory):
    """A 3 -> 1 channel 2x model, its weights file and its Nuke TorchScript export."""
    root = tmp_path_factory.mktemp("convert")
    model = build_model(NetConfig(in_channels=3, out_channels=1, scale=2)).eval()
    weights = save_weights(model, root / "w.safetensors")
    conversion = export_nuke_torchscript(weights, root / "model.pt", extra={"model_version": "mv-1"})
    return model, weights, conversion


def test_the_nuke_export_records_channels_scale_knobs_and_nuke_version(upres):
    _, _, conversion = upres
    meta = conversion.metadata
    assert (meta["in_channels"], meta["out_channels"], meta["scale"]) == (3, 1, 2)
    assert meta["channels_in"] == ["rgba.red", "rgba.green", "rgba.blue"] and meta["channels_out"] == [
        "rgba.alpha"
    ]
    assert meta["min_nuke_version"] == "15.1" and meta["model_version"] == "mv-1"
    assert meta["checks"]["sizes"] == [[64, 64], [45, 77]] and meta["checks"]["max_abs_diff"] <= 1e-4
    _, embedded = load_torchscript(conversion.path)
    assert embedded["format"] == "rmtc.NukeModel/1" and embedded["knobs"] == KNOBS


def test_the_scripted_file_runs_at_two_resolutions_like_the_eager_model(upres):
    model, _, conversion = upres
    scripted, _ = load_torchscript(conversion.path)
    for h, w in [(32, 48), (51, 29)]:
        x = probe_input(3, (h, w))
        with torch.no_grad():
            got, want = scripted(x), model(x)
        assert got.shape == (1, 1, 2 * h, 2 * w)
        assert torch.allclose(got, want, atol=1e-5)


def test_half_precision_on_cpu_returns_half_close_to_float(upres):
    model, _, conversion = upres
    assert conversion.metadata["checks"]["half_precision"] == "checked"
    scripted, _ = load_torchscript(conversion.path)
    scripted = scripted.half()
    x = probe_input(3, (40, 40))
    with torch.no_grad():
        got, want = scripted(x.half()), model(x)
    assert got.dtype == torch.float16
    assert (got.float() - want).abs().max() < 5e-2


def test_knobs_are_plain_attributes_without_dots_and_no_tensor_is_made_from_nothing(upres):
    _, _, conversion = upres
    contract = check_nuke_contract(conversion.path)
    assert contract.knobs == {k: type(v).__name__ for k, v in KNOBS.items()}
    assert all("." not in name for name in contract.knobs)
    scripted, _ = load_torchscript(conversion.path)
    graph = str(scripted.inlined_graph)
    assert not [op for op in FACTORIES if op in graph]


def test_knobs_change_the_result_as_documented(upres):
    _, _, conversion = upres
    scripted, _ = load_torchscript(conversion.path)
    x = probe_input(3, (16, 16))
    x[0, 0, 0, 0] = float("nan")
    x[0, 1, 0, 0] = float("inf")
    assert bool(torch.isfinite(scripted(x)).all())
    scripted.clamp_output = 1
    scripted.output_max = 0.25
    assert float(scripted(x).max()) <= 0.25


def test_the_contract_check_reports_a_good_file(upres):
    _, _, conversion = upres
    contract = check_nuke_contract(conversion.path)
    assert (contract.in_channels, contract.out_channels, contract.scale) == (3, 1, 2)
    assert contract.half_precision is True and contract.notes == []


class TwoInputs(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x + y


class TupleOut(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, x


class FrozenSize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.ones(1, 1, 64, 64)


class TooMany(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat(1, 7, 1, 1)


def _scripted(module: nn.Module):
    with quiet_jit():
        return torch.jit.script(module)


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (TwoInputs(), r"forward\(x: Tensor, y: Tensor\) -> Tensor does not fit Nuke"),
        (TupleOut(), r"-> \(Tensor, Tensor\) does not fit Nuke|-> Tuple"),
        (FrozenSize(), "runs at 64x64 but fails at 77x45"),
        (TooMany(), "returns 21 channels; Nuke maps 1 to 19"),
    ],
)
def test_when_a_torchscript_breaks_the_nuke_contract_then_invalid_input_says_how(module, message, tmp_path):
    path = tmp_path / "foreign.pt"
    with quiet_jit():
        torch.jit.save(_scripted(module), str(path))
    with pytest.raises(InvalidInput, match=message):
        check_nuke_contract(path)


def test_a_foreign_file_without_metadata_is_probed_for_its_channels(tmp_path):
    path = tmp_path / "foreign.pt"
    with quiet_jit():
        torch.jit.save(_scripted(nn.Conv2d(4, 2, 3, padding=1)), str(path))
    contract = check_nuke_contract(path)
    assert (contract.in_channels, contract.out_channels, contract.scale) == (4, 2, 1)
    assert any("no rmtc metadata" in note for note in contract.notes)


def test_when_the_file_is_not_torchscript_then_invalid_input_and_missing_is_not_found(upres, tmp_path):
    _, weights, _ = upres
    with pytest.raises(InvalidInput, match="is not a TorchScript file"):
        check_nuke_contract(weights)
    with pytest.raises(NotFound):
        check_nuke_contract(tmp_path / "nope.pt")


def test_when_nuke_cannot_map_the_channel_count_then_export_is_refused(tmp_path):
    model = build_model(NetConfig(in_channels=3, out_channels=20))
    with pytest.raises(InvalidInput, match="Nuke cannot take a model with 20 output channel"):
        export_nuke_torchscript(model, tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(InvalidInput, match="cannot map 20"):
        default_nuke_channels(20, output=True)


def test_onnx_legacy_export_matches_pytorch_at_two_resolutions(upres, tmp_path):
    _, weights, _ = upres
    conversion = export_onnx(weights, tmp_path / "m.onnx", exporter="legacy")
    meta = conversion.metadata
    assert meta["exporter"] == "legacy" and meta["max_abs_diff"] < 1e-4
    proto = onnx.load(str(conversion.path), load_external_data=False)
    assert not [t for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    session = ort.InferenceSession(str(conversion.path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": probe_input(3, (20, 36)).numpy()})[0]
    assert out.shape == (1, 1, 40, 72)


@pytest.mark.skipif("dynamo" not in onnx_exporters(), reason="the dynamo exporter needs onnxscript")
def test_onnx_dynamo_export_matches_pytorch(tmp_path):
    model = build_model(NetConfig(in_channels=2, out_channels=2, residual=True))
    conversion = export_onnx(model, tmp_path / "m.onnx", exporter="dynamo", check_sizes=((32, 32), (24, 40)))
    assert conversion.metadata["exporter"] == "dynamo" and conversion.metadata["max_abs_diff"] < 1e-4


def test_converters_come_from_light_factories(upres, tmp_path):
    _, weights, _ = upres
    ts = torchscript_converter()
    assert (ts.name, ts.suffix, onnx_converter().suffix) == ("torchscript", ".pt", ".onnx")
    conversion = ts.convert(weights, tmp_path / "again.pt")
    assert ts.validate(conversion.path)["in_channels"] == 3
