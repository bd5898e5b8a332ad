"""Prompt encoding and CONDITIONING editing nodes (ComfyUI's names, inputs and defaults).

CONDITIONING is a list of [cond tensor [1, T, D], extras dict]. Every node here
builds new lists and new extras dicts; input tensors and dicts are never changed.
torch is imported inside the node functions so that this module imports without it.
"""
from __future__ import annotations

import logging

from nodes._tooltips import tooltips

log = logging.getLogger(__name__)

MAX_RESOLUTION = 16384


def _with_values(conditioning, **values):
    """A copy of the conditioning list with `values` set in every extras dict."""
    _check_conditioning(conditioning, "conditioning")
    return [[cond, {**extras, **values}] for cond, extras in conditioning]


def _check_conditioning(conditioning, name):
    if not isinstance(conditioning, (list, tuple)) or not conditioning:
        raise ValueError(f"{name}: expected a non-empty CONDITIONING list")


def _check_text(text, name="text"):
    if not isinstance(text, str):
        raise ValueError(f"{name}: expected a string, got {type(text).__name__}")


def _check_clip(clip, name="clip"):
    if clip is None:
        raise ValueError(f"{name}: no CLIP model given; the checkpoint may have no text encoder "
                         "(load one with a CLIP loader)")


class CLIPTextEncode:
    DESCRIPTION = "Encodes a text prompt with a CLIP model into conditioning for the sampler."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "text": ("STRING", {"multiline": True, "dynamicPrompts": True,
                                "tooltip": "The text to be encoded."}),
            "clip": ("CLIP", {"tooltip": "The CLIP model used for encoding the text."}),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    OUTPUT_TOOLTIPS = ("A conditioning containing the embedded text used to guide the diffusion model.",)
    FUNCTION = "encode"
    CATEGORY = "conditioning"

    def encode(self, clip, text):
        _check_clip(clip)
        _check_text(text)
        cond, pooled = clip.encode(text)
        extras = {} if pooled is None else {"pooled_output": pooled}
        return ([[cond, extras]],)


@tooltips({
    "clip": "An SDXL CLIP with both text encoders (CLIP-L and OpenCLIP-bigG).",
    "width": "The original image width, in pixels, that SDXL is told about; usually the output width.",
    "height": "The original image height, in pixels, that SDXL is told about; usually the output height.",
    "crop_w": "Left crop offset in pixels that SDXL is told about; 0 asks for an uncropped, centred subject.",
    "crop_h": "Top crop offset in pixels that SDXL is told about; 0 asks for an uncropped, centred subject.",
    "target_width": "The width in pixels SDXL should aim for; usually the output width.",
    "target_height": "The height in pixels SDXL should aim for; usually the output height.",
    "text_g": "The prompt for the large OpenCLIP-bigG encoder (the main description).",
    "text_l": "The prompt for the CLIP-L encoder; often the same text as text_g, or style words."})
