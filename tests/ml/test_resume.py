"""Exact resumption: 2N steps straight equal N steps, a checkpoint, a fresh process, and N more.

The first half runs on fresh objects in this process, the second in a new Python process that knows
only the checkpoint directory and the frames.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from rmtc.ml.train import Trainer
from rmtc.ml.weights import load_state

from .helpers import tiny_recipe
from .resume_worker import source

TESTS = Path(__file__).resolve().parents[1]
N = 4


def _worker(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "ml.resume_worker", *args],
        cwd=TESTS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_training_resumed_in_a_fresh_process_is_bit_identical_to_training_straight(tmp_path):
    recipe = tiny_recipe(
        model={"hdr": "log"},
        train={
            "steps": 2 * N,
            "checkpoint_every": N,
            "validate_every": N,
            "loss": "l1+ssim",
            "grad_clip": 1.0,
            "warmup_steps": 3,
            "val_metrics": ["l1", "psnr", "ssim", "iou"],
        },
    )
    straight = Trainer(recipe, source(), tmp_path / "straight").fit()

    first = Trainer(recipe, source(), tmp_path / "a").fit(until=N)
    checkpoint = tmp_path / "a" / "checkpoints" / f"ckpt-{N:06d}"
    second = _worker("resume", str(checkpoint), str(tmp_path / "b"))

    assert first.step == N and second["step"] == 2 * N
    assert first.losses + second["losses"] == straight.losses
    assert straight.weights is not None
    want, _ = load_state(straight.weights)
    got, _ = load_state(tmp_path / "b" / "weights.safetensors")
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want)


def test_resuming_twice_from_one_checkpoint_repeats_the_same_steps(tmp_path):
    recipe = tiny_recipe(train={"steps": 4, "checkpoint_every": 2})
    Trainer(recipe, source(), tmp_path / "run").fit(until=2)
    checkpoint = tmp_path / "run" / "checkpoints" / "ckpt-000002"
    one = Trainer.resume(checkpoint, source()).fit()
    two = Trainer.resume(checkpoint, source()).fit()
    assert one.losses == two.losses and len(one.losses) == 2
