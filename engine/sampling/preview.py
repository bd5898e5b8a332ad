"""Cheap previews while sampling: latent -> RGB by a fixed linear map (no VAE)."""
from __future__ import annotations

import io

import torch

# Least-squares fits from the 4 latent channels to RGB in -1..1 (published per latent space).
SD1_LATENT_RGB = ([0.3512, 0.2297, 0.3227], [0.3250, 0.4974, 0.2350],
                  [-0.2829, 0.1762, 0.2721], [-0.2120, -0.2616, -0.7177])
SD1_LATENT_RGB_BIAS = (0.0, 0.0, 0.0)
SDXL_LATENT_RGB = ([0.3651, 0.4232, 0.4341], [-0.2533, -0.0042, 0.1068],
                   [0.1076, 0.1111, -0.0362], [-0.3165, -0.2492, -0.2188])
SDXL_LATENT_RGB_BIAS = (0.1084, -0.0175, -0.0011)


def latent_to_pil(latent: torch.Tensor, arch: str = "sd1", max_size: int = 512):
    """First image of a latent batch [B,4,H,W] (or [B,4,F,H,W]) as a small PIL RGB image."""
    from PIL import Image

    if arch.startswith("sdxl"):
        factors, bias = SDXL_LATENT_RGB, SDXL_LATENT_RGB_BIAS
    else:
        factors, bias = SD1_LATENT_RGB, SD1_LATENT_RGB_BIAS
    if latent.ndim == 5:  # video [B,4,F,H,W]: show the first frame
        latent = latent[:, :, 0]
    sample = latent[0, :4].detach().float().cpu()
    rgb = torch.einsum("chw,cr->hwr", sample, torch.tensor(factors)) + torch.tensor(bias)
    pixels = ((rgb + 1) / 2).clamp(0, 1).mul(255).round().to(torch.uint8).numpy()
    image = Image.fromarray(pixels, "RGB")
    scale = min(max_size / max(image.size), 8)
    if scale > 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.NEAREST)
    return image


def latent_to_jpeg(latent: torch.Tensor, arch: str = "sd1", max_size: int = 512) -> bytes:
    buffer = io.BytesIO()
    latent_to_pil(latent, arch, max_size).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
