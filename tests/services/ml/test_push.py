"""``model push``: models trained elsewhere become Model + Weights under their licence, checked first."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rmtc.core.entities import Model, Weights
from rmtc.core.kinds import Relation
from rmtc.errors import Conflict, InvalidInput, NotFound
from rmtc.ml.torchscript import quiet_jit
from rmtc.services.ml import ML


class TwoInputs(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x + y


class Wide(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _script(module, path):
    with quiet_jit():
        torch.jit.script(module).save(str(path))
    return path


@pytest.fixture
def licence(tracker):
    return tracker.parties.add_license("vendor-eula", grants=["inference", "derivatives"])


def test_when_torchscript_is_pushed_then_model_and_weights_are_governed_by_its_licence(
    tracker, licence, weights_file, tmp_path
):
    from rmtc.ml.convert import export_nuke_torchscript

    pt = export_nuke_torchscript(weights_file, tmp_path / "matte.pt").path
    pushed = ML(tracker).models.push(
        pt, name="vendor-matte", license="vendor-eula", source="https://example.com/m"
    )

    assert pushed.facts["format"] == "torchscript"
    assert (pushed.facts["in_channels"], pushed.facts["out_channels"], pushed.facts["scale"]) == (3, 1, 1)
    w, m = pushed.weights, pushed.model
    assert w.format == "torchscript" and w.attrs["source"] == "https://example.com/m"
    assert w.attrs["nuke"]["min_nuke_version"] == "15.1" and "mix" in w.attrs["nuke"]["knobs"]
    assert [x.id for x in tracker.neighbours(w, Relation.GOVERNED_BY)] == [licence.id]
    assert [x.id for x in tracker.neighbours(m, Relation.GOVERNED_BY)] == [licence.id]
    assert [x.id for x in tracker.neighbours(w, Relation.VERSION_OF)] == [m.id]
    assert tracker.rights.check(w, "inference").allows("inference")
    assert not tracker.rights.check(w, "training").allows("training")


def test_when_a_torchscript_has_the_wrong_signature_then_the_push_is_refused_with_the_reason(
    tracker, licence, tmp_path
):
    pt = _script(TwoInputs(), tmp_path / "two.pt")
    with pytest.raises(InvalidInput, match=r"forward\(x: Tensor, y: Tensor\) -> Tensor does not fit Nuke"):
        ML(tracker).models.push(pt, name="two", license="vendor-eula")
    assert tracker.find("weights").items == [] and tracker.find("model").items == []


def test_when_a_torchscript_returns_more_channels_than_nuke_maps_then_the_push_is_refused(
    tracker, licence, tmp_path
):
    pt = _script(Wide(3, 20), tmp_path / "wide.pt")
    with pytest.raises(InvalidInput, match="returns 20 channels; Nuke maps 1 to 19"):
        ML(tracker).models.push(pt, name="wide", license="vendor-eula", in_channels=3)


def test_when_a_torchscript_from_elsewhere_is_pushed_then_its_channels_are_probed(tracker, licence, tmp_path):
    pt = _script(Wide(4, 2), tmp_path / "grade.pt")
    pushed = ML(tracker).models.push(pt, name="grade", license="vendor-eula")
    assert (pushed.model.channels_in, pushed.model.channels_out) == (4, 2)


def test_when_onnx_is_pushed_then_its_metadata_is_read_without_running_it(
    tracker, licence, weights_file, tmp_path
):
    from rmtc.ml.convert import export_onnx

    path = export_onnx(weights_file, tmp_path / "matte.onnx", exporter="legacy").path
    pushed = ML(tracker).models.push(path, name="onnx-matte", license="vendor-eula")
    assert pushed.weights.format == "onnx" and pushed.model.framework == "onnx"
    assert (pushed.model.channels_in, pushed.model.channels_out) == (3, 1)
    assert pushed.weights.attrs["onnx"]["opsets"]["ai.onnx"] == 18


def test_when_onnx_keeps_weights_in_external_files_then_the_push_is_refused(
    tracker, licence, weights_file, tmp_path
):
    import onnx

    from rmtc.ml.convert import export_onnx

    path = export_onnx(weights_file, tmp_path / "m.onnx", exporter="legacy").path
    proto = onnx.load(str(path))
    out = tmp_path / "external" / "m.onnx"
    out.parent.mkdir()
    onnx.save(proto, str(out), save_as_external_data=True, location="w.bin", size_threshold=0)
    with pytest.raises(InvalidInput, match=r"keeps its weights in external files \(w\.bin\)"):
        ML(tracker).models.push(out, name="ext", license="vendor-eula")


def test_when_a_file_is_not_the_model_its_name_says_then_the_push_is_refused(tracker, licence, tmp_path):
    bad = tmp_path / "fake.onnx"
    bad.write_bytes(b"not a protobuf at all \xff\xff")
    with pytest.raises(InvalidInput, match="is not an ONNX model"):
        ML(tracker).models.push(bad, name="fake", license="vendor-eula")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(InvalidInput, match="cannot tell the model format"):
        ML(tracker).models.push(text, name="notes", license="vendor-eula")


def test_when_safetensors_lack_metadata_then_the_architecture_must_be_named(
    tracker, licence, weights_file, tmp_path
):
    from safetensors.torch import save_file

    from rmtc.ml.weights import load_state

    state, _ = load_state(weights_file)
    bare = tmp_path / "bare.safetensors"
    save_file({k.removeprefix("net."): v for k, v in state.items()}, str(bare))
    with pytest.raises(InvalidInput, match="does not say which architecture"):
        ML(tracker).models.push(bare, name="bare", license="vendor-eula")
    pushed = ML(tracker).models.push(bare, name="bare", license="vendor-eula", architecture="unet")
    assert pushed.weights.attrs["config"]["size"] == "small" and pushed.model.architecture == "unet"


def test_when_no_licence_is_recorded_then_the_push_is_refused(tracker, weights_file):
    with pytest.raises(NotFound, match="license:nobody-knows"):
        ML(tracker).models.push(weights_file, name="m", license="nobody-knows")
    assert tracker.find("weights").items == []


def test_when_a_model_name_is_reused_with_other_channels_then_it_is_a_conflict(
    tracker, licence, weights_file, tmp_path
):
    ML(tracker).models.push(weights_file, name="matte", license="vendor-eula")
    pt = _script(Wide(4, 2), tmp_path / "grade.pt")
    with pytest.raises(Conflict, match="model:matte takes 3 -> 1 channels"):
        ML(tracker).models.push(pt, name="matte", license="vendor-eula")
    weights = [w for w in tracker.find("weights").items if isinstance(w, Weights)]
    assert len(weights) == 1 and len([m for m in tracker.find("model").items if isinstance(m, Model)]) == 1
