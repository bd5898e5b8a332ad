"""Depth: estimate a depth map from an image, and condition SD2-depth models on one.

DepthEstimation takes a model folder from models/depth (DPT / MiDaS-DPT, Depth
Anything v1/v2 in transformers format) and returns a depth IMAGE, near = bright.
Depth2ImgConditioning puts a depth IMAGE into the conditioning as the extra UNet
channel of 5-channel SD2-depth checkpoints (`concat_latent_image`).
"""
from __future__ import annotations

from nodes._common import check_image, model_folder, model_names, progress_reporter
from nodes._tooltips import tooltips


@tooltips({
    "image": "The images to estimate depth for."})
class DepthEstimation:
    DESCRIPTION = ("Estimates a depth map per image with a depth model from models/depth "
                   "(near = white, far = black), at the input's size; for depth ControlNets and SD2-depth.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",),
            "model_name": (model_names("depth"), {
                "tooltip": "A Hugging Face depth model folder in models/depth (DPT, Depth Anything)."}),
        }}

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("depth",)
    FUNCTION = "estimate"
    CATEGORY = "image/preprocessors"

    def estimate(self, image, model_name):
        from engine.depth import estimate_depth, load_depth_model

        check_image(image, "image")
        depth_model = load_depth_model(model_folder("depth", model_name, "model_name"), "model_name")
        return (estimate_depth(depth_model, image, progress_reporter()),)


@tooltips({
    "positive": "The positive conditioning the depth map is added to.",
    "negative": "The negative conditioning the depth map is added to."})
class Depth2ImgConditioning:
    DESCRIPTION = ("Adds a depth map to both conditionings for SD2-depth (5-channel) models. "
                   "Sample from the VAE-encoded image with denoise < 1 for depth-to-image.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "positive": ("CONDITIONING",),
            "negative": ("CONDITIONING",),
            "depth_map": ("IMAGE", {"tooltip": "Near = bright; any size (resized to the latent)."}),
        }}

    RETURN_TYPES = ("CONDITIONING", "CONDITIONING")
    RETURN_NAMES = ("positive", "negative")
    FUNCTION = "encode"
    CATEGORY = "conditioning"

    def encode(self, positive, negative, depth_map):
        from engine.depth import depth_concat

        check_image(depth_map, "depth_map", min_size=8)
        concat = depth_concat(depth_map, "depth_map")
        return (_with_concat(positive, concat, "positive"), _with_concat(negative, concat, "negative"))


def _with_concat(conditioning, concat, input_name):
    if not isinstance(conditioning, list):
        raise ValueError(f"{input_name}: expected CONDITIONING, a list of [tensor, dict] pairs")
    out = []
    for pair in conditioning:
        try:
            cond, extras = pair[0], dict(pair[1])
        except (TypeError, IndexError, KeyError, ValueError):
            raise ValueError(f"{input_name}: expected CONDITIONING, a list of [tensor, dict] pairs") from None
        extras["concat_latent_image"] = concat
        out.append([cond, extras])
    return out


NODE_CLASS_MAPPINGS = {
    "DepthEstimation": DepthEstimation,
    "Depth2ImgConditioning": Depth2ImgConditioning,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "DepthEstimation": "Depth Estimation",
    "Depth2ImgConditioning": "Depth2Img Conditioning (SD2-depth)",
}
