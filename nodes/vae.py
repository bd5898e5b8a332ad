"""VAE nodes: decode and encode (plain and tiled), inpainting encoders.

Schemas follow ComfyUI's. torch is imported inside the node functions so this
module imports without torch.

Images whose sides are not multiples of 8 are centre-cropped to the nearest
smaller multiple of 8 before encoding (as ComfyUI does): the VAE works on
8x8 pixel blocks, so the latent covers the cropped image.
"""

from __future__ import annotations

import math

from nodes._tooltips import tooltips


def _check_vae(vae):
    if not hasattr(vae, "encode") or not hasattr(vae, "decode"):
        raise ValueError(f"vae: expected a VAE, got {type(vae).__name__}")


def _samples(latent):
    if not isinstance(latent, dict) or "samples" not in latent:
        raise ValueError("samples: expected a LATENT (a dict with 'samples')")
    return latent["samples"]


def _progress_reporter():
    """progress(done, total) for the running node, or None outside an execution."""
    from graph import context

    current = context.current()
    return current.progress if current is not None else None


def _interrupt_check():
    """A progress(done, total) callback that only checks for an interrupt: plain
    encode/decode report no progress (as in ComfyUI) but stop between pieces."""
    from graph import context

    current = context.current()
    return (lambda done, total: current.check_interrupt()) if current is not None else None


def _ratio(vae) -> int:
    return int(getattr(vae, "downscale_ratio", 8))


def crop_to_multiple(pixels, ratio: int = 8):
    """Centre-crop IMAGE [B,H,W,C] so both sides are multiples of ``ratio``."""
    height = pixels.shape[1] // ratio * ratio
    width = pixels.shape[2] // ratio * ratio
    if height == pixels.shape[1] and width == pixels.shape[2]:
        return pixels
    if height == 0 or width == 0:
        raise ValueError(
            f"pixels: image of {pixels.shape[2]}x{pixels.shape[1]} is smaller than {ratio} pixels"
        )
    top = (pixels.shape[1] % ratio) // 2
    left = (pixels.shape[2] % ratio) // 2
    return pixels[:, top:top + height, left:left + width, :]


def _mask_at_image_size(mask, pixels):
    """MASK [B,H,W] or [H,W] -> [B,1,H,W] resized (bilinear) to the image size."""
    import torch.nn.functional as F

    mask = mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1])).float()
    return F.interpolate(mask, size=(pixels.shape[1], pixels.shape[2]), mode="bilinear")


def _grey_out_masked(pixels, mask):
    """Copy of the image with masked pixels (mask >= 0.5) set to mid-grey 0.5."""
    keep = (1.0 - mask.round()).squeeze(1)[..., None]
    return (pixels[..., :3] - 0.5) * keep + 0.5


class VAEDecode:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples": ("LATENT", {"tooltip": "The latent to be decoded."}),
            "vae": ("VAE", {"tooltip": "The VAE model used for decoding the latent."}),
        }}

    RETURN_TYPES = ("IMAGE",)
    OUTPUT_TOOLTIPS = ("The decoded image.",)
    FUNCTION = "decode"
    CATEGORY = "latent"
    DESCRIPTION = "Decodes latent images back into pixel space images."

    def decode(self, vae, samples):
        _check_vae(vae)
        return (vae.decode(_samples(samples), progress=_interrupt_check()),)


@tooltips({
    "samples": "The latent to decode.",
    "vae": "The VAE used for decoding.",
    "tile_size": "Size in pixels of each decoded tile; smaller tiles use less memory but show more seams.",
    "overlap": "Pixels that neighbouring tiles share, blended to hide seams; at most a quarter of tile_size "
               "is used."})
