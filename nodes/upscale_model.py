"""Upscale-model nodes with ComfyUI's names and schemas: UpscaleModelLoader and
ImageUpscaleWithModel. UPSCALE_MODEL is engine.upscale.model.UpscaleModel
(docs/UPSCALE.md). torch-free at import: engine modules load inside the functions.
"""
from __future__ import annotations

from nodes._common import check_image, model_names, model_path, progress_reporter
from nodes._tooltips import tooltips


@tooltips({
    "model_name": "The upscale model in models/upscale_models: ESRGAN, Real-ESRGAN and other RRDB "
                  "models (.safetensors; .pth only with --allow-pickle)."})
class UpscaleModelLoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model_name": (model_names("upscale_models"),)}}

    RETURN_TYPES = ("UPSCALE_MODEL",)
    FUNCTION = "load_model"
    CATEGORY = "loaders"
    DESCRIPTION = "Loads an ESRGAN-family upscale model (x1, x2 or x4; sizes read from the file)."

    def load_model(self, model_name):
        from engine.errors import ModelError
        from engine.upscale.load import load_upscale_model

        path = model_path("upscale_models", model_name, "model_name", "model")
        try:
            return (load_upscale_model(path),)
        except ModelError as error:
            raise ModelError(f"model_name: {error}") from error


@tooltips({
    "upscale_model": "The model from Load Upscale Model; it sets the factor (x1, x2 or x4).",
    "image": "The images to enlarge; alpha is dropped."})
class ImageUpscaleWithModel:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"upscale_model": ("UPSCALE_MODEL",), "image": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "upscale"
    CATEGORY = "image/upscaling"
    DESCRIPTION = ("Enlarges images with an upscale model, in 512 px tiles with 32 px overlap (smaller tiles "
                   "when memory is short).")

    def upscale(self, upscale_model, image):
        from engine.upscale.model import UpscaleModel
        from engine.upscale.run import upscale_image

        if not isinstance(upscale_model, UpscaleModel):
            raise ValueError(f"upscale_model: expected an UPSCALE_MODEL, got {type(upscale_model).__name__}")
        check_image(image)
        return (upscale_image(upscale_model, image, progress=progress_reporter()),)


NODE_CLASS_MAPPINGS = {"UpscaleModelLoader": UpscaleModelLoader, "ImageUpscaleWithModel": ImageUpscaleWithModel}
NODE_DISPLAY_NAME_MAPPINGS = {"UpscaleModelLoader": "Load Upscale Model",
                              "ImageUpscaleWithModel": "Upscale Image (using Model)"}
