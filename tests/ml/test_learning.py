"""The small network learns: a short CPU run on a synthetic matte task beats chance by far."""

from __future__ import annotations

import numpy as np

from rmtc.ml.data import ArrayPairs
from rmtc.ml.infer import infer_tiled
from rmtc.ml.train import Trainer

from .helpers import tiny_recipe
from .synthetic import matte_frames


def _iou(pred: np.ndarray, target: np.ndarray) -> float:
    a, b = pred > 0.5, target > 0.5
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_the_small_net_learns_a_matte_from_four_frames_far_better_than_chance():
    inputs, targets = matte_frames(6, 96, 96, seed=0)
    held_out = [2, 5]
    recipe = tiny_recipe(
        data={"patch_size": 64, "batch_size": 4, "validation_frames": held_out, "validation_size": 96},
        model={"size": "small", "hdr": "none"},
        train={
            "steps": 150,
            "learning_rate": 3e-3,
            "warmup_steps": 10,
            "validate_every": 0,
            "val_metrics": ["iou"],
        },
    )
    trainer = Trainer(recipe, ArrayPairs(inputs, targets))
    result = trainer.fit()

    model = trainer.model.eval()
    ious = [_iou(infer_tiled(model, inputs[i], tile=64, overlap=32), targets[i]) for i in held_out]
    chance = [_iou(np.ones_like(targets[i]), targets[i]) for i in held_out]
    assert min(ious) >= 0.8, (ious, chance)
    assert min(ious) > max(chance) + 0.4
    assert result.validation["val_iou"] >= 0.8
