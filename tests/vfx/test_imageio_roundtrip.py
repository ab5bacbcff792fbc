"""Real files through OpenImageIO: what is written is what is read, format by format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rmtc.vfx.image import Image, to_nchw
from rmtc.vfx.imageio import read_image, write_image
from rmtc.vfx.media import probe

from .helpers import RGB, pixels

CHANNELS = {1: ("A",), 3: RGB, 4: ("R", "G", "B", "A"), 5: ("R", "G", "B", "A", "Z")}


@pytest.mark.parametrize("tiled", [False, True], ids=["scanline", "tiled"])
@pytest.mark.parametrize("ptype", ["half", "float"])
@pytest.mark.parametrize("count", [1, 3, 4, 5])
def test_when_an_exr_is_written_and_read_then_pixels_channels_and_type_are_exact(
    tmp_path, count, ptype, tiled
):
    dtype = "float16" if ptype == "half" else "float32"
    image = Image(pixels((37, 53, count), dtype, seed=count), CHANNELS[count])
    path = write_image(tmp_path / "f.exr", image, pixel_type=ptype, tiled=tiled, tile_size=16)
    back = read_image(path)
    assert back.channel_names == CHANNELS[count]
    assert back.pixel_type == ptype and back.layout == "HWC"
    assert np.array_equal(back.pixels, image.pixels)
    info = probe(path)
    assert info["tiled"] is tiled and info["pixel_type"] == ptype
    assert info.get("tile_size") == ([16, 16] if tiled else None)


def test_when_exr_channels_have_layer_names_then_the_names_survive(tmp_path):
    names = ("diffuse.R", "diffuse.G", "diffuse.B", "N.x", "N.y", "N.z")
    image = Image(pixels((8, 8, 6), "float32"), names)
    back = read_image(write_image(tmp_path / "aov.exr", image))
    by_name = dict(zip(back.channel_names, np.moveaxis(back.pixels, 2, 0), strict=True))
    assert set(by_name) == set(names)
    for i, name in enumerate(names):
        assert np.array_equal(by_name[name], image.pixels[..., i])


def test_when_channels_are_requested_then_only_those_are_read_in_that_order(tmp_path):
    image = Image(pixels((9, 10, 5)), CHANNELS[5])
    back = read_image(write_image(tmp_path / "f.exr", image, tiled=True), channels=["Z", "R"])
    assert back.channel_names == ("Z", "R")
    assert np.array_equal(back.pixels, image.pixels[..., [4, 0]])


def test_when_an_image_has_overscan_then_its_data_and_display_windows_round_trip(tmp_path):
    image = Image(pixels((20, 30, 3)), RGB, origin=(-5, -4), display_window=(0, 0, 19, 11))
    path = write_image(tmp_path / "overscan.exr", image)
    back = read_image(path)
    assert back.origin == (-5, -4) and back.display_window == (0, 0, 19, 11)
    info = probe(path)
    assert info["data_window"] == [-5, -4, 24, 15]
    assert info["display_window"] == [0, 0, 19, 11]


@pytest.mark.parametrize("compression", ["none", "zip", "piz", "rle"])
def test_when_a_lossless_exr_compression_is_chosen_then_pixels_are_exact(tmp_path, compression):
    image = Image(pixels((16, 24, 3)), RGB)
    path = write_image(tmp_path / "c.exr", image, compression=compression)
    assert np.array_equal(read_image(path).pixels, image.pixels)
    assert probe(path)["compression"] == compression


def test_when_a_float_image_is_written_to_exr_without_a_type_then_it_stays_float(tmp_path):
    image = Image(pixels((4, 4, 3), "float32"), RGB)
    assert read_image(write_image(tmp_path / "f.exr", image)).pixel_type == "float"
    half = Image(pixels((4, 4, 3), "uint8"), RGB)
    assert read_image(write_image(tmp_path / "h.exr", half)).pixel_type == "half"


def test_when_an_nchw_frame_is_written_then_it_is_stored_as_hwc(tmp_path):
    image = Image(pixels((6, 8, 3), "float32"), RGB)
    back = read_image(write_image(tmp_path / "n.exr", to_nchw(image), pixel_type="float"))
    assert np.array_equal(back.pixels, image.pixels)


@pytest.mark.parametrize(
    ("ext", "ptype", "count", "tiled"),
    [
        (".tif", "uint8", 3, False),
        (".tif", "uint16", 4, False),
        (".tif", "float", 5, False),
        (".tif", "float", 1, True),
        (".tiff", "uint16", 3, True),
        (".png", "uint8", 1, False),
        (".png", "uint8", 4, False),
        (".png", "uint16", 3, False),
        (".dpx", "uint8", 3, False),
        (".dpx", "uint16", 3, False),
        (".dpx", "uint16", 4, False),
    ],
)
def test_when_a_lossless_format_is_written_and_read_then_pixels_are_exact(tmp_path, ext, ptype, count, tiled):
    dtype = {"uint8": "uint8", "uint16": "uint16", "float": "float32"}[ptype]
    image = Image(pixels((19, 23, count), dtype, seed=count), CHANNELS[count])
    path = write_image(tmp_path / f"f{ext}", image, pixel_type=ptype, tiled=tiled, tile_size=16)
    back = read_image(path)
    assert back.pixel_type == ptype
    assert back.nchannels == count
    assert np.array_equal(back.pixels, image.pixels)


def test_when_floats_are_written_to_png_then_they_become_rounded_code_values(tmp_path):
    values = np.array([[[0.0, 0.5, 1.0], [-0.2, 1.7, 0.25]]], dtype=np.float32)
    back = read_image(write_image(tmp_path / "f.png", Image(values, RGB)))
    assert back.pixel_type == "uint16"
    expected = np.clip(np.rint(values * 65535), 0, 65535).astype(np.uint16)
    assert np.array_equal(back.pixels, expected)


@pytest.mark.parametrize("count", [1, 3])
def test_when_a_smooth_image_goes_through_jpeg_then_it_comes_back_close(tmp_path, count):
    ramp = np.linspace(0, 1, 64, dtype=np.float32)
    smooth = np.repeat((ramp[None, :, None] * ramp[:, None, None]), count, axis=2)
    image = Image(smooth, CHANNELS[count] if count == 3 else ("Y",))
    back = read_image(write_image(tmp_path / "f.jpg", image))
    assert back.pixel_type == "uint8" and back.nchannels == count
    assert np.abs(back.pixels.astype(np.float32) / 255 - smooth).max() < 0.04


def test_when_a_file_is_read_then_the_path_type_does_not_matter(tmp_path):
    image = Image(pixels((4, 4, 3)), RGB)
    path = write_image(str(tmp_path / "s.exr"), image)
    assert isinstance(path, Path)
    assert np.array_equal(read_image(str(path)).pixels, image.pixels)
