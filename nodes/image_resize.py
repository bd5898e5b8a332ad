"""Resizing nodes with ComfyUI's schemas: to a pixel count, to a largest side, fit-and-pad,
and the all-in-one ResizeImageMaskNode (IMAGE or MASK). All resizing goes through
engine.images.resize_image."""
from __future__ import annotations

import math

from nodes._checks import MAX_RESOLUTION, check_choice, check_float, check_image, check_int, check_mask
from nodes._tooltips import tooltips

UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
PAD_INTERPOLATIONS = ["area", "bicubic", "nearest-exact", "bilinear", "lanczos"]
PAD_COLORS = {"white": 1.0, "black": 0.0}
RESIZE_TYPES = ["scale dimensions", "scale by multiplier", "scale longer dimension",
                "scale shorter dimension", "scale width", "scale height", "scale total pixels",
                "match size", "scale to multiple"]
CROP_METHODS = ["disabled", "center"]


def _resize(image, width, height, method, crop="disabled"):
    from engine.images import resize_image

    from nodes._batches import each_item

    width, height = max(1, int(width)), max(1, int(height))
    if (height, width) == tuple(image.shape[1:3]) and crop == "disabled":
        return image
    return each_item(image, lambda part: resize_image(part, width, height, method, crop))


@tooltips({
    "image": "The images to resize.",
    "upscale_method": "The resampling filter.",
    "megapixels": "Target size in megapixels (1 MP = 1024 x 1024 pixels)."})
class ImageScaleToTotalPixels:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",), "upscale_method": (UPSCALE_METHODS,),
            "megapixels": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 16.0, "step": 0.01}),
            "resolution_steps": ("INT", {"default": 1, "min": 1, "max": 256,
                                         "tooltip": "Width and height are rounded to a multiple of this."}),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "upscale"
    CATEGORY = "image/upscaling"
    DESCRIPTION = "Resizes, keeping the aspect ratio, to about `megapixels` x 1024 x 1024 pixels."

    def upscale(self, image, upscale_method, megapixels, resolution_steps=1):
        check_image(image)
        check_choice("upscale_method", upscale_method, UPSCALE_METHODS)
        megapixels = check_float("megapixels", megapixels, 0.01, 16.0)
        steps = check_int("resolution_steps", resolution_steps, 1, 256)
        height, width = image.shape[1:3]
        scale = math.sqrt(megapixels * 1024 * 1024 / (width * height))
        new_w = max(steps, round(width * scale / steps) * steps)
        new_h = max(steps, round(height * scale / steps) * steps)
        return (_resize(image, new_w, new_h, upscale_method),)


@tooltips({
    "image": "The images to resize.",
    "upscale_method": "The resampling filter.",
    "largest_size": "The length of the longer side after resizing, in pixels."})
class ImageScaleToMaxDimension:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",), "upscale_method": (UPSCALE_METHODS,),
            "largest_size": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1}),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "upscale"
    CATEGORY = "image/upscaling"
    DESCRIPTION = "Resizes, keeping the aspect ratio, so the longer side is `largest_size` pixels."

    def upscale(self, image, upscale_method, largest_size):
        check_image(image)
        check_choice("upscale_method", upscale_method, UPSCALE_METHODS)
        largest = check_int("largest_size", largest_size, 1, MAX_RESOLUTION)
        height, width = image.shape[1:3]
        scale = largest / max(width, height)
        return (_resize(image, round(width * scale), round(height * scale), upscale_method),)


@tooltips({
    "image": "The images to fit.",
    "target_width": "Output width in pixels.",
    "target_height": "Output height in pixels.",
    "padding_color": "Colour of the added border.",
    "interpolation": "The resampling filter."})
