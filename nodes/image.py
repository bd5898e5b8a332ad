"""Image nodes: load, save, preview, scale, invert, batch, pad, empty.

Schemas follow ComfyUI's (class names, inputs, defaults, limits). torch and
engine.images are imported inside the node functions so this module imports
without torch. Nodes never change their input tensors.
"""

from __future__ import annotations

import hashlib
import mimetypes
import random
import string
from pathlib import Path

from nodes._batches import each_item
from nodes._tooltips import tooltips

MAX_RESOLUTION = 16384
IMAGE_UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
CROP_METHODS = ["disabled", "center"]
COLOR_CHANNELS = ["alpha", "red", "green", "blue"]
_EXTRA_IMAGE_SUFFIXES = {".webp", ".avif", ".jxl", ".heic"}
_ANNOTATIONS = ("input", "output", "temp")


# ---------------------------------------------------------------- input files


def resolve_input_file(name: str, input_name: str = "image") -> Path:
    """The file a combo value names, inside the input folder.

    A value may end in " [input]", " [output]" or " [temp]" (ComfyUI's
    annotation) to read from that folder instead. Names that would leave the
    folder, and missing files, raise ValueError naming the input.
    """
    from engine import folders

    if not isinstance(name, str) or not name:
        raise ValueError(f"{input_name}: expected a file name, got {name!r}")
    chosen = folders.get()
    base = chosen.input_dir
    relative = name
    for annotation in _ANNOTATIONS:
        suffix = f" [{annotation}]"
        if name.endswith(suffix):
            relative = name[: -len(suffix)]
            base = getattr(chosen, f"{annotation}_dir")
            break
    safe = folders.safe_relative_name(relative)
    if safe is None:
        raise ValueError(f"{input_name}: '{name}' is not a file name inside the input folder")
    base = Path(base).resolve()
    path = (base / safe).resolve()
    if base not in path.parents:
        raise ValueError(f"{input_name}: '{name}' is not a file name inside the input folder")
    if not path.is_file():
        raise ValueError(f"{input_name}: file '{name}' not found in the input folder")
    return path


def _is_image_name(name: str) -> bool:
    kind, _ = mimetypes.guess_type(name)
    return (kind or "").startswith("image/") or Path(name).suffix.lower() in _EXTRA_IMAGE_SUFFIXES


def input_image_files() -> list[str]:
    """The image files directly in the input folder, sorted (LoadImage's combo)."""
    from engine import folders

    input_dir = folders.get().input_dir
    if not input_dir.is_dir():
        return []
    return sorted(p.name for p in input_dir.iterdir() if p.is_file() and _is_image_name(p.name))


def _file_hash(name: str, input_name: str) -> str:
    return hashlib.sha256(resolve_input_file(name, input_name).read_bytes()).hexdigest()


@tooltips({
    "image": "An image file in the input folder (upload one with the button). Its alpha channel becomes the "
             "mask."})
class LoadImage:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": (input_image_files(), {"image_upload": True})}}

    CATEGORY = "image"
    DESCRIPTION = ("Loads an image from the input folder; its alpha channel becomes the mask (1 = "
                   "transparent).")
    RETURN_TYPES = ("IMAGE", "MASK")
    FUNCTION = "load_image"

    def load_image(self, image):
        """All frames of the file as a batch; the mask is 1 - alpha (zeros without alpha)."""
        from engine.images import load_image_frames

        return load_image_frames(resolve_input_file(image, "image"), "image")

    @classmethod
    def IS_CHANGED(cls, image):
        return _file_hash(image, "image")

    @classmethod
    def VALIDATE_INPUTS(cls, image):
        return _validate_input_image(image)


def _validate_input_image(image):
    """VALIDATE_INPUTS for the image loaders: True, or why the file cannot be used."""
    try:
        resolve_input_file(image, "image")
    except ValueError:
        return f"Invalid image file: {image}"
    return True


