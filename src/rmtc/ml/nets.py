"""Image-to-image networks that TorchScript can script and that take frames of any size.

A network is rebuilt from its architecture name and a :class:`NetConfig`, nothing else: that pair is
what weights files record, so ``rmtc model push weights.safetensors --architecture unet`` and a resumed
checkpoint build exactly the module that was trained. Every network here is fully convolutional (no
normalisation over the whole image), so tiled inference matches whole-frame inference.

:class:`ImageModel` wraps a network with the HDR curve: the network sees and predicts
``curve(linear)``, and the model returns linear pixels. Training compares ``net(curve(x))`` with
``curve(y)``, which is the loss on curve-mapped prediction and target, so highlights of linear EXR
plates do not dominate it. The curve is ``sign(v) * log1p(|v|)``: monotone, defined for negatives,
close to identity below 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from types import MappingProxyType
from typing import Any, Final

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from rmtc.errors import InvalidInput

HDR_CURVES: Final = ("none", "log")
SIZES: Final = ("small", "medium", "large")
#: log1p(65504), the largest half-precision float: the decoded curve never overflows a half tensor.
MAX_LOG: Final = 11.0
#: Channel counts above this are refused (Nuke's predefined channels number 19; data may carry more).
MAX_CHANNELS: Final = 64


@dataclass(frozen=True, slots=True)
class NetConfig:
    """Everything needed to rebuild a model, with its architecture name.

    Attributes:
        architecture: a name in :data:`ARCHITECTURES`.
        size: ``small`` (~0.5 M weights), ``medium`` (~7.8 M, CopyCat's default scale) or ``large``.
        in_channels / out_channels: any counts from 1 to :data:`MAX_CHANNELS`.
        scale: output size over input size (2 for a 2x upres); 1 to 8.
        residual: predict a correction added to the (resized) input; needs equal channel counts.
        hdr: ``none`` (pixels as they are) or ``log`` (the curve described in the module docstring).
    """

    architecture: str = "unet"
    size: str = "small"
    in_channels: int = 3
    out_channels: int = 3
    scale: int = 1
    residual: bool = False
    hdr: str = "log"

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise InvalidInput(
                f"unknown architecture {self.architecture!r}", hint=f"use one of: {', '.join(ARCHITECTURES)}"
            )
        if self.size not in SIZES:
            raise InvalidInput(f"unknown model size {self.size!r}", hint=f"use one of: {', '.join(SIZES)}")
        for name in ("in_channels", "out_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CHANNELS:
                raise InvalidInput(
                    f"{name} must be an integer from 1 to {MAX_CHANNELS}, got {value!r}",
                    hint="give the channel counts of the input and target frames",
                )
        if not isinstance(self.scale, int) or isinstance(self.scale, bool) or not 1 <= self.scale <= 8:
            raise InvalidInput(f"scale must be an integer from 1 to 8, got {self.scale!r}", hint="use 1 or 2")
        if self.hdr not in HDR_CURVES:
            raise InvalidInput(f"unknown HDR curve {self.hdr!r}", hint=f"use one of: {', '.join(HDR_CURVES)}")
        if self.residual and self.in_channels != self.out_channels:
            raise InvalidInput(
                f"a residual model needs equal channel counts, got {self.in_channels} in and "
                f"{self.out_channels} out",
                hint="set residual = false",
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetConfig:
        """Rebuild from :meth:`to_dict` output, refusing unknown keys (a newer rmtc wrote them)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(
                f"unknown model config field(s): {', '.join(unknown)}",
                hint="upgrade rmtc to read these weights",
            )
        return cls(**dict(data))


def conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.LeakyReLU(0.1, inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.LeakyReLU(0.1, inplace=True),
    )


class Up(nn.Module):
    """Upsample by 2, join the skip connection of the same scale, convolve."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        self.conv = conv_block(2 * cout, cout)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        out: Tensor = self.conv(torch.cat([self.up(x), skip], dim=1))
        return out


#: size -> (width of the first level, number of 2x downsamplings)
UNET_SIZES: Final = MappingProxyType({"small": (16, 3), "medium": (32, 4), "large": (48, 4)})


class UNet(nn.Module):
    """A U-Net: a multi-scale encoder-decoder with skip connections at every scale.

    Frames of any height and width are padded (edge pixels repeated) to a multiple of ``multiple`` and
    the result cropped back, so nothing about the resolution is baked in when scripted.
    """

    __constants__ = ["multiple", "scale", "residual"]

    def __init__(self, config: NetConfig):
        super().__init__()
        width, levels = UNET_SIZES[config.size]
        widths = [width * 2**i for i in range(levels + 1)]
        self.multiple = 2**levels
        self.scale = config.scale
        self.residual = config.residual
        self.down = nn.ModuleList()
        cin = config.in_channels
        for w in widths[:-1]:
            self.down.append(conv_block(cin, w))
            cin = w
        self.bottleneck = conv_block(widths[-2], widths[-1])
        self.up = nn.ModuleList(Up(widths[i + 1], widths[i]) for i in reversed(range(levels)))
        self.head = nn.Conv2d(widths[0], config.out_channels * config.scale**2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(config.scale)

    def forward(self, x: Tensor) -> Tensor:
        h = x.shape[2]
        w = x.shape[3]
        pad_h = (self.multiple - h % self.multiple) % self.multiple
        pad_w = (self.multiple - w % self.multiple) % self.multiple
        y = F.pad(x, [0, pad_w, 0, pad_h], mode="replicate")
        skips: list[Tensor] = []
        for block in self.down:
            y = block(y)
            skips.append(y)
            y = F.max_pool2d(y, 2)
        y = self.bottleneck(y)
        for i, up in enumerate(self.up):
            y = up(y, skips[len(skips) - 1 - i])
        y = self.shuffle(self.head(y))
        y = y[:, :, : h * self.scale, : w * self.scale]
        if self.residual:
            if self.scale > 1:
                x = F.interpolate(x, scale_factor=float(self.scale), mode="bilinear", align_corners=False)
            y = y + x
        out: Tensor = y
        return out

    @staticmethod
    def infer_config(state: Mapping[str, Tensor], prefix: str = "", scale: int = 1) -> NetConfig:
        """The config of a U-Net state dict, read from its tensor shapes.

        ``scale`` and ``residual`` cannot be told apart from channel counts by shape alone, so the scale
        is given and ``residual`` is off; ``hdr`` is the default.
        """
        try:
            first = state[f"{prefix}down.0.0.weight"]
            head = state[f"{prefix}head.weight"]
        except KeyError as exc:
            raise InvalidInput(
                f"these weights are not a U-Net: no {exc.args[0]!r} tensor",
                hint="name the architecture the weights were trained with",
            ) from None
        levels = sum(1 for k in state if k.startswith(f"{prefix}down.") and k.endswith(".0.weight"))
        width = int(first.shape[0])
        size = next((s for s, (w, n) in UNET_SIZES.items() if (w, n) == (width, levels)), None)
        if size is None:
            raise InvalidInput(
                f"a U-Net of width {width} with {levels} levels is not one of the sizes {', '.join(SIZES)}",
                hint="give the full model config",
            )
        out_total = int(head.shape[0])
        if out_total % (scale * scale):
            raise InvalidInput(
                f"the U-Net head has {out_total} channels, which scale {scale} cannot divide",
                hint="give the scale the weights were trained with",
            )
        return NetConfig("unet", size, int(first.shape[1]), out_total // (scale * scale), scale)


@dataclass(frozen=True, slots=True)
class Architecture:
    """A buildable network family: ``build(config)`` returns the bare network."""

    name: str
    build: Callable[[NetConfig], nn.Module]
    infer_config: Callable[[Mapping[str, Tensor], str, int], NetConfig]
    description: str


#: The built-in architectures by name. Immutable: a plug-in architecture comes through entry points.
ARCHITECTURES: Final[Mapping[str, Architecture]] = MappingProxyType(
    {"unet": Architecture("unet", UNet, UNet.infer_config, "U-Net encoder-decoder with skips, any H x W")}
)


class ImageModel(nn.Module):
    """A network between the HDR curve and its inverse: linear pixels in, linear pixels out.

    Input and output are ``N x C x H x W`` float tensors; output size is ``scale`` times the input.
    """

    __constants__ = ["hdr", "in_channels", "out_channels", "scale"]

    def __init__(self, net: nn.Module, config: NetConfig):
        super().__init__()
        self.net = net
        self.hdr = HDR_CURVES.index(config.hdr)
        self.in_channels = config.in_channels
        self.out_channels = config.out_channels
        self.scale = config.scale
        self.config = config

    def encode(self, x: Tensor) -> Tensor:
        """Linear pixels to the space the network works in."""
        if self.hdr == 1:
            return torch.sign(x) * torch.log1p(torch.abs(x))
        return x

    def decode(self, z: Tensor) -> Tensor:
        """The inverse of :meth:`encode`, bounded so a half-precision result never overflows."""
        if self.hdr == 1:
            return torch.sign(z) * (torch.exp(torch.abs(z).clamp(max=11.0)) - 1.0)  # MAX_LOG
        return z

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.net(self.encode(x)))


def build_model(config: NetConfig) -> ImageModel:
    """A fresh model for ``config``, initialised from torch's global RNG (seed it for repeatability)."""
    return ImageModel(ARCHITECTURES[config.architecture].build(config), config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
