from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from rmtc.errors import InvalidInput
from rmtc.ml.checkpoint import list_checkpoints
from rmtc.ml.data import ArrayPairs
from rmtc.ml.nets import NetConfig, build_model
from rmtc.ml.train import Callback, Trainer, lr_at
from rmtc.ml.weights import save_weights

from .helpers import tiny_recipe
from .synthetic import hdr_pairs


class Recorder(Callback):
    def __init__(self) -> None:
        self.steps: list[int] = []
        self.metrics: list[dict] = []
        self.validations: list[tuple[int, dict]] = []
        self.checkpoints: list = []

    def on_step(self, step, metrics):
        self.steps.append(step)
        self.metrics.append(dict(metrics))

    def on_validation(self, step, metrics):
        self.validations.append((step, dict(metrics)))

    def on_checkpoint(self, event):
        self.checkpoints.append(event)


def test_every_step_reports_metrics_and_validation_and_checkpoints_come_on_schedule(matte_source, tmp_path):
    recorder = Recorder()
    recipe = tiny_recipe(
        train={"val_metrics": ["l1", "psnr", "ssim", "iou"], "loss": "l1+ssim", "grad_clip": 1.0}
    )
    result = Trainer(recipe, matte_source, tmp_path, callbacks=[recorder]).fit()
    assert recorder.steps == [1, 2, 3, 4, 5, 6] and result.step == 6
    assert {"loss", "l1", "ssim", "lr", "seconds", "grad_norm"} <= recorder.metrics[0].keys()
    assert [m["loss"] for m in recorder.metrics] == result.losses
    assert [s for s, _ in recorder.validations] == [3, 6]
    assert set(recorder.validations[0][1]) == {"val_loss", "val_l1", "val_psnr", "val_ssim", "val_iou"}
    assert [e.step for e in recorder.checkpoints] == [3, 6]
    assert result.checkpoints == list_checkpoints(tmp_path / "checkpoints")
    assert result.weights == tmp_path / "weights.safetensors" and result.weights.is_file()