@tooltips({
    "image": "An image file in the input folder (upload one with the button).",
    "channel": "The channel that becomes the mask: red, green or blue as they are (1 = bright); alpha is "
               "inverted, so transparent pixels become 1."})
class LoadImageMask:
    _color_channels = COLOR_CHANNELS

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": (input_image_files(), {"image_upload": True}),
            "channel": (cls._color_channels,),
        }}

    CATEGORY = "mask"
    DESCRIPTION = "Loads one channel of an image from the input folder as a mask."
    RETURN_TYPES = ("MASK",)
    FUNCTION = "load_image"

    def load_image(self, image, channel):
        from PIL import ImageOps

        from engine.images import channel_mask, open_image

        if channel not in COLOR_CHANNELS:
            raise ValueError(f"channel: expected one of {COLOR_CHANNELS}, got {channel!r}")
        pil = ImageOps.exif_transpose(open_image(resolve_input_file(image, "image"), "image"))
        return (channel_mask(pil, channel)[None],)

    @classmethod
    def IS_CHANGED(cls, image, channel):
        return _file_hash(image, "image")

    @classmethod
    def VALIDATE_INPUTS(cls, image):
        return _validate_input_image(image)


# ---------------------------------------------------------------- saving


class SaveImage:
    """Writes PNGs to the output folder with the workflow embedded as text chunks."""

    folder_type = "output"
    prefix_append = ""
    compress_level = 4

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The images to save."}),
                "filename_prefix": ("STRING", {
                    "default": "ComfyUI",
                    "tooltip": "The prefix for the file to save. This may include formatting "
                               "information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% "
                               "to include values from nodes.",
                }),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image"
    DESCRIPTION = "Saves the input images to your output directory."

    def output_dir(self) -> Path:
        from engine import folders

        return folders.get().output_dir

    def save_images(self, images, filename_prefix="ComfyUI", prompt=None, extra_pnginfo=None):
        from engine.images import save_location, save_png

        if images.ndim != 4:
            raise ValueError(f"images: expected an IMAGE batch [B,H,W,C], got shape {tuple(images.shape)}")
        folder, filename, counter, subfolder = save_location(
            filename_prefix + self.prefix_append, self.output_dir(),
            width=images.shape[2], height=images.shape[1], prompt=prompt,
        )
        from engine.save_options import metadata_texts

        chunks = metadata_texts(prompt, extra_pnginfo)
        results = []
        for batch_number, image in enumerate(images):
            name = f"{filename.replace('%batch_num%', str(batch_number))}_{counter:05}_.png"
            save_png(image, folder / name, chunks, compress_level=self.compress_level)
            results.append({"filename": name, "subfolder": subfolder, "type": self.folder_type})
            counter += 1
        return {"ui": {"images": results}}


@tooltips({
    "images": "The images to show; they go to the temp folder and are not kept."})
class PreviewImage(SaveImage):
    """Like SaveImage, into the temp folder with fast compression."""

    folder_type = "temp"
    compress_level = 1

    def __init__(self):
        self.prefix_append = "_temp_" + "".join(random.choice(string.ascii_lowercase) for _ in range(5))

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"images": ("IMAGE",)},
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    DESCRIPTION = "Shows the images without keeping them (written to the temp folder)."

    def output_dir(self) -> Path:
        from engine import folders

        return folders.get().temp_dir


# ---------------------------------------------------------------- transforms


@tooltips({
    "image": "The images to resize.",
    "upscale_method": "How new pixels are computed: nearest-exact keeps hard pixels, bilinear and area are "
                      "smooth (area suits shrinking), bicubic and lanczos are sharper.",
    "width": "The new width in pixels; 0 keeps the aspect ratio from height (both 0: unchanged).",
    "height": "The new height in pixels; 0 keeps the aspect ratio from width (both 0: unchanged).",
    "crop": "disabled: stretch to the new size; center: first cut the image to the new aspect ratio, keeping"
            " its middle."})
