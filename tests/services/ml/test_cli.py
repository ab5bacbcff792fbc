"""The ML pipeline through the CLI a user types: the whole flow, and one-line errors with exit codes."""

from __future__ import annotations

import subprocess
import sys

import torch
from torch import nn

from rmtc.ml.torchscript import quiet_jit

from .conftest import TRAIN_FRAMES, recipe_data, write_recipe


def _setup(cli, footage, *, grants=("training", "inference", "derivatives")):
    cli("talent", "add", "ava_reyes")
    args = [x for g in grants for x in ("--grants", g)]
    cli("license", "add", "plates-2026", *args)
    cli("agreement", "add", "ava_reyes", *args)
    plates, mattes = footage.sequence("plate").pattern, footage.sequence("matte").pattern
    cli("ingest", plates, "--talent", "ava_reyes", "--license", "plates-2026", "--no-progress")
    cli("ingest", mattes, "--license", "plates-2026", "--no-progress")
    cli("dataset", "create", "matte", "--paired")
    cli("dataset", "add", "matte", "--input", plates, "--target", mattes, "--frames", TRAIN_FRAMES)
    cli("dataset", "snapshot", "matte")


def _one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_the_whole_pipeline_runs_through_the_cli(cli, footage, tmp_path):
    _setup(cli, footage)
    cli("solution", "add", "matte-show", "--inputs", "rgb", "--outputs", "alpha", "--needs", "training")
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1", solution="matte-show"))

    trained = cli.json("train", recipe)
    assert trained["state"] == "finished" and len(trained["checkpoints"]) == 2
    weights = trained["weights"]["id"]
    converted = cli.json("convert", weights, "--to", "torchscript")
    assert converted["format"] == "torchscript" and converted["attrs"]["min_nuke_version"] == "15.1"
    version = cli.json("publish", weights, "--name", "matte", "--alias", "production")
    assert version["kind"] == "model_version" and set(version["variants"]) == {"safetensors", "torchscript"}
    best = cli.json("solution", "best", "matte-show", "--dcc", "nuke")
    assert best["best"]["model_version"]["id"] == version["id"]

    out = tmp_path / "out" / "matte.####.exr"
    inferred = cli.json(
        "infer",
        "matte@production",
        "--input",
        footage.sequence("plate").pattern,
        "--output",
        out,
        "--frames",
        "1005-1006",
    )
    assert [o["frame"] for o in inferred["outputs"]] == [1005, 1006]
    contains = cli.json("contains", inferred["outputs"][0]["id"], "ava_reyes")
    assert contains["contains"] is True

    exported = cli.json("nuke", "export", "matte@production", tmp_path / "nuke")
    assert exported["contract"]["in_channels"] == 3 and exported["contract"]["out_channels"] == 1
    text, _ = cli(
        "infer",
        "matte@1",
        "-i",
        footage.sequence("plate").pattern,
        "-o",
        tmp_path / "o2.####.exr",
        "-f",
        "1006",
    )
    assert "1 frame(s)" in text and "o2.1006.exr" in text


def test_a_stopped_training_resumes_through_the_cli(cli, footage, tmp_path):
    _setup(cli, footage)
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1"))
    part = cli.json("train", recipe, "--until", "2")
    assert part["state"] == "killed" and part["weights"] is None
    text, _ = cli("train", "--resume", part["checkpoints"][-1]["id"][:8])
    assert "finished at step 4/4" in text and part["run"]["id"][:8] in text


def test_bad_recipes_are_one_line_errors_with_the_field_named(cli, footage, tmp_path):
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1", train={"stepz": 3}))
    _, err = cli("train", recipe, expect=2)
    assert 'recipe.train.stepz: unknown field (did you mean "steps"?)' in _one_error_line(err)
    _, err = cli("train", expect=2)
    assert "give a recipe, or --resume CHECKPOINT" in _one_error_line(err)
    assert cli.json("run", "ls") == []


def test_refusals_are_one_line_errors_with_the_rights_exit_code(cli, footage, tmp_path):
    _setup(cli, footage, grants=("inference",))
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1"))
    _, err = cli("train", recipe, expect=5)
    assert "training refused: dataset_version:matte@1 lacks the 'training' right" in _one_error_line(err)


def test_a_torchscript_with_the_wrong_signature_is_refused_by_push(cli, tmp_path):
    class Pair(nn.Module):
        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return x * y

    with quiet_jit():
        torch.jit.script(Pair()).save(str(tmp_path / "pair.pt"))
    cli("license", "add", "eula", "--grants", "inference")
    _, err = cli("model", "push", tmp_path / "pair.pt", "--name", "pair", "--license", "eula", expect=2)
    assert "does not fit Nuke" in _one_error_line(err)


def test_models_are_pushed_aliased_and_blocked_versions_refused(
    cli, project, weights_file, footage, tmp_path
):
    cli("license", "add", "eula", "--grants", "inference", "--grants", "derivatives")
    pushed = cli.json(
        "model", "push", weights_file, "--name", "src", "--license", "eula", "--source", "https://x"
    )
    assert pushed["weights"]["format"] == "safetensors" and pushed["facts"]["out_channels"] == 1
    onnx = cli.json("convert", pushed["weights"]["id"], "--to", "onnx", "--exporter", "legacy")
    assert onnx["attrs"]["exporter"] == "legacy"
    cli("publish", pushed["weights"]["id"], "--name", "matte", "--variant", "onnx")
    text, _ = cli("model", "alias", "matte@1", "candidate")
    assert "matte@candidate -> model_version:matte@1" in text
    cli("model", "alias", "matte", "candidate", "--remove")
    assert project.store.get_alias("model_version", "matte", "candidate") is None

    cli("revoke", "license:eula", "--reason", "vendor recall")
    _, err = cli(
        "infer", "matte@1", "-i", footage.sequence("plate").pattern, "-o", tmp_path / "x.####.exr", expect=5
    )
    assert "is blocked" in _one_error_line(err) and "vendor recall" in err
    _, err = cli("model", "alias", "matte@1", "production", expect=5)
    assert "never aliased" in _one_error_line(err)


def test_nuke_cat_files_and_copycat_runs_are_recorded_through_the_cli(cli, weights_file, tmp_path):
    cli("license", "add", "eula", "--grants", "inference")
    pushed = cli.json("model", "push", weights_file, "--name", "src", "--license", "eula")
    cli("publish", pushed["weights"]["id"], "--name", "matte", "--variant", "safetensors")
    cat = tmp_path / "matte_v1.cat"
    cat.write_bytes(b"cat")
    registered = cli.json("nuke", "register-cat", cat, "--model-version", "matte@1")
    assert registered["format"] == "cat"
    cc = tmp_path / "copycat"
    cc.mkdir()
    (cc / "Training_100.cat").write_bytes(b"one")
    (cc / "Training_200.cat").write_bytes(b"two")
    text, _ = cli("nuke", "import-copycat", cc, "--name", "roto-cc")
    assert "imported run:roto-cc" in text and "2 checkpoint(s)" in text
    (tmp_path / "empty").mkdir()
    _, err = cli("nuke", "import-copycat", tmp_path / "empty", expect=2)
    assert "holds no .cat file" in _one_error_line(err)


def test_the_cli_and_the_ml_services_import_no_torch_until_they_run():
    code = (
        "import sys, rmtc.cli.main, rmtc.services.ml, rmtc.services.ml.training, rmtc.services.ml.infer, "
        "rmtc.integrations.nuke.callbacks; assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
