from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from rmtc.errors import InvalidInput, NotFound
from rmtc.ml.infer import infer_sequence
from rmtc.ml.pipeline import run_pipeline

WAIT = 30  # seconds: only reached when the stages do not overlap, which is the failure


def test_results_are_written_in_order_and_every_item_once():
    written = []
    stats = run_pipeline(
        range(20), lambda i: i, lambda v: v * v, lambda i, r: written.append((i, r)), depth=2
    )
    assert written == [(i, i * i) for i in range(20)] and stats.frames == 20


def test_reading_the_next_frame_overlaps_computing_this_one():
    second_read = threading.Event()

    def read(i):
        if i == 1:
            second_read.set()
        return i

    def compute(v):
        if v == 0:
            assert second_read.wait(WAIT), "frame 1 was not read while frame 0 was computed"
        return v

    run_pipeline(range(3), read, compute, lambda i, r: None)


def test_writing_a_frame_overlaps_computing_the_next():
    second_computed = threading.Event()

    def compute(v):
        if v == 1:
            second_computed.set()
        return v

    def write(i, r):
        if i == 0:
            assert second_computed.wait(WAIT), "frame 1 was not computed while frame 0 was written"

    run_pipeline(range(3), lambda i: i, compute, write)


def test_the_reader_runs_at_most_a_bounded_distance_ahead_of_the_writer():
    # While frame 0 is being written, at most 1 (writing) + 2 (queued) + 1 (computed) + 2 (queued) +
    # 1 (read, waiting to be queued) = 7 frames can have been read.
    lock = threading.Lock()
    read, written, ahead = [0], [0], []
    full = threading.Event()

    def do_read(i):
        with lock:
            read[0] += 1
            ahead.append(read[0] - written[0])
            if read[0] == 7:
                full.set()
        return i

    def write(i, r):
        if i == 0:
            assert full.wait(WAIT), "the reader never got 7 frames ahead"
        with lock:
            written[0] += 1

    run_pipeline(range(30), do_read, lambda v: v, write, depth=2)
    assert max(ahead) == 7


@pytest.mark.parametrize("stage", ["read", "compute", "write"])
def test_the_first_error_of_any_stage_stops_the_pipeline_and_is_raised_as_it_was(stage):
    seen = []

    def fail_at_3(name):
        def step(*args):
            value = args[0]
            if name == stage and value == 3:
                raise NotFound(f"frame 3 failed in {name}")
            return value

        return step

    def write(i, r):
        fail_at_3("write")(i)
        seen.append(i)

    with pytest.raises(NotFound, match=f"frame 3 failed in {stage}"):
        run_pipeline(range(1000), fail_at_3("read"), fail_at_3("compute"), write)
    assert 3 not in seen and len(seen) < 20


def test_a_depth_below_one_is_refused():
    with pytest.raises(InvalidInput, match="depth"):
        run_pipeline([], lambda i: i, lambda v: v, lambda i, r: None, depth=0)


def test_a_sequence_of_frames_runs_tiled_through_a_model():
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 1, 3, padding=1)
    frames = {n: np.random.default_rng(n).random((40, 50, 3), dtype=np.float32) for n in (1001, 1002, 1003)}
    out, done = {}, []
    stats = infer_sequence(
        model,
        frames,
        frames.__getitem__,
        out.__setitem__,
        tile=32,
        overlap=8,
        device="cpu",
        on_done=done.append,
    )
    assert sorted(out) == [1001, 1002, 1003] and done == [1001, 1002, 1003] and stats.frames == 3
    with torch.no_grad():
        want = model(torch.from_numpy(frames[1002]).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out[1002], want, atol=1e-5)
