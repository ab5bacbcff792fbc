"""probe(): media info from one header, in process."""

from __future__ import annotations

import pytest

from rmtc.errors import InvalidInput
from rmtc.vfx._oiio import Limits
from rmtc.vfx.image import Image
from rmtc.vfx.imageio import write_image
from rmtc.vfx.media import probe

from . import hostile
from .helpers import pixels


def test_when_an_exr_is_probed_then_the_header_facts_are_reported(tmp_path):
    path = write_image(
        tmp_path / "plate.1001.exr",
        Image(pixels((32, 48, 4)), ("R", "G", "B", "A")),
        tiled=True,
        tile_size=32,
        metadata={"rmtc/frame": 1001, "oiio:ColorSpace": "ACEScg", "rmtc/talent": "ava_reyes"},
    )
    info = probe(path)
    assert info == {
        "format": "openexr",
        "width": 48,
        "height": 32,
        "channels": 4,
        "channel_names": ["R", "G", "B", "A"],
        "pixel_type": "half",
        "tiled": True,
        "tile_size": [32, 32],
        "data_window": [0, 0, 47, 31],
        "display_window": [0, 0, 47, 31],
        "colourspace": "lin_ap1_scene",
        "frame": 1001,
        "compression": "zip",
        "rmtc_attributes": {"rmtc/frame": "1001", "rmtc/talent": "ava_reyes"},
    }


def test_when_channels_mix_types_then_probe_lists_them(tmp_path):
    import OpenImageIO as oiio  # noqa: N813

    spec = oiio.ImageSpec(4, 4, 4, "half")
    spec.channelnames = ("R", "G", "B", "Z")
    spec.channelformats = (oiio.TypeDesc("half"),) * 3 + (oiio.TypeDesc("float"),)
    out = oiio.ImageOutput.create(str(tmp_path / "mixed.exr"))
    assert out.open(str(tmp_path / "mixed.exr"), spec)
    out.write_image(pixels((4, 4, 4), "float32"))
    out.close()
    info = probe(tmp_path / "mixed.exr")
    assert info["pixel_type"] == "float"
    assert info["channel_types"] == ["half", "half", "half", "float"]


def test_when_the_file_is_not_an_image_then_probe_returns_nothing(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("shot notes")
    assert probe(notes) == {}


def test_when_the_file_is_missing_then_probe_raises_invalid_input(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        probe(tmp_path / "gone.exr")


def test_when_the_header_exceeds_the_limits_then_probe_says_undecodable_without_allocating(
    tmp_path, good_exr
):
    assert "undecodable" in probe(good_exr, limits=Limits(max_channels=2))
    huge = hostile.exr_claiming_size(good_exr, tmp_path / "huge.exr", 1_000_000, 1_000_000)
    assert "exceeds" in probe(huge)["undecodable"]
