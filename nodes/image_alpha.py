"""JoinImageWithAlpha and SplitImageWithAlpha: move a mask into or out of an image's
alpha channel. ComfyUI masks mark transparency, so alpha = 1 - mask."""
from __future__ import annotations

from nodes._checks import check_image, check_mask, repeat_to_batch
from nodes._tooltips import tooltips


@tooltips({
    "image": "The colour image.",
    "alpha": "The mask; its inverse becomes the alpha channel."})
class JoinImageWithAlpha:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",), "alpha": ("MASK",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "join_image_with_alpha"
    CATEGORY = "mask/compositing"
    DESCRIPTION = ("Adds an alpha channel: alpha = 1 - mask (ComfyUI masks mark transparency); "
                   "the mask is resized to the image.")

    def join_image_with_alpha(self, image, alpha):
        import torch

        from engine.images import resize_image

        check_image(image)
        alpha = check_mask(alpha, "alpha")
        if alpha.shape[0] not in (1, image.shape[0]) and image.shape[0] != 1:
            raise ValueError(f"alpha: batch of {alpha.shape[0]} does not match the image's {image.shape[0]}")
        batch = max(image.shape[0], alpha.shape[0])
        image, alpha = repeat_to_batch(image, batch), repeat_to_batch(alpha, batch)
        if alpha.shape[1:] != image.shape[1:3]:
            alpha = resize_image(alpha[..., None], image.shape[2], image.shape[1], "bilinear")[..., 0]
        return (torch.cat((image[..., :3], (1.0 - alpha)[..., None]), dim=-1),)


@tooltips({
    "image": "An image with or without alpha."})
class SplitImageWithAlpha:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE", "MASK")
    FUNCTION = "split_image_with_alpha"
    CATEGORY = "mask/compositing"
    DESCRIPTION = "The colour channels, and the mask 1 - alpha (zeros when the image has no alpha)."

    def split_image_with_alpha(self, image):
        import torch

        check_image(image)
        if image.shape[-1] == 4:
            return (image[..., :3].clone(), 1.0 - image[..., 3])
        return (image[..., :3].clone(), torch.zeros(image.shape[:3], dtype=torch.float32))


NODE_CLASS_MAPPINGS = {"JoinImageWithAlpha": JoinImageWithAlpha, "SplitImageWithAlpha": SplitImageWithAlpha}
NODE_DISPLAY_NAME_MAPPINGS = {"JoinImageWithAlpha": "Join Image with Alpha",
                              "SplitImageWithAlpha": "Split Image with Alpha"}
