"""Latent nodes: empty latents, resizing, compositing, batches, masks, .latent files.

Schemas follow ComfyUI's (class names, inputs, defaults, limits). torch and the
engine helpers are imported inside the node functions so this module imports
without torch. Nodes never change their input dicts or tensors: they copy.
"""

from __future__ import annotations

import hashlib
import json
import math

from nodes._batches import each_item
from nodes._tooltips import tooltips
from nodes.image import resolve_input_file

MAX_RESOLUTION = 16384
LATENT_UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]
CROP_METHODS = ["disabled", "center"]


def _samples(latent, input_name="samples"):
    if not isinstance(latent, dict) or "samples" not in latent:
        raise ValueError(f"{input_name}: expected a LATENT (a dict with 'samples')")
    return latent["samples"]


def _repeat_masks_to(masks, count):
    """Repeat a mask batch until it covers ``count`` items (ComfyUI's rule)."""
    if masks.shape[0] < count:
        masks = masks.repeat(math.ceil(count / masks.shape[0]), *([1] * (masks.ndim - 1)))[:count]
    return masks


class EmptyLatentImage:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "width": ("INT", {"default": 512, "min": 16, "max": MAX_RESOLUTION, "step": 8,
                              "tooltip": "The width of the latent images in pixels."}),
            "height": ("INT", {"default": 512, "min": 16, "max": MAX_RESOLUTION, "step": 8,
                               "tooltip": "The height of the latent images in pixels."}),
            "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096,
                                   "tooltip": "The number of latent images in the batch."}),
        }}

    RETURN_TYPES = ("LATENT",)
    OUTPUT_TOOLTIPS = ("The empty latent image batch.",)
    FUNCTION = "generate"
    CATEGORY = "latent"
    DESCRIPTION = "Create a new batch of empty latent images to be denoised via sampling."

    @classmethod
    def VALIDATE_INPUTS(cls, width, height):
        """Latents are 1/8 of the image size: refuse sizes that would be silently cut."""
        for name, value in (("width", width), ("height", height)):
            if value is not None and int(value) % 8:  # None: linked, not known before the run
                return f"{name}: {value} is not a multiple of 8 (latents are 1/8 of the image size)"
        return True

    def generate(self, width, height, batch_size=1):
        import torch

        latent = torch.zeros([batch_size, 4, height // 8, width // 8])
        return ({"samples": latent},)


@tooltips({
    "samples": "The latents to resize.",
    "upscale_method": "How new values are computed: nearest-exact keeps hard blocks, bilinear, area and "
                      "bicubic are smooth, bislerp blends by direction and suits latents.",
    "width": "The new width in pixels (latent = 1/8, at least 64); 0 keeps the aspect ratio from height "
             "(both 0: unchanged).",
    "height": "The new height in pixels (latent = 1/8, at least 64); 0 keeps the aspect ratio from width "
              "(both 0: unchanged).",
    "crop": "disabled: stretch to the new size; center: first cut to the new aspect ratio, keeping the "
            "middle."})
class LatentUpscale:
    upscale_methods = LATENT_UPSCALE_METHODS
    crop_methods = CROP_METHODS

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples": ("LATENT",),
            "upscale_method": (cls.upscale_methods,),
            "width": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "height": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "crop": (cls.crop_methods,),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "upscale"
    CATEGORY = "latent"
    DESCRIPTION = "Resizes latents to a pixel size (divided by 8)."

    def upscale(self, samples, upscale_method, width, height, crop):
        from engine.images import resize

        source = _samples(samples)
        if width == 0 and height == 0:
            return (samples.copy(),)
        # A zero side keeps the aspect ratio; sizes are in pixels, at least 64.
        if width == 0:
            height = max(64, height)
            width = max(64, round(source.shape[-1] * height / source.shape[-2]))
        elif height == 0:
            width = max(64, width)
            height = max(64, round(source.shape[-2] * width / source.shape[-1]))
        else:
            width, height = max(64, width), max(64, height)
        out = samples.copy()
        out["samples"] = each_item(source, lambda part: resize(part, width // 8, height // 8, upscale_method, crop))
        return (out,)


@tooltips({
    "samples": "The latents to resize.",
    "upscale_method": "How new values are computed: nearest-exact keeps hard blocks, bilinear, area and "
                      "bicubic are smooth, bislerp blends by direction and suits latents.",
    "scale_by": "Factor for both sides: 2 doubles the width and height, 0.5 halves them, 1 keeps them."})
class LatentUpscaleBy:
    upscale_methods = LATENT_UPSCALE_METHODS

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples": ("LATENT",),
            "upscale_method": (cls.upscale_methods,),
            "scale_by": ("FLOAT", {"default": 1.5, "min": 0.01, "max": 8.0, "step": 0.01}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "upscale"
    CATEGORY = "latent"
    DESCRIPTION = "Resizes latents by a factor."

    def upscale(self, samples, upscale_method, scale_by):
        from engine.images import resize

        source = _samples(samples)
        width = round(source.shape[-1] * scale_by)
        height = round(source.shape[-2] * scale_by)
        out = samples.copy()
        out["samples"] = each_item(source, lambda part: resize(part, width, height, upscale_method, "disabled"))
        return (out,)


@tooltips({
    "samples_to": "The latents pasted onto (the background); its size is kept.",
    "samples_from": "The latents pasted in; parts past the edge are cut off.",
    "x": "Left edge of the paste in pixels (latent = 1/8).",
    "y": "Top edge of the paste in pixels (latent = 1/8).",
    "feather": "Width in pixels of the fade at the pasted edges that lie inside samples_to; 0 gives a hard "
               "edge."})
class LatentComposite:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples_to": ("LATENT",),
            "samples_from": ("LATENT",),
            "x": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "y": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "feather": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "composite"
    CATEGORY = "latent"
    DESCRIPTION = "Pastes samples_from into samples_to at (x, y) in pixels, optionally feathered."

    def composite(self, samples_to, samples_from, x, y, composite_method="normal", feather=0):
        """Paste ``samples_from`` at (x, y) pixels, fading ``feather`` pixels at inner edges."""
        import torch

        x, y, feather = x // 8, y // 8, feather // 8
        target = _samples(samples_to, "samples_to")
        source = _samples(samples_from, "samples_from")
        result = target.clone()
        height, width = target.shape[2], target.shape[3]
        if y >= height or x >= width:
            return ({**samples_to, "samples": result},)
        source = source[:, :, :height - y, :width - x]
        if source.shape[0] != target.shape[0]:
            source = _repeat_masks_to(source, target.shape[0])[:target.shape[0]]
        sh, sw = source.shape[2], source.shape[3]
        region = result[:, :, y:y + sh, x:x + sw]
        if feather == 0:
            result[:, :, y:y + sh, x:x + sw] = source
        else:
            mask = torch.ones_like(source)
            # Slices, not indexes: a feather wider than the pasted region must not fail. These
            # are ComfyUI's bounds, so wide feathers blend exactly as they do there.
            for t in range(feather):
                weight = (t + 1) / feather
                if y != 0:
                    mask[:, :, t:t + 1, :] *= weight
                if y + sh < height:
                    mask[:, :, sh - 1 - t:sh - t, :] *= weight
                if x != 0:
                    mask[:, :, :, t:t + 1] *= weight
                if x + sw < width:
                    mask[:, :, :, sw - 1 - t:sw - t] *= weight
            result[:, :, y:y + sh, x:x + sw] = source * mask + region * (1 - mask)
        out = samples_to.copy()
        out["samples"] = result
        return (out,)


@tooltips({
    "samples": "The latent batch to take from.",
    "batch_index": "Position of the first latent to take; 0 is the first (past the end: the last one).",
    "length": "How many latents to take (fewer if the batch ends first)."})
class LatentFromBatch:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples": ("LATENT",),
            "batch_index": ("INT", {"default": 0, "min": 0, "max": 63}),
            "length": ("INT", {"default": 1, "min": 1, "max": 64}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "frombatch"
    CATEGORY = "latent/batch"
    DESCRIPTION = "Takes `length` latents starting at `batch_index` from a batch."

    def frombatch(self, samples, batch_index, length):
        source = _samples(samples)
        out = samples.copy()
        batch_index = min(source.shape[0] - 1, batch_index)
        length = min(source.shape[0] - batch_index, length)
        out["samples"] = source[batch_index:batch_index + length].clone()
        if "noise_mask" in samples:
            masks = samples["noise_mask"]
            if masks.shape[0] == 1:
                out["noise_mask"] = masks.clone()
            else:
                masks = _repeat_masks_to(masks, source.shape[0])
                out["noise_mask"] = masks[batch_index:batch_index + length].clone()
        if "batch_index" in samples:
            out["batch_index"] = list(samples["batch_index"][batch_index:batch_index + length])
        else:
            out["batch_index"] = list(range(batch_index, batch_index + length))
        return (out,)


@tooltips({
    "samples": "The latent batch to repeat.",
    "amount": "How many copies of the batch the output holds; 1 returns it unchanged."})
class RepeatLatentBatch:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples": ("LATENT",),
            "amount": ("INT", {"default": 1, "min": 1, "max": 64}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "repeat"
    CATEGORY = "latent/batch"
    DESCRIPTION = "Repeats a latent batch `amount` times."

    def repeat(self, samples, amount):
        source = _samples(samples)
        out = samples.copy()
        out["samples"] = source.repeat((amount,) + (1,) * (source.ndim - 1))
        masks = samples.get("noise_mask")
        if masks is not None and masks.shape[0] > 1:
            masks = _repeat_masks_to(masks, source.shape[0])
            out["noise_mask"] = masks.repeat((amount,) + (1,) * (masks.ndim - 1))
        if "batch_index" in samples:
            indices = list(samples["batch_index"])
            offset = max(indices) - min(indices) + 1
            out["batch_index"] = indices + [i + step * offset for step in range(1, amount) for i in indices]
        return (out,)


@tooltips({
    "samples": "The latents to attach the mask to.",
    "mask": "Where sampling may change the latent: 1 = repaint, 0 = keep; values between blend."})
class SetLatentNoiseMask:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"samples": ("LATENT",), "mask": ("MASK",)}}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "set_mask"
    CATEGORY = "latent/inpaint"
    DESCRIPTION = "Adds a mask so that sampling only changes the masked area (inpainting with any model)."

    def set_mask(self, samples, mask):
        _samples(samples)
        out = samples.copy()
        out["noise_mask"] = mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1]))
        return (out,)


@tooltips({
    "samples": "The latents to save.",
    "filename_prefix": "Start of the file name, relative to the output folder; a \"/\" makes subfolders. A "
                       "counter and .latent are added."})
class SaveLatent:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "samples": ("LATENT",),
                "filename_prefix": ("STRING", {"default": "latents/ComfyUI"}),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ()
    FUNCTION = "save"
    OUTPUT_NODE = True
    CATEGORY = "_for_testing"
    DESCRIPTION = "Saves latents to the output folder as a .latent file."

    def save(self, samples, filename_prefix="ComfyUI", prompt=None, extra_pnginfo=None):
        """Write a .latent file (safetensors: latent_tensor + format marker, prompt metadata)."""
        import safetensors.torch
        import torch

        from engine import folders
        from engine.images import save_location

        source = _samples(samples)
        folder, filename, counter, subfolder = save_location(
            filename_prefix, folders.get().output_dir, prompt=prompt
        )
        metadata = {"prompt": json.dumps(prompt) if prompt is not None else ""}
        for key, value in (extra_pnginfo or {}).items():
            metadata[key] = json.dumps(value)
        name = f"{filename}_{counter:05}_.latent"
        tensors = {
            "latent_tensor": source.contiguous(),
            "latent_format_version_0": torch.tensor([]),
        }
        from engine.atomic import atomic_path

        with atomic_path(folder / name) as temporary:
            safetensors.torch.save_file(tensors, str(temporary), metadata=metadata)
        return {"ui": {"latents": [{"filename": name, "subfolder": subfolder, "type": "output"}]}}


def _latent_files() -> list[str]:
    from engine import folders

    input_dir = folders.get().input_dir
    if not input_dir.is_dir():
        return []
    return sorted(p.name for p in input_dir.iterdir() if p.is_file() and p.name.endswith(".latent"))


@tooltips({
    "latent": "A .latent file in the input folder, such as one written by Save Latent."})
class LoadLatent:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"latent": [_latent_files()]}}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "load"
    CATEGORY = "_for_testing"
    DESCRIPTION = "Loads a .latent file from the input folder."

    def load(self, latent):
        import safetensors.torch
        from safetensors import SafetensorError

        path = resolve_input_file(latent, "latent")
        try:
            tensors = safetensors.torch.load_file(str(path), device="cpu")
        except (SafetensorError, OSError) as exc:
            raise ValueError(f"latent: '{latent}' is not a readable .latent file ({exc})") from None
        if "latent_tensor" not in tensors:
            raise ValueError(f"latent: '{latent}' has no 'latent_tensor' (not a .latent file)")
        # Files from before the format marker stored unscaled latents.
        multiplier = 1.0 if "latent_format_version_0" in tensors else 1.0 / 0.18215
        return ({"samples": tensors["latent_tensor"].float() * multiplier},)

    @classmethod
    def IS_CHANGED(cls, latent):
        path = resolve_input_file(latent, "latent")
        return hashlib.sha256(path.read_bytes()).hexdigest()

    @classmethod
    def VALIDATE_INPUTS(cls, latent):
        try:
            resolve_input_file(latent, "latent")
        except ValueError:
            return f"Invalid latent file: {latent}"
        return True


NODE_CLASS_MAPPINGS = {
    "EmptyLatentImage": EmptyLatentImage,
    "LatentUpscale": LatentUpscale,
    "LatentUpscaleBy": LatentUpscaleBy,
    "LatentComposite": LatentComposite,
    "LatentFromBatch": LatentFromBatch,
    "RepeatLatentBatch": RepeatLatentBatch,
    "SetLatentNoiseMask": SetLatentNoiseMask,
    "SaveLatent": SaveLatent,
    "LoadLatent": LoadLatent,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "EmptyLatentImage": "Empty Latent Image",
    "LatentUpscale": "Upscale Latent",
    "LatentUpscaleBy": "Upscale Latent By",
    "LatentComposite": "Latent Composite",
    "LatentFromBatch": "Latent From Batch",
    "RepeatLatentBatch": "Repeat Latent Batch",
    "SetLatentNoiseMask": "Set Latent Noise Mask",
    "SaveLatent": "Save Latent",
    "LoadLatent": "Load Latent",
}
