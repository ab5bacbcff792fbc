"""Losses and image metrics on ``N x C x H x W`` tensors.

The trainer applies these in the model's working space (after the HDR curve, see
:class:`~rmtc.ml.nets.ImageModel`), where values of ordinary footage lie roughly in [0, 1]: SSIM's
constants and PSNR's peak assume that range.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor


def l1(pred: Tensor, target: Tensor) -> Tensor:
    return (pred - target).abs().mean()


def _gaussian_window(size: int, sigma: float, channels: int, like: Tensor) -> Tensor:
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(pred: Tensor, target: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Mean structural similarity (Wang et al. 2004), per channel, Gaussian window, valid region only.

    Images smaller than the window use a window as large as their shorter side (at least 1 pixel).
    """
    channels = pred.shape[1]
    size = max(1, min(window, pred.shape[2], pred.shape[3]))
    w = _gaussian_window(size, sigma, channels, pred)
    c1, c2 = 0.01**2, 0.03**2
    mu_x = F.conv2d(pred, w, groups=channels)
    mu_y = F.conv2d(target, w, groups=channels)
    sxx = F.conv2d(pred * pred, w, groups=channels) - mu_x**2
    syy = F.conv2d(target * target, w, groups=channels) - mu_y**2
    sxy = F.conv2d(pred * target, w, groups=channels) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2)
    return (num / den).mean()


def psnr(pred: Tensor, target: Tensor, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical images."""
    mse = float(((pred.double() - target.double()) ** 2).mean())
    if mse == 0.0:
        return float("inf")
    return float(10.0 * torch.log10(torch.tensor(peak * peak / mse, dtype=torch.float64)))


def iou(pred: Tensor, target: Tensor, threshold: float = 0.5) -> float:
    """Intersection over union of the masks ``pred > threshold`` and ``target > threshold``.

    Two empty masks agree perfectly: 1.
    """
    a = pred > threshold
    b = target > threshold
    union = int((a | b).sum())
    if union == 0:
        return 1.0
    return int((a & b).sum()) / union