class ImageScale:
    upscale_methods = IMAGE_UPSCALE_METHODS
    crop_methods = CROP_METHODS

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",),
            "upscale_method": (cls.upscale_methods,),
            "width": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1}),
            "height": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1}),
            "crop": (cls.crop_methods,),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "upscale"
    CATEGORY = "image/upscaling"
    DESCRIPTION = "Resizes images to a width and height; 0 for one side keeps the aspect ratio."

    def upscale(self, image, upscale_method, width, height, crop):
        """Resize to width x height; a zero side keeps the aspect ratio, both zero keeps the size."""
        from engine.images import resize_image

        if width == 0 and height == 0:
            return (image,)
        if width == 0:
            width = max(1, round(image.shape[2] * height / image.shape[1]))
        elif height == 0:
            height = max(1, round(image.shape[1] * width / image.shape[2]))
        return (each_item(image, lambda part: resize_image(part, width, height, upscale_method, crop)),)


@tooltips({
    "image": "The images to resize.",
    "upscale_method": "How new pixels are computed: nearest-exact keeps hard pixels, bilinear and area are "
                      "smooth (area suits shrinking), bicubic and lanczos are sharper.",
    "scale_by": "Factor for both sides: 2 doubles the width and height, 0.5 halves them, 1 keeps them."})
class ImageScaleBy:
    upscale_methods = IMAGE_UPSCALE_METHODS

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",),
            "upscale_method": (cls.upscale_methods,),
            "scale_by": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 8.0, "step": 0.01}),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "upscale"
    CATEGORY = "image/upscaling"
    DESCRIPTION = "Resizes images by a factor."

    def upscale(self, image, upscale_method, scale_by):
        from engine.images import resize_image

        width = round(image.shape[2] * scale_by)
        height = round(image.shape[1] * scale_by)
        return (each_item(image, lambda part: resize_image(part, width, height, upscale_method, "disabled")),)


@tooltips({
    "image": "The images whose colours are inverted (each value becomes 1 - value)."})
class ImageInvert:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "invert"
    CATEGORY = "image"
    DESCRIPTION = "Inverts the colours (1 - value)."

    def invert(self, image):
        return (1.0 - image,)


@tooltips({
    "image1": "The first images; the batch keeps their size.",
    "image2": "The images added after image1; resized (centre-cropped) to image1's size when they differ."})
class ImageBatch:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image1": ("IMAGE",), "image2": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "batch"
    CATEGORY = "image"
    DESCRIPTION = "Joins two image batches; the second is resized to the first's size."

    def batch(self, image1, image2):
        """Join two batches; image2 is resized (bilinear, centre crop) to image1's size."""
        import torch

        from engine.images import resize_image

        channels = max(image1.shape[-1], image2.shape[-1])
        image1 = _pad_channels(image1, channels)
        image2 = _pad_channels(image2, channels)
        if image1.shape[1:3] != image2.shape[1:3]:
            image2 = resize_image(image2, image1.shape[2], image1.shape[1], "bilinear", "center")
        return (torch.cat((image1, image2), dim=0),)


def _pad_channels(image, channels):
    """Add opaque alpha (ones) to reach ``channels``."""
    import torch

    missing = channels - image.shape[-1]
    if missing <= 0:
        return image
    return torch.cat((image, torch.ones(*image.shape[:-1], missing, dtype=image.dtype)), dim=-1)


@tooltips({
    "image": "The images to extend.",
    "left": "Pixels of new grey border added on the left.",
    "top": "Pixels of new grey border added at the top.",
    "right": "Pixels of new grey border added on the right.",
    "bottom": "Pixels of new grey border added at the bottom.",
    "feathering": "How many pixels into the original image the mask fades out from the padded sides, so new "
                  "content blends in; 0 gives a hard edge."})