class VAEDecodeTiled:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples": ("LATENT",),
            "vae": ("VAE",),
            "tile_size": ("INT", {"default": 512, "min": 64, "max": 4096, "step": 32}),
            "overlap": ("INT", {"default": 64, "min": 0, "max": 4096, "step": 32}),
            "temporal_size": ("INT", {"default": 64, "min": 8, "max": 4096, "step": 4,
                                      "tooltip": "Only used for video VAEs: Amount of frames to decode at a time."}),
            "temporal_overlap": ("INT", {"default": 8, "min": 4, "max": 4096, "step": 4,
                                         "tooltip": "Only used for video VAEs: Amount of frames to overlap."}),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "decode"
    CATEGORY = "_for_testing"
    DESCRIPTION = "Decodes latents into images tile by tile, to save memory on large images."

    def decode(self, vae, samples, tile_size, overlap=64, temporal_size=64, temporal_overlap=8):
        """Decode tile by tile (pixels); the overlap is kept to at most a quarter tile."""
        _check_vae(vae)
        if tile_size < overlap * 4:
            overlap = tile_size // 4
        images = vae.decode_tiled(
            _samples(samples), tile_size=tile_size, overlap=overlap, progress=_progress_reporter()
        )
        return (images,)


@tooltips({
    "pixels": "The images to encode; sides are centre-cropped to a multiple of 8 pixels.",
    "vae": "The VAE used for encoding."})
class VAEEncode:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"pixels": ("IMAGE",), "vae": ("VAE",)}}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "encode"
    CATEGORY = "latent"
    DESCRIPTION = "Encodes images into latents with the VAE."

    def encode(self, vae, pixels):
        _check_vae(vae)
        pixels = crop_to_multiple(pixels, _ratio(vae))
        return ({"samples": vae.encode(pixels[..., :3], progress=_interrupt_check())},)


@tooltips({
    "pixels": "The images to encode; sides are centre-cropped to a multiple of 8 pixels.",
    "vae": "The VAE used for encoding.",
    "tile_size": "Size in pixels of each encoded tile; smaller tiles use less memory but show more seams.",
    "overlap": "Pixels that neighbouring tiles share, blended to hide seams; at most a quarter of tile_size "
               "is used."})
