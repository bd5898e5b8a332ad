"""Mask nodes with ComfyUI's schemas: convert, invert, solid, crop, feather, grow,
threshold, composite and preview (alpha join/split: nodes/image_alpha.py).
A MASK is [B,H,W] float in 0..1; 1 marks the area to work on."""
from __future__ import annotations

from nodes._checks import (MAX_RESOLUTION, check_choice, check_float, check_image, check_int,
                           check_mask, repeat_to_batch)
from nodes._tooltips import tooltips

CHANNELS = ["red", "green", "blue", "alpha"]
COMPOSITE_OPERATIONS = ["multiply", "add", "subtract", "and", "or", "xor"]
_SIZE = {"default": 512, "min": 1, "max": MAX_RESOLUTION, "step": 1}
_PLACE = {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 1}


class _MaskNode:
    RETURN_TYPES = ("MASK",)
    CATEGORY = "mask"


@tooltips({
    "image": "The image to read.",
    "channel": "The channel that becomes the mask."})
class ImageToMask(_MaskNode):
    FUNCTION = "image_to_mask"
    DESCRIPTION = "One channel of the image as a mask."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",), "channel": (CHANNELS,)}}

    def image_to_mask(self, image, channel):
        check_image(image)
        index = CHANNELS.index(check_choice("channel", channel, CHANNELS))
        if index >= image.shape[-1]:
            raise ValueError(f"channel: the image has no {channel} channel ({image.shape[-1]} channels)")
        return (image[..., index].clone(),)


@tooltips({
    "mask": "The mask to show as an image."})
class MaskToImage:
    FUNCTION = "mask_to_image"
    RETURN_TYPES = ("IMAGE",)
    CATEGORY = "mask"
    DESCRIPTION = "The mask as a grey image (the same value in red, green and blue)."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",)}}

    def mask_to_image(self, mask):
        mask = check_mask(mask)
        return (mask[..., None].expand(*mask.shape, 3).clone(),)


@tooltips({
    "mask": "The mask to invert."})
class InvertMask(_MaskNode):
    FUNCTION = "invert"
    DESCRIPTION = "1 - mask."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",)}}

    def invert(self, mask):
        return (1.0 - check_mask(mask),)


@tooltips({
    "value": "The value of every pixel.",
    "width": "Width in pixels.",
    "height": "Height in pixels."})
class SolidMask(_MaskNode):
    FUNCTION = "solid"
    DESCRIPTION = "A width x height mask filled with one value."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}),
                             "width": ("INT", _SIZE), "height": ("INT", _SIZE)}}

    def solid(self, value, width, height):
        import torch

        value = check_float("value", value, 0.0, 1.0)
        width = check_int("width", width, 1, MAX_RESOLUTION)
        height = check_int("height", height, 1, MAX_RESOLUTION)
        return (torch.full((1, height, width), value, dtype=torch.float32),)


@tooltips({
    "mask": "The mask to crop.",
    "x": "Left edge of the cut-out.",
    "y": "Top edge of the cut-out.",
    "width": "Width of the cut-out.",
    "height": "Height of the cut-out."})
class CropMask(_MaskNode):
    FUNCTION = "crop"
    CATEGORY = "mask"
    DESCRIPTION = "The width x height part of the mask whose top-left corner is (x, y), stopping at the edge."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",), "x": ("INT", _PLACE), "y": ("INT", _PLACE),
                             "width": ("INT", _SIZE), "height": ("INT", _SIZE)}}

    def crop(self, mask, x, y, width, height):
        mask = check_mask(mask)
        x, y = check_int("x", x, 0), check_int("y", y, 0)
        width, height = check_int("width", width, 1), check_int("height", height, 1)
        if x >= mask.shape[2] or y >= mask.shape[1]:
            raise ValueError(f"x: the corner ({x}, {y}) is outside the {mask.shape[2]}x{mask.shape[1]} mask")
        return (mask[:, y:y + height, x:x + width].clone(),)


@tooltips({
    "mask": "The mask to fade.",
    "left": "Fade width at the left edge, in pixels.",
    "top": "Fade width at the top edge.",
    "right": "Fade width at the right edge.",
    "bottom": "Fade width at the bottom edge."})
class FeatherMask(_MaskNode):
    FUNCTION = "feather"
    DESCRIPTION = ("Fades the mask linearly to 0 towards each edge over the given number of pixels "
                   "(the outermost pixel keeps 1/n of its value).")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",), "left": ("INT", _PLACE), "top": ("INT", _PLACE),
                             "right": ("INT", _PLACE), "bottom": ("INT", _PLACE)}}

    def feather(self, mask, left, top, right, bottom):
        import torch

        mask = check_mask(mask)
        height, width = mask.shape[1:]
        sides = {name: check_int(name, value, 0) for name, value in
                 (("left", left), ("top", top), ("right", right), ("bottom", bottom))}

        def ramp(length, before, after):
            position = torch.arange(length, dtype=torch.float32)
            weight = torch.ones(length)
            if before:
                weight = weight * torch.clamp((position + 1) / before, max=1.0)
            if after:
                weight = weight * torch.clamp((length - position) / after, max=1.0)
            return weight

        columns = ramp(width, min(sides["left"], width), min(sides["right"], width))
        rows = ramp(height, min(sides["top"], height), min(sides["bottom"], height))
        return (mask * rows[None, :, None] * columns[None, None, :],)


