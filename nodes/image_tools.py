"""Image utility nodes: size, crop, pick from a batch, batch many, stitch side by side,
and a before/after compare view. Schemas follow ComfyUI's."""
from __future__ import annotations

from nodes._checks import (MAX_RESOLUTION, check_choice, check_image, check_int, pad_channels,
                           repeat_to_batch)
from nodes._tooltips import tooltips

STITCH_DIRECTIONS = ["right", "down", "left", "up"]
SPACING_COLORS = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0), "red": (1.0, 0.0, 0.0),
                  "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0)}
BATCH_SLOTS = 50


@tooltips({
    "image": "The image to measure."})
class GetImageSize:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",)}}

    RETURN_TYPES = ("INT", "INT", "INT")
    RETURN_NAMES = ("width", "height", "batch_size")
    FUNCTION = "execute"
    CATEGORY = "image"
    DESCRIPTION = "The width, height and batch size of an image."

    def execute(self, image):
        check_image(image)
        return (int(image.shape[2]), int(image.shape[1]), int(image.shape[0]))


@tooltips({
    "image": "The images to crop.",
    "width": "Width of the cut-out in pixels.",
    "height": "Height of the cut-out in pixels.",
    "x": "Left edge of the cut-out.",
    "y": "Top edge of the cut-out."})
