"""Pixel filters with ComfyUI's schemas: blend, blur, sharpen, quantize.

Blur and sharpen use ComfyUI's kernel: a Gaussian sampled on [-1, 1] (so `sigma` is
relative to the radius, not in pixels), applied by OpenCV with mirrored edges
(BORDER_REFLECT_101, torch's "reflect").
"""
from __future__ import annotations

from nodes._checks import check_choice, check_float, check_image, check_int
from nodes._tooltips import tooltips

BLEND_MODES = ["normal", "multiply", "screen", "overlay", "soft_light", "difference"]
DITHER_MODES = ["none", "floyd-steinberg", "bayer-2", "bayer-4", "bayer-8", "bayer-16"]


def gaussian_kernel_1d(size: int, sigma: float):
    """exp(-t^2 / 2 sigma^2) at `size` points on [-1, 1], summing to 1 (float32 numpy)."""
    import numpy as np

    t = np.linspace(-1.0, 1.0, size, dtype=np.float64)
    kernel = np.exp(-(t * t) / (2.0 * sigma * sigma))
    return (kernel / kernel.sum()).astype(np.float32)


def _filter(image, kernel_x, kernel_y=None, kernel_2d=None):
    """Apply a separable (or 2-D) kernel to every image and channel with cv2."""
    import cv2
    import numpy as np
    import torch

    out = np.empty(image.shape, dtype=np.float32)
    for index, item in enumerate(image.detach().cpu().float().numpy()):
        if kernel_2d is not None:
            filtered = cv2.filter2D(item, -1, kernel_2d, borderType=cv2.BORDER_REFLECT_101)
        else:
            filtered = cv2.sepFilter2D(item, -1, kernel_x, kernel_y, borderType=cv2.BORDER_REFLECT_101)
        out[index] = filtered.reshape(item.shape)
    return torch.from_numpy(out)


@tooltips({
    "image1": "The base image.",
    "image2": "The image mixed in; resized to image1 if needed.",
    "blend_factor": "How much of the blended result to use: 0 keeps image1, 1 uses the blend fully.",
    "blend_mode": "How image1 and image2 combine before mixing."})
class ImageBlend:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image1": ("IMAGE",), "image2": ("IMAGE",),
            "blend_factor": ("FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01}),
            "blend_mode": (BLEND_MODES,),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "blend_images"
    CATEGORY = "image/postprocessing"
    DESCRIPTION = ("Mixes image2 into image1: image1 * (1 - factor) + mode(image1, image2) * factor; "
                   "image2 is resized (bicubic, centre crop) to image1's size.")

    def blend_images(self, image1, image2, blend_factor, blend_mode):
        import torch

        from engine.images import resize_image

        check_image(image1, "image1")
        check_image(image2, "image2")
        factor = check_float("blend_factor", blend_factor, 0.0, 1.0)
        check_choice("blend_mode", blend_mode, BLEND_MODES)
        if image1.shape[-1] != image2.shape[-1]:
            raise ValueError(f"image2: has {image2.shape[-1]} channels, image1 has {image1.shape[-1]}")
        if image2.shape[1:3] != image1.shape[1:3]:
            image2 = resize_image(image2, image1.shape[2], image1.shape[1], "bicubic", "center")
        if image2.shape[0] not in (1, image1.shape[0]) and image1.shape[0] != 1:
            raise ValueError(f"image2: batch of {image2.shape[0]} does not match image1's {image1.shape[0]}")
        a, b = image1.float(), image2.float()
        if blend_mode == "normal":
            mixed = b
        elif blend_mode == "multiply":
            mixed = a * b
        elif blend_mode == "screen":
            mixed = 1 - (1 - a) * (1 - b)
        elif blend_mode == "overlay":
            mixed = torch.where(a <= 0.5, 2 * a * b, 1 - 2 * (1 - a) * (1 - b))
        elif blend_mode == "soft_light":
            g = torch.where(a <= 0.25, ((16 * a - 12) * a + 4) * a, torch.sqrt(a))
            mixed = torch.where(b <= 0.5, a - (1 - 2 * b) * a * (1 - a), a + (2 * b - 1) * (g - a))
        else:
            mixed = a - b
        return (torch.clamp(a * (1 - factor) + mixed * factor, 0, 1),)


@tooltips({
    "image": "The images to blur.",
    "blur_radius": "Kernel radius in pixels (kernel side 2r+1).",
    "sigma": "Spread of the Gaussian relative to the radius; larger is flatter."})
class ImageBlur:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",),
            "blur_radius": ("INT", {"default": 1, "min": 1, "max": 31, "step": 1}),
            "sigma": ("FLOAT", {"default": 1.0, "min": 0.1, "max": 10.0, "step": 0.1}),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "blur"
    CATEGORY = "image/postprocessing"
    DESCRIPTION = "Gaussian blur over a (2 x radius + 1) square."

    def blur(self, image, blur_radius, sigma):
        check_image(image)
        radius = check_int("blur_radius", blur_radius, 1, 31)
        sigma = check_float("sigma", sigma, 0.1, 10.0)
        if radius * 2 + 1 > 2 * min(image.shape[1:3]) - 1:
            raise ValueError(f"blur_radius: {radius} is too large for a {image.shape[2]}x{image.shape[1]} image")
        kernel = gaussian_kernel_1d(radius * 2 + 1, sigma)
        return (_filter(image, kernel, kernel),)


@tooltips({
    "image": "The images to sharpen.",
    "sharpen_radius": "Kernel radius in pixels (kernel side 2r+1).",
    "sigma": "Spread of the Gaussian relative to the radius.",
    "alpha": "Sharpening strength; 0 leaves the image unchanged."})
class ImageSharpen:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",),
            "sharpen_radius": ("INT", {"default": 1, "min": 1, "max": 31, "step": 1}),
            "sigma": ("FLOAT", {"default": 1.0, "min": 0.1, "max": 10.0, "step": 0.01}),
            "alpha": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 5.0, "step": 0.01}),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "sharpen"
    CATEGORY = "image/postprocessing"
    DESCRIPTION = "Unsharp-style sharpening: subtracts alpha x 10 times the Gaussian blur, keeping brightness."

    def sharpen(self, image, sharpen_radius, sigma, alpha):
        import numpy as np
        import torch

        check_image(image)
        radius = check_int("sharpen_radius", sharpen_radius, 1, 31)
        sigma = check_float("sigma", sigma, 0.1, 10.0)
        alpha = check_float("alpha", alpha, 0.0, 5.0)
        if radius * 2 + 1 > 2 * min(image.shape[1:3]) - 1:
            raise ValueError(f"sharpen_radius: {radius} is too large for a {image.shape[2]}x{image.shape[1]} image")
        k1 = gaussian_kernel_1d(radius * 2 + 1, sigma)
        kernel = np.outer(k1, k1) * -(alpha * 10)
        kernel[radius, radius] += 1.0 - kernel.sum()   # the kernel sums to 1: flat areas stay the same
        return (torch.clamp(_filter(image, None, kernel_2d=kernel.astype(np.float32)), 0, 1),)