class CLIPTextEncodeSDXL:
    @classmethod
    def INPUT_TYPES(cls):
        size = {"min": 0, "max": MAX_RESOLUTION}
        return {"required": {
            "clip": ("CLIP",),
            "width": ("INT", {"default": 1024, **size}),
            "height": ("INT", {"default": 1024, **size}),
            "crop_w": ("INT", {"default": 0, **size}),
            "crop_h": ("INT", {"default": 0, **size}),
            "target_width": ("INT", {"default": 1024, **size}),
            "target_height": ("INT", {"default": 1024, **size}),
            "text_g": ("STRING", {"multiline": True, "dynamicPrompts": True}),
            "text_l": ("STRING", {"multiline": True, "dynamicPrompts": True}),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "encode"
    CATEGORY = "advanced/conditioning"
    DESCRIPTION = ("Encodes prompts for SDXL: text_g for the OpenCLIP-bigG encoder, text_l for CLIP-L, plus "
                   "the size and crop values SDXL is conditioned on.")

    def encode(self, clip, width, height, crop_w, crop_h, target_width, target_height, text_g, text_l):
        _check_clip(clip)
        if len(clip.text_encoders) != 2:
            raise ValueError(f"clip: CLIPTextEncodeSDXL needs an SDXL CLIP with two text encoders, "
                             f"got {len(clip.text_encoders)} ({clip.arch})")
        _check_text(text_g, "text_g")
        _check_text(text_l, "text_l")
        cond, pooled = clip.encode_each([text_l, text_g])
        extras = {"pooled_output": pooled, "width": width, "height": height, "crop_w": crop_w,
                  "crop_h": crop_h, "target_width": target_width, "target_height": target_height}
        return ([[cond, extras]],)


@tooltips({
    "ascore": "Aesthetic score the refiner is conditioned on; higher asks for prettier images. About 6 for "
              "the positive prompt and 2.5 for the negative is usual.",
    "width": "The image width in pixels the refiner is told about.",
    "height": "The image height in pixels the refiner is told about.",
    "text": "The prompt to encode.",
    "clip": "The SDXL refiner's CLIP model used to encode the text."})
class CLIPTextEncodeSDXLRefiner:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "ascore": ("FLOAT", {"default": 6.0, "min": 0.0, "max": 1000.0, "step": 0.01}),
            "width": ("INT", {"default": 1024, "min": 0, "max": MAX_RESOLUTION}),
            "height": ("INT", {"default": 1024, "min": 0, "max": MAX_RESOLUTION}),
            "text": ("STRING", {"multiline": True, "dynamicPrompts": True}),
            "clip": ("CLIP",),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "encode"
    CATEGORY = "advanced/conditioning"
    DESCRIPTION = "Encodes a prompt for the SDXL refiner, with its aesthetic score and target size."

    def encode(self, clip, ascore, width, height, text):
        _check_clip(clip)
        _check_text(text)
        cond, pooled = clip.encode(text)
        extras = {"pooled_output": pooled, "aesthetic_score": ascore, "width": width, "height": height}
        return ([[cond, extras]],)


@tooltips({
    "clip": "The CLIP model to change; the input itself is left as it is.",
    "stop_at_clip_layer": "Which text encoder layer gives the output, counted from the end: -1 is the last "
                          "layer (normal), -2 skips one layer (\"clip skip 2\"), down to -24."})
class CLIPSetLastLayer:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "clip": ("CLIP",),
            "stop_at_clip_layer": ("INT", {"default": -1, "min": -24, "max": -1, "step": 1}),
        }}

    RETURN_TYPES = ("CLIP",)
    FUNCTION = "set_last_layer"
    CATEGORY = "conditioning"
    DESCRIPTION = 'Makes the text encoder stop at an earlier layer (-1 = last, -2 = "clip skip 2").'

    def set_last_layer(self, clip, stop_at_clip_layer):
        _check_clip(clip)
        if not -24 <= int(stop_at_clip_layer) <= -1:
            raise ValueError(f"stop_at_clip_layer: must be between -24 and -1, got {stop_at_clip_layer}")
        clip = clip.clone()
        clip.layer_idx = int(stop_at_clip_layer)
        return (clip,)


@tooltips({
    "conditioning_1": "The first conditioning.",
    "conditioning_2": "The second conditioning; the sampler uses both and averages their predictions."})
class ConditioningCombine:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"conditioning_1": ("CONDITIONING",), "conditioning_2": ("CONDITIONING",)}}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "combine"
    CATEGORY = "conditioning"
    DESCRIPTION = ("Joins two conditionings into one list; the sampler uses both (their predictions are "
                   "averaged).")

    def combine(self, conditioning_1, conditioning_2):
        return (list(conditioning_1) + list(conditioning_2),)


@tooltips({
    "conditioning_to": "The conditioning to blend into; its extras (areas, masks) are kept.",
    "conditioning_from": "The conditioning blended in; only its first entry is used.",
    "conditioning_to_strength": "Share of conditioning_to in the blend: 1 gives only conditioning_to, 0 only"
                                " conditioning_from, 0.5 an even mix."})
class ConditioningAverage:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "conditioning_to": ("CONDITIONING",),
            "conditioning_from": ("CONDITIONING",),
            "conditioning_to_strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "addWeighted"
    CATEGORY = "conditioning"
    DESCRIPTION = ("Blends two conditionings: conditioning_to_strength of conditioning_to plus the rest of "
                   "conditioning_from.")

    def addWeighted(self, conditioning_to, conditioning_from, conditioning_to_strength):
        """to * strength + from * (1 - strength); `from` is cut or zero-padded to `to`'s length."""
        import torch

        _check_conditioning(conditioning_to, "conditioning_to")
        _check_conditioning(conditioning_from, "conditioning_from")
        if len(conditioning_from) > 1:
            log.warning("ConditioningAverage: conditioning_from has %d entries; only the first is used",
                        len(conditioning_from))
        strength = float(conditioning_to_strength)
        cond_from, extras_from = conditioning_from[0]
        pooled_from = extras_from.get("pooled_output")
        out = []
        for cond_to, extras_to in conditioning_to:
            source = cond_from[:, :cond_to.shape[1]].to(cond_to)
            missing = cond_to.shape[1] - source.shape[1]
            if missing > 0:
                source = torch.cat([source, source.new_zeros(1, missing, cond_to.shape[2])], dim=1)
            mixed = cond_to * strength + source * (1.0 - strength)
            extras = dict(extras_to)
            pooled_to = extras_to.get("pooled_output", pooled_from)
            if pooled_from is not None and pooled_to is not None:
                extras["pooled_output"] = pooled_to * strength + pooled_from * (1.0 - strength)
            elif pooled_from is not None:
                extras["pooled_output"] = pooled_from
            out.append([mixed, extras])
        return (out,)


