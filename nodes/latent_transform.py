"""LatentCrop and LatentBlend, with ComfyUI's names, inputs and results.

Sizes and positions are in pixels (the latent is 1/8 of them), as in ComfyUI.
torch-free at import; inputs are never changed.
"""
from __future__ import annotations

from nodes._tooltips import tooltips

MAX_RESOLUTION = 16384


def _samples(latent, input_name):
    import torch

    if not isinstance(latent, dict) or not isinstance(latent.get("samples"), torch.Tensor):
        raise ValueError(f"{input_name}: expected a LATENT (a dict with 'samples')")
    if latent["samples"].ndim != 4:
        raise ValueError(f"{input_name}: expected latents [batch, channels, height, width], "
                         f"got {list(latent['samples'].shape)}")
    return latent["samples"]


@tooltips({
    "samples": "The latents to crop.",
    "width": "Width of the cut-out in pixels (latent = 1/8).",
    "height": "Height of the cut-out in pixels (latent = 1/8).",
    "x": "Left edge of the cut-out in pixels; at most 64 px before the right edge.",
    "y": "Top edge of the cut-out in pixels; at most 64 px before the bottom edge."})
class LatentCrop:
    @classmethod
    def INPUT_TYPES(cls):
        size = {"default": 512, "min": 64, "max": MAX_RESOLUTION, "step": 8}
        place = {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}
        return {"required": {"samples": ("LATENT",), "width": ("INT", size), "height": ("INT", size),
                             "x": ("INT", place), "y": ("INT", place)}}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "crop"
    CATEGORY = "latent/transform"
    DESCRIPTION = ("Cuts a width x height rectangle (pixels) out of the latents, top-left corner at (x, y); "
                   "the corner stays at least 64 px inside, and the rectangle stops at the edge.")

    def crop(self, samples, width, height, x, y):
        source = _samples(samples, "samples")
        rows, cols = source.shape[2], source.shape[3]
        # As in ComfyUI: the corner moves in so that at least 8 latent pixels (64 px) remain.
        x = max(0, min(int(x) // 8, cols - 8))
        y = max(0, min(int(y) // 8, rows - 8))
        h, w = int(height) // 8, int(width) // 8
        out = samples.copy()
        out["samples"] = source[:, :, y:y + h, x:x + w].clone()
        mask = samples.get("noise_mask")
        if mask is not None and mask.ndim >= 2:
            # ComfyUI leaves the mask uncropped; cut the same region at the mask's own resolution.
            fy, fx = mask.shape[-2] / rows, mask.shape[-1] / cols
            out["noise_mask"] = mask[..., round(y * fy):round((y + h) * fy),
                                     round(x * fx):round((x + w) * fx)].clone()
        return (out,)


@tooltips({
    "samples1": "The first latents; the result has their size and keeps their other fields.",
    "samples2": "The second latents; resized (bicubic, centre crop) to samples1's size when they differ.",
    "blend_factor": "Weight of samples1: 1 gives samples1, 0 gives samples2, 0.5 the average."})
class LatentBlend:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples1": ("LATENT",), "samples2": ("LATENT",),
            "blend_factor": ("FLOAT", {"default": 0.5, "min": 0, "max": 1, "step": 0.01}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "blend"
    CATEGORY = "_for_testing"
    DESCRIPTION = "Mixes two latents: samples1 x blend_factor + samples2 x (1 - blend_factor)."

    def blend(self, samples1, samples2, blend_factor, blend_mode="normal"):
        from engine.images import resize

        first = _samples(samples1, "samples1")
        second = _samples(samples2, "samples2")
        if blend_mode != "normal":
            raise ValueError(f"blend_mode: only 'normal' is supported, got {blend_mode!r}")
        if second.shape[1] != first.shape[1]:
            raise ValueError(f"samples2: has {second.shape[1]} channels, samples1 has {first.shape[1]} "
                             "(latents of different model families cannot be blended)")
        if second.shape[2:] != first.shape[2:]:
            second = resize(second, first.shape[3], first.shape[2], "bicubic", "center")
        if second.shape[0] != first.shape[0]:
            if first.shape[0] % second.shape[0]:
                raise ValueError(f"samples2: batch of {second.shape[0]} does not divide samples1's "
                                 f"batch of {first.shape[0]}")
            second = second.repeat(first.shape[0] // second.shape[0], 1, 1, 1)
        factor = float(blend_factor)
        out = samples1.copy()
        out["samples"] = first * factor + second.to(first.dtype) * (1 - factor)
        return (out,)


NODE_CLASS_MAPPINGS = {"LatentCrop": LatentCrop, "LatentBlend": LatentBlend}
NODE_DISPLAY_NAME_MAPPINGS = {"LatentCrop": "Crop Latent", "LatentBlend": "Latent Blend"}
