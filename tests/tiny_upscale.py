"""Tiny ESRGAN-family networks with seeded random weights, written independently of engine.upscale.

`reference_esrgan` builds the original ESRGAN structure (one nn.Sequential named `model`, so its
state dict has the original "model.0.weight" / "model.1.sub.N.RDB1.conv1.0.weight" keys);
`rename` turns those keys into the ESRGAN "new arch" or BasicSR/Real-ESRGAN layout. With
`unshuffle` 2 or 4 the network first folds 2x2 / 4x4 pixel blocks into channels, as
Real-ESRGAN's x2 and x1 models do.
"""
from __future__ import annotations

import re

import torch
from torch import nn


def _conv(a, b):
    return nn.Conv2d(a, b, 3, 1, 1)


class _Shortcut(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.sub = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.sub(x)


class _DenseBlock(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Sequential(_conv(nf + (i - 1) * gc, gc), nn.LeakyReLU(0.2)))
        self.conv5 = nn.Sequential(_conv(nf + 4 * gc, nf))

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = self.conv2(torch.cat((x, x1), 1))
        x3 = self.conv3(torch.cat((x, x1, x2), 1))
        x4 = self.conv4(torch.cat((x, x1, x2, x3), 1))
        return x + 0.2 * self.conv5(torch.cat((x, x1, x2, x3, x4), 1))


class _RRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.RDB1, self.RDB2, self.RDB3 = _DenseBlock(nf, gc), _DenseBlock(nf, gc), _DenseBlock(nf, gc)

    def forward(self, x):
        return x + 0.2 * self.RDB3(self.RDB2(self.RDB1(x)))


def _unshuffle(x, factor):
    b, c, h, w = x.shape
    x = x.view(b, c, h // factor, factor, w // factor, factor)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(b, c * factor * factor, h // factor, w // factor)


class ReferenceESRGAN(nn.Module):
    def __init__(self, in_nc=3, out_nc=3, nf=8, nb=1, gc=4, upsamples=2, unshuffle=1):
        super().__init__()
        self.unshuffle = unshuffle
        layers = [_conv(in_nc * unshuffle * unshuffle, nf),
                  _Shortcut(*[_RRDB(nf, gc) for _ in range(nb)], _conv(nf, nf))]
        for _ in range(upsamples):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), _conv(nf, nf), nn.LeakyReLU(0.2)]
        layers += [_conv(nf, nf), nn.LeakyReLU(0.2), _conv(nf, out_nc)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        if self.unshuffle > 1:
            x = _unshuffle(x, self.unshuffle)
        return self.model(x)


def reference_esrgan(seed=0, **sizes) -> ReferenceESRGAN:
    """Seeded random weights; the last conv is scaled so outputs sit around 0.5 (little clamping)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ReferenceESRGAN(**sizes).eval()
    last = net.model[-1]
    with torch.no_grad():
        last.weight.mul_(0.2)
        last.bias.fill_(0.5)
    return net


def rename(state: dict, layout: str) -> dict:
    """Original ESRGAN keys -> "old" (unchanged), "new" (ESRGAN new arch) or "basicsr" (Real-ESRGAN)."""
    if layout == "old":
        return dict(state)
    tops = sorted({int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.weight$", k))})
    blocks = max(int(m.group(1)) for k in state if (m := re.match(r"model\.1\.sub\.(\d+)\.weight$", k)))
    ups = tops[1:-2]  # after the first conv: the upsampling convs, then the HR conv and the last conv
    new_names = {0: "conv_first", tops[-2]: "HRconv", tops[-1]: "conv_last",
                 **{index: f"upconv{n + 1}" for n, index in enumerate(ups)}}
    basicsr_names = {"HRconv": "conv_hr", "trunk_conv": "conv_body"}
    out = {}
    for key, value in state.items():
        kind = key.rsplit(".", 1)[1]
        if m := re.match(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.", key):
            n, rdb, conv = m.groups()
            name = f"RRDB_trunk.{n}.RDB{rdb}.conv{conv}" if layout == "new" else f"body.{n}.rdb{rdb}.conv{conv}"
        elif key.startswith(f"model.1.sub.{blocks}."):
            name = "trunk_conv"
        else:
            name = new_names[int(key.split(".")[1])]
        if layout == "basicsr":
            name = basicsr_names.get(name, re.sub(r"^upconv(\d+)$", r"conv_up\1", name))
        out[f"{name}.{kind}"] = value
    return out


def save_upscale_model(net: ReferenceESRGAN, path, layout: str = "old"):
    from pathlib import Path

    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = rename({k: v.contiguous() for k, v in net.state_dict().items()}, layout)
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save({"params_ema": state}, str(path))
    return path
