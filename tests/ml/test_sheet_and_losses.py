from __future__ import annotations

import numpy as np
import pytest
import torch

from rmtc.errors import InvalidInput
from rmtc.ml import losses
from rmtc.ml.sheet import contact_sheet, encode_png, to_display


def test_one_two_and_many_channels_show_as_rgb_in_display_space():
    grey = to_display(np.full((1, 2, 2), 0.18, np.float32))
    assert grey.shape == (2, 2, 3) and np.allclose(grey, grey[..., :1]) and 0.45 < grey[0, 0, 0] < 0.47
    two = to_display(np.ones((2, 1, 1), np.float32))
    assert np.allclose(two[0, 0], [1.0, 1.0, 0.0])
    assert np.allclose(to_display(np.full((5, 1, 1), 7.0, np.float32))[0, 0], [1.0, 1.0, 1.0])


def test_the_sheet_has_input_prediction_target_rows_and_enlarges_upres_inputs():
    inp = np.zeros((3, 4, 4), np.float32)
    pred = np.full((1, 8, 8), 0.5, np.float32)
    tgt = np.ones((1, 8, 8), np.float32)
    sheet = contact_sheet([inp, inp], [pred, pred], [tgt, tgt])
    assert sheet.shape == (3 * 8 + 4 * 2, 2 * 8 + 3 * 2, 3)
    assert np.allclose(sheet[2, 2], 0.0) and np.allclose(sheet[0, 0], 0.5)
    assert sheet[2 + 8 + 2, 2, 0] == pytest.approx(0.7354, abs=1e-3)
    assert np.allclose(sheet[2 + 2 * (8 + 2), 2], 1.0)
    with pytest.raises(InvalidInput, match="as many inputs, predictions and targets"):
        contact_sheet([inp], [], [tgt])


def test_png_bytes_decode_to_the_same_pixels(tmp_path):
    oiio = pytest.importorskip("OpenImageIO")
    image = np.random.default_rng(0).random((5, 7, 3), dtype=np.float32)
    data = encode_png(image)
    path = tmp_path / "sheet.png"
    path.write_bytes(data)
    pixels = oiio.ImageBuf(str(path)).get_pixels(oiio.UINT8)
    assert pixels.shape == (5, 7, 3)
    assert np.array_equal(pixels, (image * 255 + 0.5).astype(np.uint8))


def test_png_refuses_shapes_it_cannot_encode():
    with pytest.raises(InvalidInput, match="cannot encode"):
        encode_png(np.zeros((2, 2, 2), np.float32))


def test_metrics_on_identical_and_opposite_images():
    a = torch.rand(1, 2, 16, 16)
    assert float(losses.l1(a, a)) == 0.0
    assert float(losses.ssim(a, a)) == pytest.approx(1.0, abs=1e-5)
    assert losses.psnr(a, a) == float("inf")
    assert losses.psnr(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.1)) == pytest.approx(20.0)
    mask = (torch.arange(16.0).reshape(1, 1, 4, 4) > 7).float()
    assert losses.iou(mask, mask) == 1.0 and losses.iou(mask, 1 - mask) == 0.0
    assert losses.iou(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)) == 1.0
    assert float(losses.ssim(torch.rand(1, 1, 3, 3), torch.rand(1, 1, 3, 3))) < 1.0
