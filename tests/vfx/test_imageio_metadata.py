"""Header metadata: rmtc provenance attributes written and read back, and kept through read -> write."""

from __future__ import annotations

import json

import numpy as np
import OpenEXR

from rmtc.vfx.image import Image
from rmtc.vfx.imageio import read_image, write_image
from rmtc.vfx.media import probe

from .helpers import RGB, pixels


def test_when_rmtc_attributes_are_written_then_they_are_strings_in_the_exr_header(tmp_path):
    path = write_image(
        tmp_path / "out.exr",
        Image(pixels((8, 8, 3)), RGB),
        metadata={
            "rmtc/model_version": "9b1c2d",
            "rmtc/inference": {"id": "inf-1", "frames": [1001, 1002]},
            "rmtc/frame": 1001,
            "rmtc/psnr": 38.5,
        },
    )
    with OpenEXR.File(str(path)) as exr:  # read with the other library, to see the file itself
        header = dict(exr.header())  # the library empties its own dict on close
    assert header["rmtc/model_version"] == "9b1c2d"
    assert json.loads(header["rmtc/inference"]) == {"frames": [1001, 1002], "id": "inf-1"}
    assert header["rmtc/frame"] == "1001"
    assert header["rmtc/psnr"] == "38.5"
    back = read_image(path)
    assert back.metadata["rmtc/model_version"] == "9b1c2d"
    assert probe(path)["rmtc_attributes"]["rmtc/frame"] == "1001"
    assert probe(path)["frame"] == 1001


def test_when_a_frame_is_read_and_written_then_its_header_is_kept_and_can_be_extended(tmp_path):
    src = write_image(
        tmp_path / "plate.exr",
        Image(pixels((8, 8, 3)), RGB),
        metadata={"rmtc/source": "plate", "Copyright": "Studio", "show": "alpha", "rmtc/keep": "yes"},
    )
    frame = read_image(src)
    out = write_image(
        tmp_path / "result.exr",
        frame,
        metadata={"rmtc/model_version": "v7", "rmtc/keep": None, "rmtc/source": "plate-v2"},
    )
    meta = read_image(out).metadata
    assert meta["Copyright"] == "Studio" and meta["show"] == "alpha"
    assert meta["rmtc/model_version"] == "v7"
    assert meta["rmtc/source"] == "plate-v2"
    assert "rmtc/keep" not in meta


def test_when_typed_attributes_are_read_and_written_then_they_keep_their_types(tmp_path):
    matrix = tuple(float(v) for v in range(16))
    src = tmp_path / "typed.exr"
    header = {"worldToCamera": np.array(matrix, dtype=np.float32).reshape(4, 4), "rmtc/x": "1"}
    with OpenEXR.File(header, {"RGB": pixels((4, 4, 3))}) as exr:
        exr.write(str(src))
    frame = read_image(src)
    assert frame.metadata_types["worldToCamera"] == "matrix"
    out = write_image(tmp_path / "copy.exr", frame)
    again = read_image(out)
    assert again.metadata_types["worldToCamera"] == "matrix"
    assert tuple(again.metadata["worldToCamera"]) == matrix
    assert tuple(again.metadata["screenWindowCenter"]) == (0.0, 0.0)


def test_when_a_frame_changes_format_then_the_old_encoding_attributes_are_not_carried(tmp_path):
    tif = write_image(tmp_path / "a.tif", Image(pixels((8, 8, 3), "uint16"), RGB), compression="lzw")
    frame = read_image(tif)
    assert frame.metadata["compression"] == "lzw"
    exr = read_image(write_image(tmp_path / "b.exr", frame))
    assert exr.metadata["compression"] == "zip"
    assert not any(k.startswith("tiff:") for k in exr.metadata)


def test_when_a_dpx_is_copied_then_its_own_attributes_come_along(tmp_path):
    frame = read_image(write_image(tmp_path / "a.dpx", Image(pixels((6, 6, 3), "uint16"), RGB)))
    copy = read_image(write_image(tmp_path / "b.dpx", frame))
    assert copy.metadata == frame.metadata
    assert np.array_equal(copy.pixels, frame.pixels)


def test_when_a_colour_space_is_recorded_then_probe_reports_it(tmp_path):
    path = write_image(
        tmp_path / "cg.exr", Image(pixels((4, 4, 3)), RGB), metadata={"oiio:ColorSpace": "ACEScg"}
    )
    assert probe(path)["colourspace"] == "lin_ap1_scene"
    plain = write_image(tmp_path / "plain.exr", Image(pixels((4, 4, 3)), RGB))
    assert probe(plain)["colourspace"] is None
