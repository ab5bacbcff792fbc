from __future__ import annotations

import numpy as np
import pytest
import torch

from rmtc.errors import InvalidInput
from rmtc.ml.data import ArrayPairs, PatchSampler, center_crops, fingerprint, load_frames, split_frames


def _frames(n=2, h=20, w=24, cin=3, cout=1):
    rng = np.random.default_rng(0)
    return [rng.random((h, w, cin), dtype=np.float32) for _ in range(n)], [
        rng.random((h, w, cout), dtype=np.float32) for _ in range(n)
    ]


def test_when_input_and_target_counts_differ_then_invalid_input():
    inputs, targets = _frames(3)
    with pytest.raises(InvalidInput, match="3 input frame.* but 2 target"):
        ArrayPairs(inputs, targets[:2])


def test_when_a_target_is_another_size_then_the_message_names_the_pair():
    inputs, targets = _frames(2)
    targets[1] = targets[1][:, :20]
    src = ArrayPairs(inputs, targets, ["a.1001.exr", "a.1002.exr"])
    with pytest.raises(InvalidInput, match=r"a\.1002\.exr: the input is 24x20 but the target is 20x20"):
        load_frames(src, [0, 1])


def test_when_upres_then_the_target_must_be_scale_times_the_input():
    inputs, _ = _frames(1, 10, 12)
    src = ArrayPairs(inputs, [np.zeros((20, 24, 3), np.float32)])
    frames, stats = load_frames(src, [0], scale=2)
    assert stats.min_height == 10 and frames[0][1].shape == (20, 24, 3)
    with pytest.raises(InvalidInput, match="24x20; the target must be the same size as the input"):
        load_frames(src, [0], scale=1)


@pytest.mark.parametrize(
    ("bad", "what"), [(np.nan, "1 NaN and 0 infinite"), (np.inf, "0 NaN and 1 infinite")]
)
def test_when_pixels_are_not_finite_then_invalid_input_says_where(bad, what):
    inputs, targets = _frames(2)
    targets[1][5, 7, 0] = bad
    with pytest.raises(InvalidInput, match=rf"pair 1 \(target\) has {what}.*y=5, x=7, channel 0"):
        load_frames(ArrayPairs(inputs, targets), [0, 1])


def test_when_pixels_are_integers_or_the_shape_is_not_an_image_then_invalid_input():
    inputs, targets = _frames(1)
    with pytest.raises(InvalidInput, match="pixels are uint8"):
        load_frames(ArrayPairs([(inputs[0] * 255).astype(np.uint8)], targets), [0])
    with pytest.raises(InvalidInput, match="expected an H x W x C image"):
        load_frames(ArrayPairs([inputs[0][None]], targets), [0])


def test_when_channel_counts_differ_between_pairs_then_invalid_input_names_both():
    inputs, targets = _frames(2)
    inputs[1] = np.concatenate([inputs[1], inputs[1][:, :, :1]], axis=2)
    with pytest.raises(InvalidInput, match="pair 1 has 4 input / 1 target channel.* pair 0 has 3 / 1"):
        load_frames(ArrayPairs(inputs, targets), [0, 1])


def test_when_the_source_is_empty_then_invalid_input():
    with pytest.raises(InvalidInput, match="no frame pairs"):
        split_frames(0)


def test_held_out_frames_are_whole_frames_spread_over_the_sequence():
    train, val = split_frames(10, held_out_count=2)
    assert len(val) == 2 and set(train).isdisjoint(val) and sorted(train + val) == list(range(10))
    assert val[0] < 5 <= val[1]
    assert split_frames(4, held_out=[3]) == ([0, 1, 2], [3])
    assert split_frames(4) == ([0, 1, 2, 3], [])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"held_out": [4]}, "out of range"),
        ({"held_out": [1, 1]}, "repeat"),
        ({"held_out": [0, 1, 2, 3]}, "leaves none to train on"),
        ({"held_out_count": 4}, "leaves none to train on"),
    ],
)
def test_when_the_split_is_impossible_then_invalid_input(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        split_frames(4, **kwargs)


def test_patches_shrink_to_the_smallest_frame_and_keep_input_and_target_aligned():
    rng = np.random.default_rng(1)
    small = rng.random((20, 30, 2), dtype=np.float32)
    big = rng.random((40, 40, 2), dtype=np.float32)
    frames = [(small, small * 2 + 1), (big, big * 2 + 1)]
    sampler = PatchSampler(frames, patch_size=256, augment=True)
    assert sampler.patch == 20
    x, y = sampler.sample(16, torch.Generator().manual_seed(0))
    assert x.shape == (16, 2, 20, 20) and y.shape == (16, 2, 20, 20)
    assert torch.allclose(y, x * 2 + 1)


def test_upres_patches_take_the_matching_target_region():
    lo = np.arange(16 * 16, dtype=np.float32).reshape(16, 16, 1)
    hi = np.repeat(np.repeat(lo, 2, axis=0), 2, axis=1)
    x, y = PatchSampler([(lo, hi)], patch_size=8, scale=2).sample(8, torch.Generator().manual_seed(3))
    assert y.shape == (8, 1, 16, 16)
    assert torch.equal(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"), y)


def test_augmentation_reaches_all_eight_flips_and_rotations_and_is_repeatable():
    frame = np.arange(9, dtype=np.float32).reshape(3, 3, 1)
    sampler = PatchSampler([(frame, frame)], patch_size=3, augment=True)
    x, _ = sampler.sample(200, torch.Generator().manual_seed(0))
    assert len({tuple(p.flatten().tolist()) for p in x}) == 8
    again, _ = sampler.sample(200, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)
    plain, _ = PatchSampler([(frame, frame)], patch_size=3, augment=False).sample(5, torch.Generator())
    assert len({tuple(p.flatten().tolist()) for p in plain}) == 1


def test_validation_crops_are_centred_and_the_fingerprint_sees_one_changed_pixel():
    inputs, targets = _frames(1, 30, 40)
    ((x, y),) = center_crops([(inputs[0], targets[0])], size=10)
    assert torch.equal(y[0].permute(1, 2, 0), torch.from_numpy(targets[0][10:20, 15:25]))
    assert torch.equal(x[0].permute(1, 2, 0), torch.from_numpy(inputs[0][10:20, 15:25]))
    before = fingerprint([(inputs[0], targets[0])])
    targets[0][0, 0, 0] += 1e-3
    assert fingerprint([(inputs[0], targets[0])]) != before