@tooltips({
    "mask": "The mask to grow or shrink.",
    "expand": "Pixels to grow (positive) or shrink (negative).",
    "tapered_corners": "Round the corners (cross-shaped step) instead of keeping them square."})
class GrowMask(_MaskNode):
    FUNCTION = "expand_mask"
    DESCRIPTION = ("Grows (positive expand) or shrinks (negative) the mask by that many pixels; "
                   "tapered corners use a cross-shaped step instead of a square one.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",),
                             "expand": ("INT", {"default": 0, "min": -MAX_RESOLUTION, "max": MAX_RESOLUTION,
                                                "step": 1}),
                             "tapered_corners": ("BOOLEAN", {"default": True})}}

    def expand_mask(self, mask, expand, tapered_corners):
        import cv2
        import numpy as np
        import torch

        mask = check_mask(mask)
        expand = check_int("expand", expand, -MAX_RESOLUTION, MAX_RESOLUTION)
        if expand == 0:
            return (mask.clone(),)
        shape = cv2.MORPH_CROSS if tapered_corners else cv2.MORPH_RECT
        kernel = cv2.getStructuringElement(shape, (3, 3))
        operation = cv2.dilate if expand > 0 else cv2.erode
        out = [operation(item, kernel, iterations=abs(expand), borderType=cv2.BORDER_REPLICATE)
               for item in mask.numpy().astype(np.float32)]
        return (torch.from_numpy(np.stack(out)),)


@tooltips({
    "mask": "The mask to threshold.",
    "value": "Pixels above this become 1, the rest 0."})
class ThresholdMask(_MaskNode):
    FUNCTION = "image_to_mask"
    DESCRIPTION = "1 where the mask is above `value`, else 0."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",),
                             "value": ("FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01})}}

    def image_to_mask(self, mask, value):
        return ((check_mask(mask) > check_float("value", value, 0.0, 1.0)).float(),)


@tooltips({
    "destination": "The mask to change.",
    "source": "The mask combined into it.",
    "x": "Left edge where source is placed.",
    "y": "Top edge where source is placed.",
    "operation": "How source and destination combine."})
class MaskComposite(_MaskNode):
    FUNCTION = "combine"
    DESCRIPTION = ("Combines `source` into `destination` with its top-left corner at (x, y); "
                   "and/or/xor treat values above 0.5 as set. The result is clamped to 0..1.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"destination": ("MASK",), "source": ("MASK",),
                             "x": ("INT", _PLACE), "y": ("INT", _PLACE),
                             "operation": (COMPOSITE_OPERATIONS,)}}

    def combine(self, destination, source, x, y, operation):
        import torch

        destination, source = check_mask(destination, "destination"), check_mask(source, "source")
        x, y = check_int("x", x, 0), check_int("y", y, 0)
        check_choice("operation", operation, COMPOSITE_OPERATIONS)
        if source.shape[0] not in (1, destination.shape[0]):
            raise ValueError(f"source: batch of {source.shape[0]} does not match destination's "
                             f"{destination.shape[0]}")
        output = repeat_to_batch(destination.clone(), source.shape[0])
        height = max(0, min(source.shape[1], output.shape[1] - y))
        width = max(0, min(source.shape[2], output.shape[2] - x))
        if height == 0 or width == 0:
            return (output,)
        region = output[:, y:y + height, x:x + width]
        part = source[:, :height, :width]
        if operation == "multiply":
            combined = region * part
        elif operation == "add":
            combined = region + part
        elif operation == "subtract":
            combined = region - part
        else:
            logic = {"and": torch.logical_and, "or": torch.logical_or, "xor": torch.logical_xor}[operation]
            combined = logic(region.round().bool(), part.round().bool()).float()
        output[:, y:y + height, x:x + width] = combined
        return (torch.clamp(output, 0.0, 1.0),)


@tooltips({
    "mask": "The mask to show."})
class MaskPreview:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",)},
                "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}}

    RETURN_TYPES = ()
    FUNCTION = "execute"
    OUTPUT_NODE = True
    CATEGORY = "mask"
    DESCRIPTION = "Shows the mask as a grey image (written to the temp folder)."

    def execute(self, mask, prompt=None, extra_pnginfo=None):
        from nodes.image import PreviewImage

        image = MaskToImage().mask_to_image(mask)[0]
        return PreviewImage().save_images(image, "ComfyUI", prompt, extra_pnginfo)


NODE_CLASS_MAPPINGS = {cls.__name__: cls for cls in (
    ImageToMask, MaskToImage, InvertMask, SolidMask, CropMask, FeatherMask, GrowMask, ThresholdMask,
    MaskComposite, MaskPreview)}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ImageToMask": "Convert Image to Mask", "MaskToImage": "Convert Mask to Image",
    "InvertMask": "Invert Mask", "SolidMask": "Solid Mask", "CropMask": "Crop Mask",
    "FeatherMask": "Feather Mask", "GrowMask": "Grow Mask", "ThresholdMask": "Threshold Mask",
    "MaskComposite": "Mask Composite", "MaskPreview": "Preview Mask",
}
