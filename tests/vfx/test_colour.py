"""OpenColorIO conversions with the built-in config: known values, round trips, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from rmtc.errors import InvalidInput
from rmtc.vfx.colour import colour_spaces, convert_colour, load_config, resolve_colour_space
from rmtc.vfx.image import Image, to_nchw
from rmtc.vfx.imageio import read_image, write_image

from .helpers import RGB, RGBA, pixels

SRGB = "sRGB Encoded Rec.709 (sRGB)"


def test_when_the_default_config_is_loaded_then_it_is_the_built_in_aces_cg_config():
    assert load_config().getName().startswith("cg-config")
    assert {"ACEScg", "ACES2065-1", SRGB, "Raw"} <= set(colour_spaces())
    assert resolve_colour_space("scene_linear") == "ACEScg"
    assert resolve_colour_space("lin_ap1_scene") == "ACEScg"


def test_when_mid_grey_goes_from_acescg_to_srgb_then_it_has_the_known_encoded_value():
    grey = Image(np.full((2, 2, 3), 0.18, np.float32), RGB)
    out = convert_colour(grey, SRGB, src="ACEScg")
    assert np.allclose(out.pixels, 0.4614, atol=1e-3)
    assert out.metadata["oiio:ColorSpace"] == SRGB


def test_when_converted_there_and_back_then_the_image_returns_and_alpha_is_untouched():
    image = Image(pixels((16, 16, 4), "float32", hdr=False), RGBA, metadata={"oiio:ColorSpace": "ACEScg"})
    there = convert_colour(image, "Linear Rec.709 (sRGB)")
    assert not np.allclose(there.pixels[..., :3], image.pixels[..., :3], atol=1e-3)
    back = convert_colour(there, "ACEScg")
    assert np.allclose(back.pixels, image.pixels, atol=1e-5)
    assert np.array_equal(there.pixels[..., 3], image.pixels[..., 3])


def test_when_a_half_exr_is_converted_then_the_type_layout_and_recorded_space_follow(tmp_path):
    path = write_image(
        tmp_path / "cg.exr", Image(pixels((8, 8, 3)), RGB), metadata={"oiio:ColorSpace": "ACEScg"}
    )
    frame = read_image(path)
    out = convert_colour(frame, "ACES2065-1")
    assert out.pixel_type == "half"
    written = read_image(write_image(tmp_path / "ap0.exr", out))
    assert convert_colour(written, "ACEScg").metadata["oiio:ColorSpace"] == "ACEScg"
    nchw = convert_colour(to_nchw(frame), "ACES2065-1")
    assert nchw.layout == "NCHW"
    assert np.allclose(nchw.pixels[0].transpose(1, 2, 0), out.pixels.astype(np.float32), atol=2e-2)


def test_when_an_integer_image_is_converted_then_it_stays_integer():
    image = Image(np.full((2, 2, 3), 118, np.uint8), RGB)
    out = convert_colour(image, "ACEScg", src=SRGB)
    assert out.pixel_type == "uint8"
    assert 40 < int(out.pixels[0, 0, 0]) < 50  # sRGB 118/255 is about 0.18 linear


def test_when_the_colour_space_is_unknown_then_invalid_input_names_it_and_lists_valid_ones():
    with pytest.raises(InvalidInput, match="unknown colour space 'ACES CG'") as err:
        convert_colour(Image(pixels((2, 2, 3)), RGB), "ACES CG", src="ACEScg")
    assert "ACEScg" in (err.value.hint or "")


def test_when_no_source_space_is_given_or_recorded_then_invalid_input_asks_for_one():
    with pytest.raises(InvalidInput, match="records no colour space"):
        convert_colour(Image(pixels((2, 2, 3)), RGB), "ACEScg")


def test_when_the_colour_channels_are_missing_then_invalid_input_lists_the_channels():
    with pytest.raises(InvalidInput, match="no channel 'R'; it has Y"):
        convert_colour(Image(pixels((2, 2, 1)), ("Y",)), "ACEScg", src="ACEScg")


def test_when_the_config_cannot_be_loaded_then_invalid_input_suggests_built_in_ones(tmp_path):
    with pytest.raises(InvalidInput, match="cannot load OpenColorIO config") as err:
        load_config(tmp_path / "missing.ocio")
    assert "ocio://default" in (err.value.hint or "")


def test_when_the_studio_config_is_named_then_camera_spaces_are_available():
    assert "ARRI LogC4" in colour_spaces("ocio://studio-config-latest")
