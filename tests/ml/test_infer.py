from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rmtc.errors import InvalidInput
from rmtc.ml.infer import TiledInferer, infer_tiled, model_alignment, plan_tiles
from rmtc.ml.nets import NetConfig, build_model


class Local(nn.Module):
    """Fully convolutional with a receptive radius of 3 pixels, optionally a 2x upres."""

    def __init__(self, cin: int = 3, cout: int = 2, scale: int = 1):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(cin, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, cout * scale * scale, 3, padding=1), nn.PixelShuffle(scale),
        )  # fmt: skip
        self.seen: list[tuple[int, ...]] = []

    def forward(self, x):
        self.seen.append(tuple(x.shape))
        return self.body(x)


def _frame(h, w, c=3, seed=0):
    return np.random.default_rng(seed).random((h, w, c), dtype=np.float32)


def _whole(model, frame):
    with torch.no_grad():
        return model(torch.from_numpy(frame).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize(
    ("h", "w", "tile", "overlap", "align"), [(100, 130, 48, 16, 1), (257, 97, 64, 32, 16)]
)
def test_tiles_cover_the_frame_on_the_alignment_grid(h, w, tile, overlap, align):
    tiles = plan_tiles(h, w, tile, overlap, align)
    covered = np.zeros((h, w), int)
    for t in tiles:
        covered[t.y0 : t.y1, t.x0 : t.x1] += 1
        assert t.y0 % align == 0 and t.x0 % align == 0 and t.y1 - t.y0 <= tile
    assert covered.min() >= 1


@pytest.mark.parametrize(("h", "w", "scale"), [(70, 95, 1), (123, 61, 2), (40, 40, 1)])
def test_tiled_equals_whole_frame_for_a_fully_convolutional_model(h, w, scale):
    model = Local(scale=scale).eval()
    frame = _frame(h, w)
    tiled = infer_tiled(model, frame, tile=32, overlap=16)
    assert tiled.shape == (h * scale, w * scale, 2)
    np.testing.assert_allclose(tiled, _whole(model, frame), atol=1e-5)


def test_tiled_unet_matches_whole_frame_closely_when_tiles_follow_its_grid():
    model = build_model(NetConfig(in_channels=3, out_channels=1, hdr="none")).eval()
    assert model_alignment(model) == 8
    frame = _frame(150, 170)
    whole = _whole(model, frame)
    tiled = infer_tiled(model, frame, tile=96, overlap=48)
    assert np.abs(tiled - whole).max() < 1e-5


def test_a_2k_frame_runs_one_bounded_tile_at_a_time():
    model = Local().eval()
    frame = _frame(1080, 2048)
    out = infer_tiled(model, frame, tile=256, overlap=32)
    assert out.shape == (1080, 2048, 2)
    assert len(model.seen) > 30 and max(s[2] * s[3] for s in model.seen) <= 256 * 256
    model.seen.clear()
    crop = _whole(model, frame[492:608, 992:1108])[8:-8, 8:-8]
    np.testing.assert_allclose(out[500:600, 1000:1100], crop, atol=1e-5)


def test_a_frame_within_one_tile_runs_whole():
    model = Local().eval()
    frame = _frame(30, 20)
    out = infer_tiled(model, frame, tile=64, overlap=16)
    assert model.seen == [(1, 3, 30, 20)]
    np.testing.assert_array_equal(out, _whole(model, frame))


def test_when_the_model_output_is_not_a_whole_upscale_then_invalid_input():
    with pytest.raises(InvalidInput, match="not a whole-number upscale"):
        infer_tiled(lambda x: x[:, :, :-1], _frame(40, 40), tile=32, overlap=8)


@pytest.mark.parametrize(
    ("tile", "overlap", "align", "message"), [(16, 16, 1, "must exceed"), (40, 8, 16, "multiples")]
)
def test_when_the_tiling_is_impossible_then_invalid_input(tile, overlap, align, message):
    with pytest.raises(InvalidInput, match=message):
        plan_tiles(100, 100, tile, overlap, align)


def test_the_inferer_plugin_runs_half_precision_where_asked():
    model = Local().eval()
    out = TiledInferer().infer(model, _frame(20, 20), tile=16, overlap=8, dtype=torch.float32)
    assert out.dtype == np.float32


def test_a_half_frame_is_tiled_as_it_is_with_no_float32_copy_and_the_same_result():
    import tracemalloc

    model = Local(cout=1).eval()
    half = _frame(768, 640).astype(np.float16)
    single = half.astype(np.float32)
    peaks = []
    for frame in (single, half):
        tracemalloc.start()
        result = infer_tiled(model, frame, tile=256, overlap=32)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert result.dtype == np.float32
    np.testing.assert_array_equal(infer_tiled(model, half, tile=256, overlap=32), result)
    assert peaks[1] <= peaks[0] + 1_000_000, f"a {single.nbytes} byte copy was made: {peaks}"


def test_a_sequence_keeps_at_most_three_frames_and_two_results_in_flight():
    import threading

    from rmtc.ml.infer import infer_sequence

    lock, full = threading.Lock(), threading.Event()
    read, written, ahead = [0], [0], []

    def do_read(i):
        with lock:
            read[0] += 1
            ahead.append(read[0] - written[0])
            if read[0] == 5:
                full.set()
        return _frame(8, 8, seed=i)

    def write(i, result):
        if i == 0:
            assert full.wait(60), "the reader never got 5 frames ahead"
        with lock:
            written[0] += 1

    infer_sequence(nn.Identity(), range(12), do_read, write, tile=16, overlap=4, device="cpu")
    assert max(ahead) == 5  # reading, waiting, computing; a result waiting, one being written