def _bayer_offsets(size: int):
    """ComfyUI's normalised Bayer matrix (size x size, centred on 0): each level is
    [[m - 1.5, m + 0.5], [m + 1.5, m - 0.5]] / 4^n with m = 4^n x the previous level."""
    import numpy as np

    matrix = np.zeros((1, 1), dtype=np.float64)
    for level in range(1, size.bit_length()):
        q = 4 ** level
        m = q * matrix
        matrix = np.block([[m - 1.5, m + 0.5], [m + 1.5, m - 0.5]]) / q
    return matrix


@tooltips({
    "image": "The images to reduce.",
    "colors": "The most colours each image keeps.",
    "dither": "How the lost colours are spread: none, error diffusion, or an ordered Bayer pattern."})
class ImageQuantize:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",),
            "colors": ("INT", {"default": 256, "min": 1, "max": 256, "step": 1}),
            "dither": (DITHER_MODES,),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "quantize"
    CATEGORY = "image/postprocessing"
    DESCRIPTION = ("Reduces each image to at most `colors` colours (Pillow's median cut palette), "
                   "optionally dithered.")

    def quantize(self, image, colors, dither):
        import numpy as np
        import torch
        from PIL import Image

        check_image(image)
        colors = check_int("colors", colors, 1, 256)
        check_choice("dither", dither, DITHER_MODES)
        out = []
        for item in image.detach().cpu().float().numpy():
            rgb = (np.clip(item[..., :3], 0, 1) * 255).astype(np.uint8)
            pil = Image.fromarray(rgb)
            palette = pil.quantize(colors=colors, dither=Image.Dither.NONE)
            if dither.startswith("bayer"):
                # ComfyUI: add spread x the Bayer pattern (+0.5), then map to the palette without dithering
                spread = 2 * 256 / (len(palette.getpalette()) // 3)
                offsets = spread * _bayer_offsets(int(dither.split("-")[1])) + 0.5
                reps = (rgb.shape[0] // offsets.shape[0] + 1, rgb.shape[1] // offsets.shape[1] + 1)
                tiled = np.tile(offsets, reps)[:rgb.shape[0], :rgb.shape[1], None]
                pil = Image.fromarray(np.clip(rgb + tiled, 0, 255).astype(np.uint8))
            mode = Image.Dither.FLOYDSTEINBERG if dither == "floyd-steinberg" else Image.Dither.NONE
            result = pil.quantize(palette=palette, dither=mode).convert("RGB")
            array = np.asarray(result, dtype=np.float32) / 255.0
            if item.shape[-1] == 4:
                array = np.concatenate([array, item[..., 3:]], axis=-1)
            out.append(array)
        return (torch.from_numpy(np.stack(out)),)


NODE_CLASS_MAPPINGS = {"ImageBlend": ImageBlend, "ImageBlur": ImageBlur, "ImageSharpen": ImageSharpen,
                       "ImageQuantize": ImageQuantize}
NODE_DISPLAY_NAME_MAPPINGS = {"ImageBlend": "Image Blend", "ImageBlur": "Image Blur",
                              "ImageSharpen": "Image Sharpen", "ImageQuantize": "Image Quantize"}