class ResizeAndPadImage:
    @classmethod
    def INPUT_TYPES(cls):
        size = {"default": 512, "min": 1, "max": MAX_RESOLUTION, "step": 1}
        return {"required": {
            "image": ("IMAGE",), "target_width": ("INT", size), "target_height": ("INT", size),
            "padding_color": (list(PAD_COLORS),), "interpolation": (PAD_INTERPOLATIONS,),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "resize_and_pad"
    CATEGORY = "image/transform"
    DESCRIPTION = "Fits the image inside the target size (keeping its aspect ratio) and pads the rest, centred."

    def resize_and_pad(self, image, target_width, target_height, padding_color, interpolation):
        import torch

        check_image(image)
        target_w = check_int("target_width", target_width, 1, MAX_RESOLUTION)
        target_h = check_int("target_height", target_height, 1, MAX_RESOLUTION)
        fill = PAD_COLORS[check_choice("padding_color", padding_color, PAD_COLORS)]
        check_choice("interpolation", interpolation, PAD_INTERPOLATIONS)
        height, width = image.shape[1:3]
        scale = min(target_w / width, target_h / height)
        new_w, new_h = max(1, int(width * scale)), max(1, int(height * scale))
        resized = _resize(image, new_w, new_h, interpolation)
        out = torch.full((image.shape[0], target_h, target_w, image.shape[3]), fill, dtype=torch.float32)
        left, top = (target_w - new_w) // 2, (target_h - new_h) // 2
        out[:, top:top + new_h, left:left + new_w, :] = resized
        return (out,)


@tooltips({
    "scale_method": "The resampling filter.",
    "resize_type.width": "Target width (scale dimensions, scale width); 0 keeps the aspect ratio.",
    "resize_type.height": "Target height (scale dimensions, scale height); 0 keeps the aspect ratio.",
    "resize_type.crop": "Centre-crop to the target aspect ratio before resizing (scale dimensions).",
    "resize_type.multiplier": "Scale factor (scale by multiplier).",
    "resize_type.longer_size": "Length of the longer side (scale longer dimension).",
    "resize_type.shorter_size": "Length of the shorter side (scale shorter dimension).",
    "resize_type.megapixels": "Target size in megapixels (scale total pixels).",
    "resize_type.multiple": "Round width and height to a multiple of this (scale to multiple)."})
class ResizeImageMaskNode:
    """One resize node for images and masks; the sub-inputs of `resize_type` are named
    `resize_type.<name>` as ComfyUI's dynamic combo sends them."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "input": ("IMAGE,MASK", {"tooltip": "The image or mask to resize."}),
            "resize_type": (RESIZE_TYPES, {"tooltip": "How the new size is chosen."}),
            "scale_method": (UPSCALE_METHODS, {"default": "area"}),
        }, "optional": {
            "resize_type.width": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION}),
            "resize_type.height": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION}),
            "resize_type.crop": (CROP_METHODS, {"default": "disabled"}),
            "resize_type.multiplier": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 8.0, "step": 0.01}),
            "resize_type.longer_size": ("INT", {"default": 512, "min": 1, "max": MAX_RESOLUTION}),
            "resize_type.shorter_size": ("INT", {"default": 512, "min": 1, "max": MAX_RESOLUTION}),
            "resize_type.megapixels": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 16.0, "step": 0.01}),
            "resize_type.match": ("IMAGE,MASK", {"tooltip": "Take the size of this image or mask."}),
            "resize_type.multiple": ("INT", {"default": 8, "min": 1, "max": 1024}),
        }}

    RETURN_TYPES = ("*",)
    RETURN_NAMES = ("resized",)
    FUNCTION = "execute"
    CATEGORY = "transform"
    DESCRIPTION = ("Resizes an image or a mask by size, factor, side length, pixel count, another image, "
                   "or to a multiple.")

    def execute(self, input, resize_type, scale_method, **options):
        check_choice("resize_type", resize_type, RESIZE_TYPES)
        check_choice("scale_method", scale_method, UPSCALE_METHODS)
        is_mask = getattr(input, "ndim", 0) in (2, 3)
        image = check_mask(input, "input")[..., None] if is_mask else input
        check_image(image, "input")
        height, width = image.shape[1:3]
        new_w, new_h = self._size(resize_type, width, height, options)
        crop = options.get("resize_type.crop", "disabled") if resize_type == "scale dimensions" else "disabled"
        check_choice("resize_type.crop", crop, CROP_METHODS)
        resized = _resize(image, new_w, new_h, scale_method, crop)
        return (resized[..., 0] if is_mask else resized,)

    @staticmethod
    def _size(kind, width, height, options):
        def option(name, default, low, high, number=check_int):
            return number(f"resize_type.{name}", options.get(f"resize_type.{name}", default), low, high)

        if kind == "scale dimensions":
            w, h = option("width", 512, 0, MAX_RESOLUTION), option("height", 512, 0, MAX_RESOLUTION)
            if w == 0 and h == 0:
                return width, height
            if w == 0:
                w = round(width * h / height)
            elif h == 0:
                h = round(height * w / width)
            return w, h
        if kind == "scale by multiplier":
            factor = option("multiplier", 1.0, 0.01, 8.0, check_float)
            return round(width * factor), round(height * factor)
        if kind in ("scale longer dimension", "scale shorter dimension"):
            longer = kind == "scale longer dimension"
            side = option("longer_size" if longer else "shorter_size", 512, 1, MAX_RESOLUTION)
            scale = side / (max(width, height) if longer else min(width, height))
            return round(width * scale), round(height * scale)
        if kind == "scale width":
            w = option("width", 512, 1, MAX_RESOLUTION)
            return w, round(height * w / width)
        if kind == "scale height":
            h = option("height", 512, 1, MAX_RESOLUTION)
            return round(width * h / height), h
        if kind == "scale total pixels":
            scale = math.sqrt(option("megapixels", 1.0, 0.01, 16.0, check_float) * 1024 * 1024 / (width * height))
            return round(width * scale), round(height * scale)
        if kind == "match size":
            match = options.get("resize_type.match")
            if match is None or getattr(match, "ndim", 0) not in (2, 3, 4):
                raise ValueError("resize_type.match: connect the image or mask whose size to take")
            return int(match.shape[-2 if match.ndim == 4 else -1]), int(match.shape[-3 if match.ndim == 4 else -2])
        multiple = option("multiple", 8, 1, 1024)
        return (max(multiple, round(width / multiple) * multiple),
                max(multiple, round(height / multiple) * multiple))


NODE_CLASS_MAPPINGS = {cls.__name__: cls for cls in (
    ImageScaleToTotalPixels, ImageScaleToMaxDimension, ResizeAndPadImage, ResizeImageMaskNode)}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ImageScaleToTotalPixels": "Scale Image to Total Pixels",
    "ImageScaleToMaxDimension": "Scale Image to Max Dimension",
    "ResizeAndPadImage": "Resize and Pad Image", "ResizeImageMaskNode": "Resize Image/Mask",
}
