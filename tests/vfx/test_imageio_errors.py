"""Clear InvalidInput errors: missing, damaged, unsupported and oversize files, wrong channels and types."""

from __future__ import annotations

import pytest

from rmtc.errors import InvalidInput
from rmtc.vfx._oiio import Limits
from rmtc.vfx.image import Image
from rmtc.vfx.imageio import read_image, write_image

from . import hostile
from .helpers import RGB, pixels


def test_when_the_file_is_missing_then_invalid_input_names_it(tmp_path):
    with pytest.raises(InvalidInput, match=r"plate\.1001\.exr: it does not exist") as err:
        read_image(tmp_path / "plate.1001.exr")
    assert err.value.hint


def test_when_the_path_is_a_directory_then_invalid_input_says_it_is_not_a_file(tmp_path):
    with pytest.raises(InvalidInput, match="is not a file"):
        read_image(tmp_path)


@pytest.mark.parametrize(
    "make",
    [
        lambda good, d: hostile.truncated(good, d / "trunc.exr", keep=0.05),
        lambda good, d: hostile.random_with_magic(d / "noise.exr"),
        lambda good, d: (d / "text.exr").write_bytes(b"not an image\n" * 20) and d / "text.exr",
        lambda good, d: (d / "empty.exr").write_bytes(b"") or d / "empty.exr",
    ],
    ids=["truncated-header", "random-bytes", "text", "empty"],
)
def test_when_the_file_is_damaged_then_invalid_input_names_it_and_says_damaged(tmp_path, good_exr, make):
    path = make(good_exr, tmp_path)
    with pytest.raises(InvalidInput, match="damaged") as err:
        read_image(path)
    assert str(path) in err.value.message
    assert err.value.details["reason"]


def test_when_the_pixels_are_cut_off_then_reading_says_the_file_is_damaged(tmp_path, good_exr):
    path = hostile.truncated(good_exr, tmp_path / "half.exr", keep=0.6)
    with pytest.raises(InvalidInput, match=r"half\.exr is damaged: its pixels cannot be decoded"):
        read_image(path)


def test_when_the_header_claims_a_huge_image_then_it_is_refused_before_reading(tmp_path, good_exr):
    path = hostile.exr_claiming_size(good_exr, tmp_path / "huge.exr", 1_000_000, 1_000_000)
    with pytest.raises(InvalidInput, match=r"huge\.exr"):
        read_image(path)


def test_when_an_image_exceeds_the_callers_limits_then_it_is_refused(tmp_path, good_exr):
    with pytest.raises(InvalidInput, match=r"48 x 32 pixels, above the limit of 32 x 32"):
        read_image(good_exr, limits=Limits(max_width=32, max_height=32))
    with pytest.raises(InvalidInput, match="above the limit of 0 MB"):
        read_image(good_exr, limits=Limits(max_image_mb=0))


def test_when_the_extension_is_not_an_image_format_then_invalid_input_says_unsupported(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(InvalidInput, match="'.txt' is not an image format"):
        read_image(path)
    with pytest.raises(InvalidInput, match="unsupported image format '.gif'"):
        write_image(tmp_path / "a.gif", Image(pixels((4, 4, 3), "uint8"), RGB))


def test_when_a_requested_channel_does_not_exist_then_invalid_input_lists_what_there_is(good_exr):
    with pytest.raises(InvalidInput, match=r"no channel\(s\) 'A'; it has R, G, B"):
        read_image(good_exr, channels=["R", "A"])


def test_when_a_format_cannot_store_the_pixel_type_then_invalid_input_names_the_choices(tmp_path):
    image = Image(pixels((4, 4, 3)), RGB)
    with pytest.raises(InvalidInput, match="png does not store 'half' pixels") as err:
        write_image(tmp_path / "a.png", image, pixel_type="half")
    assert "'uint8' or 'uint16'" in (err.value.hint or "")
    with pytest.raises(InvalidInput, match="openexr does not store 'uint8'"):
        write_image(tmp_path / "a.exr", image, pixel_type="uint8")


def test_when_a_format_cannot_hold_the_channel_count_then_invalid_input_is_raised_and_nothing_written(
    tmp_path,
):
    image = Image(pixels((4, 4, 5), "uint8"), ("R", "G", "B", "A", "Z"))
    with pytest.raises(InvalidInput, match="5-channel"):
        write_image(tmp_path / "a.png", image)
    assert list(tmp_path.iterdir()) == []


def test_when_tiles_are_asked_of_a_format_without_them_then_invalid_input_is_raised(tmp_path):
    with pytest.raises(InvalidInput, match="png has no tiles"):
        write_image(tmp_path / "a.png", Image(pixels((4, 4, 3), "uint8"), RGB), tiled=True)


def test_when_the_exr_compression_is_unknown_then_invalid_input_lists_the_known_ones(tmp_path):
    with pytest.raises(InvalidInput, match="unknown EXR compression 'gzip'") as err:
        write_image(tmp_path / "a.exr", Image(pixels((4, 4, 3)), RGB), compression="gzip")
    assert "piz" in (err.value.hint or "")


def test_when_the_directory_does_not_exist_then_invalid_input_says_so(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        write_image(tmp_path / "missing" / "a.exr", Image(pixels((4, 4, 3)), RGB))


def test_when_a_metadata_value_has_no_header_type_then_invalid_input_names_the_attribute(tmp_path):
    with pytest.raises(InvalidInput, match="header attribute 'owner'"):
        write_image(tmp_path / "a.exr", Image(pixels((4, 4, 3)), RGB), metadata={"owner": object()})
    assert list(tmp_path.iterdir()) == []
