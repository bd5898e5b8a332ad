"""EmptyLatentVideo: the starting latent for text-to-video models (docs/VIDEO.md).

ComfyUI has one empty-video node per model family (EmptyHunyuanLatentVideo,
EmptyLTXVLatentVideo, ...); this one is for 4-channel SD-style video models such as
ModelScope's text-to-video-ms: samples [batch, 4, frames, height/8, width/8].
KSampler, VAEDecode and the save nodes take it as they take image latents.
"""
from __future__ import annotations

MAX_RESOLUTION = 16384
MAX_FRAMES = 1024


class EmptyLatentVideo:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "width": ("INT", {"default": 256, "min": 16, "max": MAX_RESOLUTION, "step": 8,
                              "tooltip": "The width of the video frames in pixels (a multiple of 8)."}),
            "height": ("INT", {"default": 256, "min": 16, "max": MAX_RESOLUTION, "step": 8,
                               "tooltip": "The height of the video frames in pixels (a multiple of 8)."}),
            "length": ("INT", {"default": 16, "min": 1, "max": MAX_FRAMES,
                               "tooltip": "The number of frames in each video."}),
            "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096,
                                   "tooltip": "The number of videos in the batch."}),
        }}

    RETURN_TYPES = ("LATENT",)
    OUTPUT_TOOLTIPS = ("The empty video latent, samples [batch, 4, frames, height/8, width/8].",)
    FUNCTION = "generate"
    CATEGORY = "latent/video"
    DESCRIPTION = ("Creates an empty video latent for text-to-video models (such as text-to-video-ms): "
                   "every frame is sampled together and VAEDecode returns all frames as one image batch.")

    @classmethod
    def VALIDATE_INPUTS(cls, width, height):
        for name, value in (("width", width), ("height", height)):
            if value is not None and int(value) % 8:  # None: linked, not known before the run
                return f"{name}: {value} is not a multiple of 8 (latents are 1/8 of the frame size)"
        return True

    def generate(self, width, height, length, batch_size=1):
        import torch

        for name, value, low in (("width", width, 16), ("height", height, 16), ("length", length, 1),
                                 ("batch_size", batch_size, 1)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{name}: expected a whole number of at least {low}, got {value!r}")
        return ({"samples": torch.zeros([batch_size, 4, length, height // 8, width // 8])},)


NODE_CLASS_MAPPINGS = {"EmptyLatentVideo": EmptyLatentVideo}
NODE_DISPLAY_NAME_MAPPINGS = {"EmptyLatentVideo": "Empty Latent Video"}
