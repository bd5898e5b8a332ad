"""Image captioning: a BLIP / BLIP-2 model folder from models/captioning -> STRING.

The caption also goes into the node's ui output ({"text": [...]}) so the editor
and the history show it. A batch gives one caption per image, joined by new lines.
"""
from __future__ import annotations

from nodes._common import check_image, model_folder, model_names, progress_reporter
from nodes._tooltips import tooltips


@tooltips({
    "image": "The images to describe; a batch gives one caption per line."})
class ImageCaption:
    DESCRIPTION = ("Describes the image in words with a captioning model from models/captioning "
                   "(BLIP, BLIP-2). A prefix makes the caption continue your words.")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE",),
                "model_name": (model_names("captioning"), {
                    "tooltip": "A Hugging Face BLIP / BLIP-2 captioning folder in models/captioning."}),
            },
            "optional": {
                "prefix": ("STRING", {"default": "", "multiline": False,
                                      "tooltip": "Conditional captioning: the caption starts with these words."}),
                "max_new_tokens": ("INT", {"default": 40, "min": 1, "max": 512,
                                           "tooltip": "Longest caption, in tokens (the prefix not counted)."}),
                "num_beams": ("INT", {"default": 3, "min": 1, "max": 16,
                                      "tooltip": "Beam search width; 1 is greedy decoding."}),
            },
        }

    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("caption",)
    OUTPUT_NODE = True
    FUNCTION = "caption"
    CATEGORY = "image/analysis"

    def caption(self, image, model_name, prefix="", max_new_tokens=40, num_beams=3):
        from engine.captioning import caption_images, load_caption_model

        check_image(image, "image")
        for name, value, low, high in (("max_new_tokens", max_new_tokens, 1, 512), ("num_beams", num_beams, 1, 16)):
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
        if not isinstance(prefix, str):
            raise ValueError(f"prefix: expected text, got {type(prefix).__name__}")
        model = load_caption_model(model_folder("captioning", model_name, "model_name"), "model_name")
        captions = caption_images(model, image, prefix, max_new_tokens, num_beams, progress_reporter())
        text = "\n".join(captions)
        return {"ui": {"text": captions}, "result": (text,)}


NODE_CLASS_MAPPINGS = {"ImageCaption": ImageCaption}
NODE_DISPLAY_NAME_MAPPINGS = {"ImageCaption": "Image Caption (BLIP)"}
