"""Synthetic footage: byte-identical for a seed, and content a network (and a rights check) can use."""

from __future__ import annotations

import numpy as np
import pytest

from rmtc.errors import InvalidInput
from rmtc.vfx import synthetic
from rmtc.vfx.imageio import read_image
from rmtc.vfx.media import probe

FRAMES = range(1001, 1007)
SIZE = (96, 64)


def _bytes(manifest: synthetic.Manifest) -> list[bytes]:
    return [p.read_bytes() for s in manifest.sequences for p in s.paths]


@pytest.mark.parametrize(
    "make",
    [synthetic.make_plates, synthetic.make_matte_task, synthetic.make_denoise_task],
    ids=["plates", "matte", "denoise"],
)
def test_when_generated_twice_with_one_seed_then_the_files_are_byte_identical(tmp_path, make):
    a = make(tmp_path / "a", frames=FRAMES, size=SIZE, seed=3)
    b = make(tmp_path / "b", frames=FRAMES, size=SIZE, seed=3)
    c = make(tmp_path / "c", frames=FRAMES, size=SIZE, seed=4)
    assert _bytes(a) == _bytes(b)
    assert _bytes(a) != _bytes(c)


def test_when_plates_are_made_then_each_talent_has_a_half_linear_hdr_sequence(tmp_path):
    manifest = synthetic.make_plates(tmp_path, frames=FRAMES, size=SIZE)
    assert manifest.task == "plates" and manifest.size == SIZE
    assert [s.talent for s in manifest.sequences] == ["ava_reyes", "marcus_cole"]
    seq = manifest.sequence("plate", "marcus_cole")
    assert seq.pattern == str(tmp_path / "marcus_cole" / "plate.####.exr")
    assert seq.frames == tuple(FRAMES)
    assert [p.name for p in seq.paths] == [f"plate.{f}.exr" for f in FRAMES]
    info = probe(seq.paths[2])
    assert (info["width"], info["height"], info["channel_names"], info["pixel_type"]) == (
        96,
        64,
        ["R", "G", "B"],
        "half",
    )
    assert info["frame"] == 1003 and info["colourspace"] == "lin_ap1_scene"
    assert info["rmtc_attributes"]["rmtc/talent"] == "marcus_cole"
    assert info["rmtc_attributes"]["rmtc/generator"] == synthetic.GENERATOR
    frame = read_image(seq.paths[0]).pixels.astype(np.float32)
    assert frame.max() > 1.0  # highlights above diffuse white
    assert np.isfinite(frame).all() and frame.min() > -0.5
    assert manifest.to_dict()["sequences"][1]["talent"] == "marcus_cole"


def test_when_two_talents_are_made_then_their_figures_differ_and_move(tmp_path):
    manifest = synthetic.make_plates(tmp_path, frames=FRAMES, size=SIZE, talents=("ava_reyes", "marcus_cole"))
    looks = [synthetic._draw.Look.of(t) for t in ("ava_reyes", "marcus_cole")]
    assert np.abs(np.subtract(looks[0].clothes, looks[1].clothes)).max() > 0.1
    for talent in ("ava_reyes", "marcus_cole"):
        paths = manifest.sequence("plate", talent).paths
        first, last = (read_image(p).pixels.astype(np.float32) for p in (paths[0], paths[-1]))
        assert np.abs(first - last).mean() > 0.01  # the figure walked
    a = read_image(manifest.sequence("plate", "ava_reyes").paths[0]).pixels
    b = read_image(manifest.sequence("plate", "marcus_cole").paths[0]).pixels
    assert not np.array_equal(a, b)


def test_when_a_talent_is_drawn_again_then_it_looks_the_same():
    assert synthetic._draw.Look.of("ava_reyes") == synthetic._draw.Look.of("ava_reyes")
    colour, alpha, box = synthetic._draw.figure(synthetic._draw.Look.of("ava_reyes"), 64, 96, 48.0, 60.0, 0.3)
    assert colour.shape[:2] == alpha.shape and alpha.max() == 1.0 and box[1] > box[0]


def test_when_the_matte_task_is_made_then_alpha_is_a_soft_coverage_matching_the_plate(tmp_path):
    manifest = synthetic.make_matte_task(tmp_path, frames=FRAMES, size=SIZE, shapes=3)
    pairs = manifest.pairs("plate", "matte")
    assert len(pairs) == len(FRAMES)
    assert pairs[0][0].name == "plate.1001.exr" and pairs[0][1].name == "matte.1001.exr"
    matte = read_image(pairs[0][1])
    assert matte.channel_names == ("A",) and matte.pixel_type == "half"
    alphas = np.stack([read_image(m).pixels.astype(np.float32) for _, m in pairs])
    assert alphas.min() >= 0.0 and alphas.max() <= 1.0
    assert (alphas == 0).any() and (alphas == 1).any()
    assert ((alphas > 0.05) & (alphas < 0.95)).any()  # anti-aliased edges
    assert not np.array_equal(alphas[0], alphas[-1])  # the shapes move
    assert read_image(pairs[0][0]).channel_names == ("R", "G", "B")


def test_when_the_denoise_task_is_made_then_noisy_minus_clean_has_the_stated_sigma(tmp_path):
    manifest = synthetic.make_denoise_task(tmp_path, frames=FRAMES, size=SIZE, noise_sigma=0.05)
    assert manifest.params["noise_sigma"] == 0.05
    diffs = []
    for noisy, clean in manifest.pairs("noisy", "clean"):
        n, c = read_image(noisy), read_image(clean)
        assert n.metadata["rmtc/noise_sigma"] == "0.05"
        diffs.append(n.pixels.astype(np.float32) - c.pixels.astype(np.float32))
    noise = np.stack(diffs)
    assert abs(float(noise.std()) - 0.05) < 0.005
    assert abs(float(noise.mean())) < 0.005
    assert not np.array_equal(diffs[0], diffs[1])  # fresh noise every frame


def test_when_frames_are_given_as_a_range_string_then_they_are_parsed_like_a_pipeline_would(tmp_path):
    manifest = synthetic.make_plates(tmp_path, frames="1-9x4", size=(32, 32), talents=("ava_reyes",))
    assert manifest.sequence("plate").frames == (1, 5, 9)
    assert manifest.sequence("plate").paths[1].name == "plate.0005.exr"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frames": "1-x"}, "cannot parse frame range"),
        ({"frames": []}, "distinct non-negative"),
        ({"size": (8, 8)}, "out of range"),
        ({"talents": ()}, "at least one talent"),
        ({"talents": ("../escape",)}, "cannot be a directory name"),
    ],
)
def test_when_generator_arguments_are_wrong_then_invalid_input_says_which(tmp_path, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        synthetic.make_plates(tmp_path, **kwargs)


def test_when_a_missing_sequence_is_asked_of_a_manifest_then_invalid_input_lists_those_there_are(tmp_path):
    manifest = synthetic.make_matte_task(tmp_path, frames=range(1, 3), size=(32, 32))
    with pytest.raises(InvalidInput, match="no 'noisy' sequence") as err:
        manifest.sequence("noisy")
    assert err.value.hint == "it has matte, plate"