class ImagePadForOutpaint:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",),
            "left": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "top": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "right": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "bottom": ("INT", {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 8}),
            "feathering": ("INT", {"default": 40, "min": 0, "max": MAX_RESOLUTION, "step": 1}),
        }}

    RETURN_TYPES = ("IMAGE", "MASK")
    FUNCTION = "expand_image"
    CATEGORY = "image"
    DESCRIPTION = ("Adds a grey border for outpainting and returns a mask of the new area, feathered into the "
                   "image.")

    def expand_image(self, image, left, top, right, bottom, feathering):
        """Pad with grey (0.5); the mask is 1 on the new border and fades into the image.

        Inside the original image the mask is ((feathering - d) / feathering)^2
        within ``feathering`` pixels of a padded side (d = distance to it), else 0.
        """
        import torch

        batch, height, width, channels = image.shape
        padded = torch.full(
            (batch, height + top + bottom, width + left + right, channels), 0.5, dtype=image.dtype
        )
        padded[:, top:top + height, left:left + width, :] = image
        mask = torch.ones((height + top + bottom, width + left + right), dtype=torch.float32)
        inner = torch.zeros((height, width), dtype=torch.float32)
        if feathering > 0 and feathering * 2 < height and feathering * 2 < width:
            rows = torch.arange(height, dtype=torch.float32)[:, None].expand(height, width)
            cols = torch.arange(width, dtype=torch.float32)[None, :].expand(height, width)
            far_h = torch.full_like(rows, float(height))
            far_w = torch.full_like(cols, float(width))
            distance = torch.stack([
                rows if top else far_h,
                height - rows if bottom else far_h,
                cols if left else far_w,
                width - cols if right else far_w,
            ]).amin(dim=0)
            fade = (feathering - distance) / feathering
            inner = torch.where(distance < feathering, fade * fade, inner)
        mask[top:top + height, left:left + width] = inner
        return (padded, mask[None])


@tooltips({
    "width": "Image width in pixels.",
    "height": "Image height in pixels.",
    "batch_size": "Number of images in the batch.",
    "color": "Fill colour as a 24-bit RGB number (0xRRGGBB): 0 is black, 16777215 (0xFFFFFF) is white."})
class EmptyImage:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "width": ("INT", {"default": 512, "min": 1, "max": MAX_RESOLUTION, "step": 1}),
            "height": ("INT", {"default": 512, "min": 1, "max": MAX_RESOLUTION, "step": 1}),
            "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096}),
            "color": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFF, "step": 1, "display": "color"}),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "generate"
    CATEGORY = "image"
    DESCRIPTION = "A batch of images filled with one colour."

    def generate(self, width, height, batch_size=1, color=0):
        """A batch filled with one colour given as 0xRRGGBB."""
        import torch

        rgb = [((color >> shift) & 0xFF) / 0xFF for shift in (16, 8, 0)]
        return (torch.tensor(rgb, dtype=torch.float32).expand(batch_size, height, width, 3).clone(),)


NODE_CLASS_MAPPINGS = {
    "LoadImage": LoadImage,
    "LoadImageMask": LoadImageMask,
    "SaveImage": SaveImage,
    "PreviewImage": PreviewImage,
    "ImageScale": ImageScale,
    "ImageScaleBy": ImageScaleBy,
    "ImageInvert": ImageInvert,
    "ImageBatch": ImageBatch,
    "ImagePadForOutpaint": ImagePadForOutpaint,
    "EmptyImage": EmptyImage,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "LoadImage": "Load Image",
    "LoadImageMask": "Load Image (as Mask)",
    "SaveImage": "Save Image",
    "PreviewImage": "Preview Image",
    "ImageScale": "Upscale Image",
    "ImageScaleBy": "Upscale Image By",
    "ImageInvert": "Invert Image",
    "ImageBatch": "Batch Images",
    "ImagePadForOutpaint": "Pad Image for Outpainting",
    "EmptyImage": "EmptyImage",
}
