"""The in-memory Image: layouts stated, not guessed; NCHW <-> HWC; NaN/Inf found and repaired."""

from __future__ import annotations

import numpy as np
import pytest

from rmtc.errors import InvalidInput
from rmtc.vfx.image import Image, find_nonfinite, replace_nonfinite, to_hwc, to_nchw

from .helpers import RGB, RGBA, pixels


def test_when_an_image_is_made_then_its_pixel_type_follows_the_dtype():
    assert Image(pixels((4, 5, 3), "float16"), RGB).pixel_type == "half"
    assert Image(pixels((4, 5, 3), "float32"), RGB).pixel_type == "float"
    assert Image(pixels((4, 5, 1), "uint8"), ("Y",)).pixel_type == "uint8"
    assert Image(pixels((4, 5, 1), "uint16"), ("Y",)).pixel_type == "uint16"


def test_when_the_pixel_type_disagrees_with_the_dtype_then_invalid_input_is_raised():
    with pytest.raises(InvalidInput, match="disagrees"):
        Image(pixels((4, 5, 3), "float32"), RGB, pixel_type="half")


def test_when_channel_names_do_not_match_the_channel_axis_then_invalid_input_names_both():
    with pytest.raises(InvalidInput, match=r"3 channel\(s\) but 4 channel name"):
        Image(pixels((4, 5, 3)), RGBA)


def test_when_the_shape_does_not_fit_the_layout_then_invalid_input_is_raised():
    with pytest.raises(InvalidInput, match="NCHW image needs a 4-D"):
        Image(pixels((4, 5, 3)), RGB, layout="NCHW")
    with pytest.raises(InvalidInput, match="unknown image layout"):
        Image(pixels((4, 5, 3)), RGB, layout="CHW")  # type: ignore[arg-type]


def test_when_pixels_are_float64_then_invalid_input_names_the_dtype():
    with pytest.raises(InvalidInput, match="float64"):
        Image(np.zeros((2, 2, 3)), RGB)


def test_when_converted_to_nchw_then_the_tensor_is_1xcxhxw_float32_and_comes_back_unchanged():
    image = Image(pixels((6, 7, 4), "float16"), RGBA, metadata={"rmtc/x": "1"})
    nchw = to_nchw(image)
    assert nchw.layout == "NCHW"
    assert nchw.pixels.shape == (1, 4, 6, 7)
    assert nchw.pixels.dtype == np.float32 and nchw.pixels.flags.c_contiguous
    assert (nchw.width, nchw.height, nchw.nchannels) == (7, 6, 4)
    assert np.array_equal(nchw.pixels[0, 2], image.pixels[:, :, 2].astype(np.float32))
    back = to_hwc(nchw, pixel_type="half")
    assert back.layout == "HWC" and back.pixel_type == "half"
    assert np.array_equal(back.pixels, image.pixels)
    assert back.metadata == {"rmtc/x": "1"}


def test_when_integer_pixels_go_to_nchw_then_they_are_scaled_to_unit_range():
    image = Image(np.array([[[0, 255]]], dtype=np.uint8), ("Y", "A"))
    assert to_nchw(image).pixels.ravel().tolist() == [0.0, 1.0]


def test_when_an_nchw_batch_of_several_frames_goes_to_hwc_then_invalid_input_says_split_it():
    batch = Image(np.zeros((2, 3, 4, 4), np.float32), RGB, layout="NCHW")
    with pytest.raises(InvalidInput, match="batch of 2 frames"):
        to_hwc(batch)


def test_when_channels_are_selected_then_they_come_in_the_order_asked():
    image = Image(pixels((3, 3, 4)), RGBA)
    picked = image.select(["A", "R"])
    assert picked.channel_names == ("A", "R")
    assert np.array_equal(picked.pixels[..., 0], image.pixels[..., 3])
    with pytest.raises(InvalidInput, match="no channel 'Z'; it has R, G, B, A"):
        image.select(["Z"])


def test_when_every_value_is_finite_then_nothing_is_reported():
    report = find_nonfinite(Image(pixels((8, 8, 3)), RGB))
    assert not report
    assert report.count == 0 and report.first is None


def test_when_pixels_hold_nan_and_inf_then_they_are_counted_and_the_first_is_located():
    px = pixels((8, 9, 3), "float32")
    px[5, 7, 1] = np.nan
    px[2, 3, 2] = np.inf
    px[6, 0, 0] = -np.inf
    px[6, 1, 0] = np.nan
    report = find_nonfinite(Image(px, RGB))
    assert (report.nan, report.posinf, report.neginf, report.count) == (2, 1, 1, 4)
    assert report.first == (3, 2, "B")
    assert "2 NaN and 2 infinite" in report.describe()


def test_when_an_nchw_image_has_a_nan_then_its_location_is_given_in_image_terms():
    px = np.zeros((1, 3, 4, 5), np.float32)
    px[0, 1, 2, 3] = np.nan
    report = find_nonfinite(Image(px, RGB, layout="NCHW"))
    assert report.first == (3, 2, "G") and report.first_index == (0, 1, 2, 3)


def test_when_nonfinite_values_are_replaced_then_the_image_is_finite_and_highlights_stay_bright():
    px = pixels((4, 4, 3), "float16")
    px[0, 0, 0], px[1, 1, 1], px[2, 2, 2] = np.nan, np.inf, -np.inf
    fixed = replace_nonfinite(Image(px, RGB))
    assert not find_nonfinite(fixed)
    assert fixed.pixels[0, 0, 0] == 0
    assert fixed.pixels[1, 1, 1] == np.finfo(np.float16).max
    assert fixed.pixels[2, 2, 2] == np.finfo(np.float16).min
