"""Video latents and 3-D UNets (text-to-video models such as ModelScope's text-to-video-ms).

A video LATENT holds samples [B, C, F, H, W]. The sampler and the denoiser work on
[B, C, H, W] tensors, so a video goes through them with its frames folded into the
channel axis ([B, C*F, H, W], a view with the same element order, so the seeded noise
equals torch.randn of the full 5-D shape); `VideoUNet` unfolds them again around the
3-D UNet call. Conditioning areas and masks act on H and W and so apply to every frame.
"""
from __future__ import annotations

import torch


def is_video_unet(unet) -> bool:
    return type(unet).__name__ == "UNet3DConditionModel"


def fold_frames(samples: torch.Tensor) -> torch.Tensor:
    """[B, C, F, H, W] -> [B, C*F, H, W]."""
    batch, channels, frames, height, width = samples.shape
    return samples.reshape(batch, channels * frames, height, width)


def unfold_frames(samples: torch.Tensor, channels: int) -> torch.Tensor:
    """[B, C*F, H, W] -> [B, C, F, H, W]."""
    batch, folded, height, width = samples.shape
    return samples.reshape(batch, channels, folded // channels, height, width)


def frames_to_batch(samples: torch.Tensor) -> torch.Tensor:
    """[B, C, F, H, W] -> [B*F, C, H, W], frames of the first video first (for the VAE)."""
    batch, channels, frames, height, width = samples.shape
    return samples.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)


def fold_latent(latent: dict, model, input_name: str = "latent_image"):
    """(LATENT with frames folded into channels, channels per frame) for a video latent;
    (latent, None) for an image latent. A video latent needs a video model."""
    samples = latent.get("samples") if isinstance(latent, dict) else None
    if not isinstance(samples, torch.Tensor) or samples.ndim != 5:
        return latent, None
    if not getattr(model, "is_video", False):
        raise ValueError(f"{input_name}: a video latent [B,C,F,H,W] needs a text-to-video model; "
                         "this MODEL is an image model")
    return dict(latent, samples=fold_frames(samples)), int(samples.shape[1])


def unfold_latent(latent: dict, channels) -> dict:
    """Undo fold_latent on a sampler's output LATENT (channels None: an image latent, unchanged)."""
    if channels is None:
        return latent
    return dict(latent, samples=unfold_frames(latent["samples"], channels))


class VideoUNet:
    """Calls a UNet3DConditionModel on frame-folded latents; looks like a 2-D UNet to the denoiser."""

    def __init__(self, unet):
        self.unet = unet
        self.channels = int(unet.config.in_channels)

    @property
    def config(self):
        return self.unet.config

    def __call__(self, sample, timestep, encoder_hidden_states=None, return_dict=False, **kwargs):
        if kwargs.get("added_cond_kwargs") or kwargs.get("down_block_additional_residuals") is not None:
            raise ValueError("text-to-video models take no SDXL conditions or ControlNets")
        kwargs.pop("added_cond_kwargs", None)
        if sample.shape[1] % self.channels:
            raise ValueError(f"latent_image: {sample.shape[1]} channels do not fit this video model "
                             f"({self.channels} per frame)")
        out = self.unet(unfold_frames(sample, self.channels), timestep,
                        encoder_hidden_states=encoder_hidden_states, return_dict=False, **kwargs)[0]
        return (fold_frames(out),)