def test_without_callbacks_or_an_output_directory_training_writes_nothing(
    matte_source, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = Trainer(tiny_recipe(), matte_source).fit()
    assert result.step == 6 and all(math.isfinite(v) for v in result.losses)
    assert result.checkpoints == [] and result.weights is None
    assert list(tmp_path.iterdir()) == []


def test_each_checkpoint_has_a_contact_sheet_of_input_prediction_and_target_rows(matte_source, tmp_path):
    recorder = Recorder()
    Trainer(tiny_recipe(), matte_source, tmp_path, callbacks=[recorder]).fit()
    event = recorder.checkpoints[-1]
    assert event.contact_sheet.shape == (3 * 48 + 8, 56 + 4, 3)
    assert event.contact_sheet_path == tmp_path / "contact_sheets" / "step-000006.png"
    assert event.contact_sheet_path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert event.validation == recorder.validations[-1][1]


def test_a_custom_writer_receives_each_contact_sheet(matte_source, tmp_path):
    written = []

    def writer(stem, sheet):
        written.append((stem.name, sheet.shape))
        return stem.with_suffix(".exr")

    Trainer(tiny_recipe(), matte_source, tmp_path, sheet_writer=writer).fit()
    assert [name for name, _ in written] == ["step-000003", "step-000006"]


def test_the_progress_bar_shows_steps_and_loss_and_can_be_turned_off(matte_source, capsys):
    Trainer(tiny_recipe(train={"steps": 2}), matte_source, progress=True).fit()
    shown = capsys.readouterr().err
    assert "2/2" in shown and "loss" in shown and "eta" in shown
    Trainer(tiny_recipe(train={"steps": 2}), matte_source).fit()
    assert capsys.readouterr().err == ""


def test_stop_ends_training_after_the_current_step_with_a_checkpoint(matte_source, tmp_path):
    class StopAtTwo(Callback):
        def on_step(self, step, metrics):
            if step == 2:
                trainer.stop()

    trainer = Trainer(
        tiny_recipe(train={"checkpoint_every": 0}), matte_source, tmp_path, callbacks=[StopAtTwo()]
    )
    result = trainer.fit()
    assert result.stopped and result.step == 2
    assert [p.name for p in result.checkpoints] == ["ckpt-000002"]
    assert result.weights is None


def test_keep_checkpoints_removes_the_oldest(matte_source, tmp_path):
    recipe = tiny_recipe(train={"checkpoint_every": 1, "keep_checkpoints": 2, "contact_sheet": False})
    Trainer(recipe, matte_source, tmp_path).fit()
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["ckpt-000005", "ckpt-000006"]


def test_when_the_recipe_contradicts_the_frames_channels_then_invalid_input_names_the_field(matte_source):
    with pytest.raises(InvalidInput, match="recipe.model.out_channels is 3 but the frames have 1 channel"):
        Trainer(tiny_recipe(model={"out_channels": 3}), matte_source)


def test_when_a_frame_has_nan_then_training_is_refused_before_the_first_step(matte_source):
    inputs, targets = zip(*(matte_source.load(i) for i in range(len(matte_source))), strict=True)
    bad = [t.copy() for t in targets]
    bad[2][1, 1, 0] = np.nan
    source = ArrayPairs(list(inputs), bad, [matte_source.label(i) for i in range(4)])
    with pytest.raises(InvalidInput, match=r"plate\.1003\.exr \(target\) has 1 NaN"):
        Trainer(tiny_recipe(), source)


def test_when_resumed_on_other_frames_then_invalid_input(matte_source, tmp_path):
    Trainer(tiny_recipe(), matte_source, tmp_path).fit(until=3)
    inputs, targets = zip(*(matte_source.load(i) for i in range(4)), strict=True)
    changed = ArrayPairs([i * 0.5 for i in inputs], list(targets))
    with pytest.raises(InvalidInput, match="frames differ"):
        Trainer.resume(tmp_path / "checkpoints" / "ckpt-000003", changed)


def test_fine_tuning_starts_from_the_given_weights_and_refuses_another_shape(matte_source, tmp_path):
    start = build_model(NetConfig(in_channels=3, out_channels=1))
    path = save_weights(start, tmp_path / "start.safetensors")
    trainer = Trainer(tiny_recipe(), matte_source, init_weights=path)
    assert all(torch.equal(a, b) for a, b in zip(start.parameters(), trainer.model.parameters(), strict=True))
    other = save_weights(
        build_model(NetConfig(in_channels=3, out_channels=2)), tmp_path / "other.safetensors"
    )
    with pytest.raises(InvalidInput, match="initial weights"):
        Trainer(tiny_recipe(), matte_source, init_weights=other)


def test_hdr_plates_with_super_whites_and_negatives_train_to_finite_losses():
    inputs, targets = hdr_pairs(2, channels=4)
    recipe = tiny_recipe(model={"hdr": "log", "residual": True}, train={"steps": 3})
    result = Trainer(recipe, ArrayPairs(inputs, targets)).fit()
    assert all(math.isfinite(v) and v < 5 for v in result.losses)


def test_a_single_frame_trains_without_validation_and_sheets_show_the_training_frame(matte_source, tmp_path):
    one = ArrayPairs([matte_source.load(0)[0]], [matte_source.load(0)[1]])
    trainer = Trainer(tiny_recipe(train={"steps": 2}), one, tmp_path)
    result = trainer.fit()
    assert trainer.val_indices == [] and result.validation == {}
    assert trainer.make_contact_sheet().shape[1] == 56 + 4


def test_the_learning_rate_warms_up_linearly_then_decays_by_cosine_to_the_floor():
    rates = [lr_at(s, 100, 1e-3, 10, 0.1) for s in range(100)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in itertools.pairwise(rates[9:]))
    assert rates[-1] == pytest.approx(1e-4, rel=1e-2)
    assert lr_at(0, 5, 1e-3, 100, 0.0) == pytest.approx(2e-4)
