"""``infer --variant``: a model version's ONNX variant runs through onnxruntime, on the same frames and
with the same tiling as its PyTorch weights; a variant the version lacks is refused before any frame."""

from __future__ import annotations

import numpy as np
import pytest

from rmtc.core.kinds import Kind
from rmtc.errors import InvalidInput
from rmtc.services.ml import ML
from rmtc.vfx.imageio import read_image


@pytest.fixture
def onnx_version(project, weights_file):
    project.parties.add_license("eula", grants=["inference", "derivatives"])
    weights = ML(project).models.push(weights_file, name="matte-src", license="eula").weights
    return ML(project).publisher.publish(weights, "matte", variants=["onnx"], exporter="legacy")


def test_when_the_onnx_variant_is_asked_for_then_onnxruntime_runs_it_and_matches_pytorch(
    project, onnx_version, footage, tmp_path
):
    ml, plates = ML(project), footage.sequence("plate").pattern
    assert set(onnx_version.variants) == {"safetensors", "onnx"}
    by_onnx = ml.inferences.run(
        "matte", input=plates, output=str(tmp_path / "o.####.exr"), frames="1005-1006",
        tile=32, overlap=8, variant="onnx",
    )  # fmt: skip
    by_torch = ml.inferences.run(
        "matte", input=plates, output=str(tmp_path / "t.####.exr"), frames="1005-1006", tile=32, overlap=8
    )
    assert by_onnx.inference.attrs["variant"] == "onnx"
    assert by_torch.inference.attrs["variant"] == "safetensors"
    for a, b in zip(by_onnx.outputs, by_torch.outputs, strict=True):
        x, y = read_image(a.uri), read_image(b.uri)
        assert x.metadata["rmtc/inference"] == str(by_onnx.inference.id)
        assert x.pixels.shape == y.pixels.shape == (40, 48, 1)
        assert np.abs(x.pixels.astype(np.float32) - y.pixels.astype(np.float32)).max() <= 2e-3


def test_when_a_variant_is_missing_then_inference_is_refused_naming_what_the_version_has(
    project, onnx_version, footage, tmp_path
):
    with pytest.raises(
        InvalidInput, match=r"matte@1 has no torchscript variant \(it has onnx, safetensors\)"
    ):
        ML(project).inferences.run(
            "matte", input=footage.sequence("plate").pattern, output=str(tmp_path / "o.####.exr"),
            frames="1005", variant="torchscript",
        )  # fmt: skip
    assert project.find(Kind.INFERENCE).items == []
    assert not (tmp_path / "o.1005.exr").exists()


def test_the_cli_runs_the_onnx_variant_when_asked(cli, weights_file, footage, tmp_path):
    cli("license", "add", "eula", "--grants", "inference", "--grants", "derivatives")
    pushed = cli.json("model", "push", weights_file, "--name", "src", "--license", "eula")
    cli("publish", pushed["weights"]["id"], "--name", "matte", "--variant", "onnx", "--exporter", "legacy")
    done = cli.json(
        "infer", "matte", "-i", footage.sequence("plate").pattern, "-o", tmp_path / "x.####.exr",
        "--frames", "1006", "--variant", "onnx",
    )  # fmt: skip
    assert done["inference"]["attrs"]["variant"] == "onnx" and len(done["outputs"]) == 1


def test_when_only_a_pushed_onnx_is_published_then_it_runs_when_asked_and_the_default_says_how(
    project, weights_file, footage, tmp_path
):
    from rmtc.ml.convert import export_onnx

    project.parties.add_license("eula", grants=["inference"])
    path = export_onnx(weights_file, tmp_path / "matte.onnx", exporter="legacy").path
    pushed = ML(project).models.push(path, name="onnx-src", license="eula").weights
    ML(project).publisher.publish(pushed, "bare-onnx")
    args = {"input": footage.sequence("plate").pattern, "frames": "1006", "tile": 32, "overlap": 8}
    with pytest.raises(InvalidInput, match=r"has only onnx variant\(s\)") as refused:
        ML(project).inferences.run("bare-onnx", output=str(tmp_path / "a.####.exr"), **args)
    assert refused.value.hint == "pass --variant onnx"
    done = ML(project).inferences.run(
        "bare-onnx", output=str(tmp_path / "b.####.exr"), variant="onnx", **args
    )
    assert done.inference.attrs["variant"] == "onnx"
    assert read_image(done.outputs[0].uri).pixels.shape == (40, 48, 1)
