"""Fixtures of the ML tests: synthetic frames made with NumPy, and one torch thread.

One intra-op thread: on a shared 2-core machine, torch's spinning worker threads slow every step
tenfold when other processes compete for the cores. The exact-resume worker process does the same, so
both halves of that test compute alike.
"""

from __future__ import annotations

import pytest
import torch

from rmtc.ml.data import ArrayPairs

from .synthetic import matte_frames


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def matte_source() -> ArrayPairs:
    """Four 56x48 matte pairs labelled like a plate sequence."""
    inputs, targets = matte_frames(4, 48, 56, seed=3)
    return ArrayPairs(inputs, targets, [f"plate.{1001 + i}.exr" for i in range(4)])
