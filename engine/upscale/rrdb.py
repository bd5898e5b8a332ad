"""The RRDB network of ESRGAN and Real-ESRGAN, written from the papers' description.

Module names follow BasicSR (conv_first, body.N.rdbK.convJ, conv_body, conv_upK,
conv_hr, conv_last); engine.upscale.layouts maps the other key layouts onto them.
Real-ESRGAN's x2 and x1 models pixel-unshuffle the input first (12 or 48 input
channels for RGB) and then upsample x4, so scale = 2 ** len(ups) / unshuffle.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv(channels_in: int, channels_out: int) -> nn.Conv2d:
    return nn.Conv2d(channels_in, channels_out, 3, 1, 1)


class DenseBlock(nn.Module):
    """Five 3x3 convs, each seeing the input and every earlier output; residual scaled by 0.2."""

    def __init__(self, features: int, growth: int):
        super().__init__()
        self.conv1 = _conv(features, growth)
        self.conv2 = _conv(features + growth, growth)
        self.conv3 = _conv(features + 2 * growth, growth)
        self.conv4 = _conv(features + 3 * growth, growth)
        self.conv5 = _conv(features + 4 * growth, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            outputs.append(F.leaky_relu(conv(torch.cat(outputs, 1)), 0.2))
        return self.conv5(torch.cat(outputs, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks, residual scaled by 0.2."""

    def __init__(self, features: int, growth: int):
        super().__init__()
        self.rdb1 = DenseBlock(features, growth)
        self.rdb2 = DenseBlock(features, growth)
        self.rdb3 = DenseBlock(features, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int = 3, features: int = 64, blocks: int = 23,
                 growth: int = 32, upsamples: int = 2, unshuffle: int = 1):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.upsamples, self.unshuffle = upsamples, unshuffle
        self.conv_first = _conv(in_channels * unshuffle * unshuffle, features)
        self.body = nn.Sequential(*(RRDB(features, growth) for _ in range(blocks)))
        self.conv_body = _conv(features, features)
        for index in range(1, upsamples + 1):
            self.add_module(f"conv_up{index}", _conv(features, features))
        self.conv_hr = _conv(features, features)
        self.conv_last = _conv(features, out_channels)

    @property
    def scale(self) -> float:
        return 2 ** self.upsamples / self.unshuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B,in_channels,H,W] (H, W multiples of `unshuffle`) -> [B,out_channels,H*scale,W*scale]."""
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        features = self.conv_first(x)
        features = features + self.conv_body(self.body(features))
        for index in range(1, self.upsamples + 1):
            conv = getattr(self, f"conv_up{index}")
            features = F.leaky_relu(conv(F.interpolate(features, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(features), 0.2))