@tooltips({
    "conditioning_to": "The conditioning whose entries get the extra tokens.",
    "conditioning_from": "The conditioning whose tokens are appended; only its first entry is used."})
class ConditioningConcat:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"conditioning_to": ("CONDITIONING",), "conditioning_from": ("CONDITIONING",)}}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "concat"
    CATEGORY = "conditioning"
    DESCRIPTION = ("Appends conditioning_from's tokens to each entry of conditioning_to (longer prompt, one "
                   "prediction).")

    def concat(self, conditioning_to, conditioning_from):
        """Append the first `from` cond's tokens to every `to` cond (token axis)."""
        import torch

        _check_conditioning(conditioning_to, "conditioning_to")
        _check_conditioning(conditioning_from, "conditioning_from")
        if len(conditioning_from) > 1:
            log.warning("ConditioningConcat: conditioning_from has %d entries; only the first is used",
                        len(conditioning_from))
        cond_from = conditioning_from[0][0]
        out = []
        for cond_to, extras in conditioning_to:
            if cond_from.shape[-1] != cond_to.shape[-1]:
                raise ValueError(f"conditioning_from: width {cond_from.shape[-1]} does not match "
                                 f"conditioning_to's {cond_to.shape[-1]} (different text encoders?)")
            out.append([torch.cat([cond_to, cond_from.to(cond_to)], dim=1), dict(extras)])
        return (out,)


@tooltips({
    "conditioning": "The conditioning to limit to an area.",
    "width": "Width of the area in pixels (rounded down to a multiple of 8).",
    "height": "Height of the area in pixels (rounded down to a multiple of 8).",
    "x": "Left edge of the area in pixels, from the image's left side.",
    "y": "Top edge of the area in pixels, from the image's top.",
    "strength": "Weight of this conditioning inside its area relative to the others there; 1 is normal, "
                "higher makes it dominate, 0 removes its effect."})
