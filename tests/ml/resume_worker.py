"""The second half of the exact-resume test, run in a fresh process: ``resume CKPT OUT`` continues
from a checkpoint to the recipe's end and prints the losses it saw as JSON."""

from __future__ import annotations

import json
import sys

import torch

from rmtc.ml.data import ArrayPairs
from rmtc.ml.train import Trainer

from .synthetic import matte_frames


def source() -> ArrayPairs:
    inputs, targets = matte_frames(3, 40, 44, seed=11)
    return ArrayPairs(inputs, targets)


def main(argv: list[str]) -> None:
    mode, checkpoint, out = argv
    assert mode == "resume"
    torch.set_num_threads(1)  # as the test process (tests/ml/conftest.py)
    result = Trainer.resume(checkpoint, source(), out).fit()
    print(json.dumps({"step": result.step, "losses": result.losses}))


if __name__ == "__main__":
    main(sys.argv[1:])
