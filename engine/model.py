"""The MODEL value passed between nodes: a diffusers UNet plus what sampling needs.

A DiffusionModel is cheap to clone. Clones share the UNet weights and carry their
own list of weight patches (LoRA), which are applied only inside `patched(...)`.
"""
from __future__ import annotations

import contextlib

import torch

from engine.patching import apply_patches


def default_alphas_cumprod() -> torch.Tensor:
    """Stable Diffusion's training schedule: scaled_linear betas 0.00085..0.012, 1000 steps."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0).float()


class DiffusionModel:
    def __init__(self, unet, arch: str, prediction_type: str = "epsilon", alphas_cumprod=None):
        if prediction_type not in ("epsilon", "v_prediction"):
            raise ValueError(f"prediction_type: expected 'epsilon' or 'v_prediction', got {prediction_type!r}")
        self.unet = unet
        self.arch = arch
        self.prediction_type = prediction_type
        if alphas_cumprod is None:
            alphas_cumprod = default_alphas_cumprod()
        self.alphas_cumprod = torch.as_tensor(alphas_cumprod, dtype=torch.float32)
        self.patches: dict[str, list] = {}

    @property
    def in_channels(self) -> int:
        return int(self.unet.config.in_channels)

    @property
    def is_video(self) -> bool:
        """True for a 3-D (text-to-video) UNet, which samples latents [B, C, F, H, W]."""
        from engine.video import is_video_unet

        return is_video_unet(self.unet)

    @property
    def nbytes(self) -> int:
        """Size of the UNet weights; lets caches size a MODEL without walking the module tree."""
        from engine.model_cache import weights_bytes

        return weights_bytes(self.unet)

    @property
    def sigmas(self) -> torch.Tensor:
        """Noise levels of the 1000 training timesteps, ascending."""
        acp = self.alphas_cumprod
        return ((1 - acp) / acp) ** 0.5

    def clone(self) -> "DiffusionModel":
        other = DiffusionModel.__new__(DiffusionModel)
        other.unet = self.unet
        other.arch = self.arch
        other.prediction_type = self.prediction_type
        other.alphas_cumprod = self.alphas_cumprod
        other.patches = {name: list(entries) for name, entries in self.patches.items()}
        return other

    def add_patches(self, patches: dict, strength: float) -> None:
        for name, patch in patches.items():
            self.patches.setdefault(name, []).append((float(strength), patch))

    @contextlib.contextmanager
    def patched(self, device=None, dtype=None):
        """Yield the UNet on device/dtype with this model's patches applied.

        Weights and placement are restored afterwards, so clones with different
        patches can share one UNet. A 3-D UNet comes wrapped in engine.video.VideoUNet,
        which takes frame-folded latents like a 2-D UNet.
        """
        from engine.video import VideoUNet, is_video_unet

        unet = self.unet
        first = next(unet.parameters())
        old_device, old_dtype = first.device, first.dtype
        device = torch.device(device) if device is not None else old_device
        dtype = dtype or old_dtype
        moved = device != old_device or dtype != old_dtype
        if moved:
            unet.to(device=device, dtype=dtype)
        try:
            with apply_patches(unet, self.patches):
                yield VideoUNet(unet) if is_video_unet(unet) else unet
        finally:
            if moved:
                unet.to(device=old_device, dtype=old_dtype)