class ImageCrop:
    @classmethod
    def INPUT_TYPES(cls):
        size = {"default": 512, "min": 1, "max": MAX_RESOLUTION, "step": 1}
        place = {"default": 0, "min": 0, "max": MAX_RESOLUTION, "step": 1}
        return {"required": {"image": ("IMAGE",), "width": ("INT", size), "height": ("INT", size),
                             "x": ("INT", place), "y": ("INT", place)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "crop"
    CATEGORY = "image/transform"
    DESCRIPTION = ("Cuts a width x height rectangle whose top-left corner is (x, y); a corner outside "
                   "the image moves to its last row/column, and the rectangle stops at the edge.")

    def crop(self, image, width, height, x, y):
        check_image(image)
        width, height = check_int("width", width, 1), check_int("height", height, 1)
        x = min(check_int("x", x, 0), image.shape[2] - 1)
        y = min(check_int("y", y, 0), image.shape[1] - 1)
        return (image[:, y:y + height, x:x + width, :].clone(),)


@tooltips({
    "image": "The batch to take images from.",
    "batch_index": "Index of the first image (0 = first).",
    "length": "How many images to take."})
class ImageFromBatch:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",),
                             "batch_index": ("INT", {"default": 0, "min": 0, "max": 4095}),
                             "length": ("INT", {"default": 1, "min": 1, "max": 4096})}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "frombatch"
    CATEGORY = "image/batch"
    DESCRIPTION = "`length` images starting at `batch_index` (both clamped to the batch)."

    def frombatch(self, image, batch_index, length):
        check_image(image)
        start = min(check_int("batch_index", batch_index, 0), image.shape[0] - 1)
        length = min(check_int("length", length, 1), image.shape[0] - start)
        return (image[start:start + length].clone(),)


@tooltips({
    "images.image*": "An image (or batch) to add; the first sets the size."})
class BatchImagesNode:
    @classmethod
    def INPUT_TYPES(cls):
        slots = {f"images.image{i}": ("IMAGE", {}) for i in range(BATCH_SLOTS)}
        required = dict(list(slots.items())[:2])
        optional = dict(list(slots.items())[2:])
        return {"required": required, "optional": optional}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "execute"
    CATEGORY = "image/batch"
    DESCRIPTION = ("Joins the connected images into one batch, in input order; each is resized "
                   "(bilinear, centre crop) to the first one's size.")

    def execute(self, **images):
        import torch

        from engine.images import resize_image

        parts = []
        for index in range(BATCH_SLOTS):
            name = f"images.image{index}"
            if images.get(name) is None:
                continue
            check_image(images[name], name)
            parts.append(images[name])
        if not parts:
            raise ValueError("images.image0: no images connected")
        height, width = parts[0].shape[1:3]
        channels = max(part.shape[-1] for part in parts)
        resized = []
        for part in parts:
            if part.shape[1:3] != (height, width):
                part = resize_image(part, width, height, "bilinear", "center")
            resized.append(pad_channels(part, channels))
        return (torch.cat(resized, dim=0),)


@tooltips({
    "image1": "The reference image.",
    "image2": "The image placed next to image1; without it image1 passes through.",
    "spacing_width": "Gap between the images in pixels.",
    "spacing_color": "Colour of the gap."})
class ImageStitch:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image1": ("IMAGE",),
            "direction": (STITCH_DIRECTIONS, {"default": "right",
                                              "tooltip": "Where image2 goes relative to image1."}),
            "match_image_size": ("BOOLEAN", {"default": True, "tooltip":
                                 "Resize image2 (keeping its aspect ratio) to image1's height for "
                                 "left/right or width for up/down; otherwise pad the smaller one."}),
            "spacing_width": ("INT", {"default": 0, "min": 0, "max": 1024, "step": 2}),
            "spacing_color": (list(SPACING_COLORS), {"default": "white"}),
        }, "optional": {"image2": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "stitch"
    CATEGORY = "image/transform"
    DESCRIPTION = "Places image2 next to image1 (right, down, left or up), with optional spacing."

    def stitch(self, image1, direction, match_image_size, spacing_width, spacing_color, image2=None):
        import torch

        from engine.images import resize_image

        check_image(image1, "image1")
        check_choice("direction", direction, STITCH_DIRECTIONS)
        check_int("spacing_width", spacing_width, 0, 1024)
        check_choice("spacing_color", spacing_color, SPACING_COLORS)
        if image2 is None:
            return (image1,)
        check_image(image2, "image2")
        batch = max(image1.shape[0], image2.shape[0])
        image1, image2 = repeat_to_batch(image1, batch), repeat_to_batch(image2, batch)
        channels = max(image1.shape[-1], image2.shape[-1])
        image1, image2 = pad_channels(image1, channels), pad_channels(image2, channels)
        side_by_side = direction in ("left", "right")
        axis = 2 if side_by_side else 1       # the axis the images are joined along
        other = 1 if side_by_side else 2      # the axis they must agree on
        if match_image_size:
            target = image1.shape[other]
            scale = target / image2.shape[other]
            length = max(1, round(image2.shape[axis] * scale))
            width, height = (length, target) if side_by_side else (target, length)
            image2 = resize_image(image2, width, height, "lanczos")
        else:
            size = max(image1.shape[other], image2.shape[other])
            image1, image2 = _pad_to(image1, other, size), _pad_to(image2, other, size)
        parts = [image1, image2] if direction in ("right", "down") else [image2, image1]
        if spacing_width:
            shape = list(image1.shape)
            shape[axis] = spacing_width
            colour = torch.tensor(SPACING_COLORS[spacing_color] + (1.0,) * (channels - 3))[:channels]
            parts.insert(1, colour.expand(*shape).to(image1.dtype))
        return (torch.cat(parts, dim=axis),)


def _pad_to(image, axis, size):
    """Pad with black, centred, so image.shape[axis] == size."""
    import torch.nn.functional as F

    missing = size - image.shape[axis]
    if missing <= 0:
        return image
    before, after = missing // 2, missing - missing // 2
    pad = (0, 0, before, after) if axis == 2 else (0, 0, 0, 0, before, after)
    return F.pad(image, pad)


@tooltips({
    "compare_view": "The compare slider shown in the editor (no value)."})
class ImageCompare:
    """Writes both images to the temp folder; the editor shows them as a before/after slider."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {},
                "optional": {"image_a": ("IMAGE", {"tooltip": "The 'before' image."}),
                             "image_b": ("IMAGE", {"tooltip": "The 'after' image."}),
                             "compare_view": ("IMAGECOMPARE", {"socketless": True})}}

    RETURN_TYPES = ()
    FUNCTION = "compare"
    OUTPUT_NODE = True
    CATEGORY = "image"
    DESCRIPTION = "Shows two images on top of each other with a slider to compare them."

    def compare(self, image_a=None, image_b=None, compare_view=None):
        from nodes.image import PreviewImage

        ui = {"a_images": [], "b_images": []}
        for key, name, image in (("a_images", "image_a", image_a), ("b_images", "image_b", image_b)):
            if image is not None:
                check_image(image, name)
                ui[key] = PreviewImage().save_images(image, "ComfyUI_compare")["ui"]["images"]
        return {"ui": ui}


NODE_CLASS_MAPPINGS = {cls.__name__: cls for cls in (
    GetImageSize, ImageCrop, ImageFromBatch, BatchImagesNode, ImageStitch, ImageCompare)}
NODE_DISPLAY_NAME_MAPPINGS = {
    "GetImageSize": "Get Image Size", "ImageCrop": "Image Crop", "ImageFromBatch": "Image From Batch",
    "BatchImagesNode": "Batch Images (many)", "ImageStitch": "Image Stitch", "ImageCompare": "Image Compare",
}