class VAEEncodeTiled:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "pixels": ("IMAGE",),
            "vae": ("VAE",),
            "tile_size": ("INT", {"default": 512, "min": 64, "max": 4096, "step": 64}),
            "overlap": ("INT", {"default": 64, "min": 0, "max": 4096, "step": 32}),
            "temporal_size": ("INT", {"default": 64, "min": 8, "max": 4096, "step": 4,
                                      "tooltip": "Only used for video VAEs: Amount of frames to encode at a time."}),
            "temporal_overlap": ("INT", {"default": 8, "min": 4, "max": 4096, "step": 4,
                                         "tooltip": "Only used for video VAEs: Amount of frames to overlap."}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "encode"
    CATEGORY = "_for_testing"
    DESCRIPTION = "Encodes images into latents tile by tile, to save memory on large images."

    def encode(self, vae, pixels, tile_size, overlap=64, temporal_size=64, temporal_overlap=8):
        _check_vae(vae)
        if tile_size < overlap * 4:
            overlap = tile_size // 4
        pixels = crop_to_multiple(pixels, _ratio(vae))
        latents = vae.encode_tiled(
            pixels[..., :3], tile_size=tile_size, overlap=overlap, progress=_progress_reporter()
        )
        return ({"samples": latents},)


@tooltips({
    "pixels": "The images to inpaint.",
    "vae": "The VAE used for encoding.",
    "mask": "The area to repaint (1 = repaint, 0 = keep); it is greyed out before encoding.",
    "grow_mask_by": "Pixels to widen the mask by, so new content blends in at its edges; 0 keeps the mask as"
                    " it is."})
class VAEEncodeForInpaint:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "pixels": ("IMAGE",),
            "vae": ("VAE",),
            "mask": ("MASK",),
            "grow_mask_by": ("INT", {"default": 6, "min": 0, "max": 64, "step": 1}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "encode"
    CATEGORY = "latent/inpaint"
    DESCRIPTION = ("Encodes images for inpainting models: the masked area is greyed out and the mask (grown by "
                   "grow_mask_by) is attached.")

    def encode(self, vae, pixels, mask, grow_mask_by=6):
        """Encode with the masked area greyed out; the noise mask is the mask grown by
        ``grow_mask_by`` pixels so the new content blends in at the edges."""
        import torch
        import torch.nn.functional as F

        _check_vae(vae)
        ratio = _ratio(vae)
        full_mask = _mask_at_image_size(mask, pixels)
        pixels = crop_to_multiple(pixels, ratio)
        full_mask = crop_to_multiple(full_mask.movedim(1, -1), ratio).movedim(-1, 1)
        if grow_mask_by == 0:
            grown = full_mask
        else:
            kernel = torch.ones((1, 1, grow_mask_by, grow_mask_by))
            padding = math.ceil((grow_mask_by - 1) / 2)
            grown = F.conv2d(full_mask.round(), kernel, padding=padding).clamp(0, 1)
        latents = vae.encode(_grey_out_masked(pixels, full_mask), progress=_interrupt_check())
        height, width = pixels.shape[1], pixels.shape[2]
        return ({"samples": latents, "noise_mask": grown[:, :, :height, :width].round()},)


@tooltips({
    "positive": "The positive conditioning; the masked image and the mask are added to it.",
    "negative": "The negative conditioning; the masked image and the mask are added to it.",
    "vae": "The VAE used to encode the image.",
    "pixels": "The image to inpaint.",
    "mask": "The area to repaint (1 = repaint, 0 = keep)."})
class InpaintModelConditioning:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "positive": ("CONDITIONING",),
            "negative": ("CONDITIONING",),
            "vae": ("VAE",),
            "pixels": ("IMAGE",),
            "mask": ("MASK",),
            "noise_mask": ("BOOLEAN", {
                "default": True,
                "tooltip": "Add a noise mask to the latent so sampling will only happen within the mask. "
                           "Might improve results or completely break things depending on the model.",
            }),
        }}

    RETURN_TYPES = ("CONDITIONING", "CONDITIONING", "LATENT")
    RETURN_NAMES = ("positive", "negative", "latent")
    FUNCTION = "encode"
    CATEGORY = "conditioning/inpaint"
    DESCRIPTION = "Adds the masked image and the mask to the conditionings, as inpainting models expect."

    def encode(self, positive, negative, pixels, vae, mask, noise_mask=True):
        """For inpainting models: the greyed-out image latent and the mask go into the
        conditioning extras (concat_latent_image, concat_mask); the latent output is the
        untouched image, with the mask as noise mask when ``noise_mask`` is on."""
        _check_vae(vae)
        ratio = _ratio(vae)
        full_mask = _mask_at_image_size(mask, pixels)
        pixels = crop_to_multiple(pixels, ratio)
        full_mask = crop_to_multiple(full_mask.movedim(1, -1), ratio).movedim(-1, 1)
        concat_latent = vae.encode(_grey_out_masked(pixels, full_mask), progress=_interrupt_check())
        original_latent = vae.encode(pixels[..., :3], progress=_interrupt_check())
        latent = {"samples": original_latent}
        if noise_mask:
            latent["noise_mask"] = full_mask
        extras = {"concat_latent_image": concat_latent, "concat_mask": full_mask}
        return (
            _with_extras(positive, extras, "positive"),
            _with_extras(negative, extras, "negative"),
            latent,
        )


def _with_extras(conditioning, extras, input_name):
    """A copy of the conditioning list with ``extras`` added to every entry's dict."""
    if not isinstance(conditioning, list):
        raise ValueError(f"{input_name}: expected CONDITIONING (a list of [tensor, dict])")
    return [[cond, {**options, **extras}] for cond, options in conditioning]


NODE_CLASS_MAPPINGS = {
    "VAEDecode": VAEDecode,
    "VAEDecodeTiled": VAEDecodeTiled,
    "VAEEncode": VAEEncode,
    "VAEEncodeTiled": VAEEncodeTiled,
    "VAEEncodeForInpaint": VAEEncodeForInpaint,
    "InpaintModelConditioning": InpaintModelConditioning,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "VAEDecode": "VAE Decode",
    "VAEDecodeTiled": "VAE Decode (Tiled)",
    "VAEEncode": "VAE Encode",
    "VAEEncodeTiled": "VAE Encode (Tiled)",
    "VAEEncodeForInpaint": "VAE Encode (for Inpainting)",
    "InpaintModelConditioning": "InpaintModelConditioning",
}
