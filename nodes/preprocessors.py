"""Image preprocessors for ControlNet and friends: Canny edges (ComfyUI's schema).

OpenCV does the work (engine.canny); the thresholds are in 0..1 as in ComfyUI,
where they apply to the gradient of a 0..1 picture (see engine/canny.py).
"""
from __future__ import annotations

from nodes._common import check_image, progress_reporter
from nodes._tooltips import tooltips

THRESHOLD = {"min": 0.01, "max": 0.99, "step": 0.01}


@tooltips({
    "image": "The images to find edges in.",
    "low_threshold": "Weaker edge strength (0..1) kept only where it connects to a strong edge; lower keeps "
                     "more faint detail.",
    "high_threshold": "Edge strength (0..1) above which an edge is always kept; lower finds more edges, "
                      "higher only the clearest ones."})
class Canny:
    DESCRIPTION = "Canny edge map of each image (white edges on black), for canny ControlNets."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE",),
            "low_threshold": ("FLOAT", dict(THRESHOLD, default=0.4)),
            "high_threshold": ("FLOAT", dict(THRESHOLD, default=0.8)),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "detect_edge"
    CATEGORY = "image/preprocessors"

    def detect_edge(self, image, low_threshold, high_threshold):
        from engine.canny import canny_images

        check_image(image, "image")
        for name, value in (("low_threshold", low_threshold), ("high_threshold", high_threshold)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name}: expected a value between 0.01 and 0.99, got {value}")
        if low_threshold > high_threshold:
            raise ValueError(f"low_threshold: {low_threshold} is above high_threshold {high_threshold}")
        return (canny_images(image, float(low_threshold), float(high_threshold), progress_reporter()),)


NODE_CLASS_MAPPINGS = {"Canny": Canny}
NODE_DISPLAY_NAME_MAPPINGS = {"Canny": "Canny"}