class ConditioningSetArea:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "conditioning": ("CONDITIONING",),
            "width": ("INT", {"default": 64, "min": 64, "max": MAX_RESOLUTION, "step": 8}),
            "height": ("INT", {"default": 64, "min": 64, "max": MAX_RESOLUTION, "step": 8}),
            "x": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "y": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.01}),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "append"
    CATEGORY = "conditioning"
    DESCRIPTION = "Limits a conditioning to a rectangle of the image (in pixels), with a strength."

    def append(self, conditioning, width, height, x, y, strength):
        """area = (h, w, y, x) in latent units (pixels // 8)."""
        area = (height // 8, width // 8, y // 8, x // 8)
        return (_with_values(conditioning, area=area, strength=strength, set_area_to_bounds=False),)


@tooltips({
    "conditioning": "The conditioning to limit to an area.",
    "width": "Width of the area as a fraction of the image width (1 = full width).",
    "height": "Height of the area as a fraction of the image height (1 = full height).",
    "x": "Left edge of the area as a fraction of the image width (0 = left side).",
    "y": "Top edge of the area as a fraction of the image height (0 = top).",
    "strength": "Weight of this conditioning inside its area relative to the others there; 1 is normal, "
                "higher makes it dominate, 0 removes its effect."})
class ConditioningSetAreaPercentage:
    @classmethod
    def INPUT_TYPES(cls):
        fraction = {"min": 0, "max": 1.0, "step": 0.01}
        return {"required": {
            "conditioning": ("CONDITIONING",),
            "width": ("FLOAT", {"default": 1.0, **fraction}),
            "height": ("FLOAT", {"default": 1.0, **fraction}),
            "x": ("FLOAT", {"default": 0, **fraction}),
            "y": ("FLOAT", {"default": 0, **fraction}),
            "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.01}),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "append"
    CATEGORY = "conditioning"
    DESCRIPTION = ("Limits a conditioning to a rectangle given as fractions of the image size, with a "
                   "strength.")

    def append(self, conditioning, width, height, x, y, strength):
        """area = ("percentage", h, w, y, x) as fractions of the latent; the sampler resolves it."""
        area = ("percentage", height, width, y, x)
        return (_with_values(conditioning, area=area, strength=strength, set_area_to_bounds=False),)


@tooltips({
    "conditioning": "The conditioning to limit to the mask.",
    "mask": "Where the conditioning applies: 1 = fully, 0 = not at all; resized to the latent.",
    "strength": "Weight of this conditioning inside the mask relative to the others there; 1 is normal, "
                "higher makes it dominate, 0 removes its effect.",
    "set_cond_area": "default: the model sees the whole image for this prompt; mask bounds: it denoises only"
                     " the mask's bounding box, which gives that region more detail."})
class ConditioningSetMask:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "conditioning": ("CONDITIONING",),
            "mask": ("MASK",),
            "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.01}),
            "set_cond_area": (["default", "mask bounds"],),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "append"
    CATEGORY = "conditioning"
    DESCRIPTION = "Limits a conditioning to the area of a mask, with a strength."

    def append(self, conditioning, mask, set_cond_area, strength):
        if getattr(mask, "ndim", 0) not in (2, 3):
            raise ValueError(f"mask: expected a MASK [H, W] or [B, H, W], got shape {tuple(getattr(mask, 'shape', ()))}")
        if set_cond_area not in ("default", "mask bounds"):
            raise ValueError(f"set_cond_area: expected 'default' or 'mask bounds', got {set_cond_area!r}")
        if mask.ndim == 2:
            mask = mask.unsqueeze(0)
        return (_with_values(conditioning, mask=mask, set_area_to_bounds=set_cond_area != "default",
                             mask_strength=strength),)


@tooltips({
    "conditioning": "The conditioning to replace with zeros (keeps its extras, such as areas)."})
class ConditioningZeroOut:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"conditioning": ("CONDITIONING",)}}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "zero_out"
    CATEGORY = "advanced/conditioning"
    DESCRIPTION = "Replaces the conditioning tensors (and the pooled output) with zeros."

    def zero_out(self, conditioning):
        import torch

        _check_conditioning(conditioning, "conditioning")
        out = []
        for cond, extras in conditioning:
            extras = dict(extras)
            if extras.get("pooled_output") is not None:
                extras["pooled_output"] = torch.zeros_like(extras["pooled_output"])
            out.append([torch.zeros_like(cond), extras])
        return (out,)


@tooltips({
    "conditioning": "The conditioning to limit in time.",
    "start": "When the conditioning starts to apply, as a fraction of the sampling: 0 = from the first step.",
    "end": "When the conditioning stops applying, as a fraction of the sampling: 1 = until the last step."})
class ConditioningSetTimestepRange:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "conditioning": ("CONDITIONING",),
            "start": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.001}),
            "end": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.001}),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "set_range"
    CATEGORY = "advanced/conditioning"
    DESCRIPTION = ("Applies the conditioning only between two points of the sampling schedule (0 = start, 1 = "
                   "end).")

    def set_range(self, conditioning, start, end):
        """Use this conditioning only from `start` to `end` of the sampling (fractions of the run)."""
        return (_with_values(conditioning, start_percent=start, end_percent=end),)


NODE_CLASS_MAPPINGS = {
    "CLIPTextEncode": CLIPTextEncode,
    "CLIPTextEncodeSDXL": CLIPTextEncodeSDXL,
    "CLIPTextEncodeSDXLRefiner": CLIPTextEncodeSDXLRefiner,
    "CLIPSetLastLayer": CLIPSetLastLayer,
    "ConditioningCombine": ConditioningCombine,
    "ConditioningAverage": ConditioningAverage,
    "ConditioningConcat": ConditioningConcat,
    "ConditioningSetArea": ConditioningSetArea,
    "ConditioningSetAreaPercentage": ConditioningSetAreaPercentage,
    "ConditioningSetMask": ConditioningSetMask,
    "ConditioningZeroOut": ConditioningZeroOut,
    "ConditioningSetTimestepRange": ConditioningSetTimestepRange,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "CLIPTextEncode": "CLIP Text Encode (Prompt)",
    "CLIPSetLastLayer": "CLIP Set Last Layer",
    "ConditioningCombine": "Conditioning (Combine)",
    "ConditioningAverage": "Conditioning (Average)",
    "ConditioningConcat": "Conditioning (Concat)",
    "ConditioningSetArea": "Conditioning (Set Area)",
    "ConditioningSetAreaPercentage": "Conditioning (Set Area with Percentage)",
    "ConditioningSetMask": "Conditioning (Set Mask)",
}
