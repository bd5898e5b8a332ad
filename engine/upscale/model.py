"""UPSCALE_MODEL: a loaded upscale network and what the nodes need to know about it.

Shaped like the object ComfyUI passes (spandrel's descriptor): `.model` is the
torch module, `.scale` the factor, calling it upscales a [B,C,H,W] batch in 0..1.
Shared by every node that uses it (cached): nodes never change it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class UpscaleModel:
    def __init__(self, module, name: str, layout: str):
        self.model = module.eval().requires_grad_(False)
        self.name = name
        self.layout = layout
        self.architecture = "ESRGAN"
        self.scale = int(module.scale)
        self.input_channels = module.in_channels
        self.output_channels = module.out_channels
        self.multiple_of = module.unshuffle  # pixel-unshuffle needs sides divisible by it

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.model.state_dict().values())

    def describe(self) -> str:
        net = self.model
        return (f"{self.architecture} x{self.scale} ({len(net.body)} blocks, {net.conv_first.out_channels} "
                f"features, {self.layout} layout)")

    def to(self, device=None, dtype=None) -> "UpscaleModel":
        self.model.to(device=device, dtype=dtype)
        return self

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        """[B,input_channels,H,W] on the model's device -> [B,output_channels,H*scale,W*scale].

        Sides that pixel-unshuffle cannot divide are padded by reflection and cut off again."""
        height, width = pixels.shape[-2:]
        step = self.multiple_of
        pad_h, pad_w = -height % step, -width % step
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            pixels = F.pad(pixels, (0, pad_w, 0, pad_h), mode=mode)
        with torch.inference_mode():
            out = self.model(pixels)
        return out[..., :height * self.scale, :width * self.scale]
