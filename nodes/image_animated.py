"""SaveAnimatedWEBP and SaveAnimatedPNG (ComfyUI's names, inputs and defaults) and
SaveAnimatedGIF: the images of a batch become the frames of one animated file.

The prompt and workflow are embedded (engine/animation.py says where) unless Loom runs
with --disable-metadata. The UI output is ComfyUI's: {"images": [...], "animated": (bool,)}.
"""
from __future__ import annotations

from nodes._checks import check_choice, check_float, check_image, check_int
from nodes._tooltips import tooltips

WEBP_METHODS = ["default", "fastest", "slowest"]
FPS = {"default": 6.0, "min": 0.01, "max": 1000.0, "step": 0.01}

_COMMON_TIPS = {
    "images": "The frames, in order: one image of the batch per frame.",
    "filename_prefix": "The prefix for the file to save; may include %date:yyyy-MM-dd% or %Node.widget% and "
                       "name subfolders.",
    "fps": "Frames per second; each frame is shown for 1000/fps milliseconds (whole milliseconds).",
}


def _hidden():
    return {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}


class _AnimatedSave:
    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image/animation"
    extension = ""

    def _prepare(self, images, filename_prefix, fps, prompt, extra_pnginfo):
        """(path, ui entry, metadata texts) after checking the common inputs."""
        from engine import folders
        from engine.images import save_location
        from engine.save_options import metadata_texts

        check_image(images, "images")
        check_float("fps", fps, 0.01, 1000.0)
        folder, filename, counter, subfolder = save_location(
            filename_prefix, folders.get().output_dir, width=images.shape[2], height=images.shape[1],
            prompt=prompt)
        name = f"{filename}_{counter:05}_.{self.extension}"
        entry = {"filename": name, "subfolder": subfolder, "type": "output"}
        return folder / name, entry, metadata_texts(prompt, extra_pnginfo)


@tooltips({
    **_COMMON_TIPS,
    "lossless": "true: exact pixels (larger files); false: lossy compression set by quality.",
    "quality": "Lossy: image quality, higher is better and larger. Lossless: compression effort, higher is "
               "smaller and slower.",
    "method": "Encoder effort: fastest, default or slowest (smallest files)."})
class SaveAnimatedWEBP(_AnimatedSave):
    extension = "webp"
    DESCRIPTION = "Saves the images as one animated WebP file, with the workflow embedded in its EXIF."

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "filename_prefix": ("STRING", {"default": "ComfyUI"}),
                "fps": ("FLOAT", dict(FPS)),
                "lossless": ("BOOLEAN", {"default": True}),
                "quality": ("INT", {"default": 80, "min": 0, "max": 100}),
                "method": (list(WEBP_METHODS),),
            },
            "hidden": _hidden(),
        }

    def save_images(self, images, fps, filename_prefix, lossless, quality, method, num_frames=0,
                    prompt=None, extra_pnginfo=None):
        from engine.animation import save_webp

        if not isinstance(lossless, bool):
            raise ValueError(f"lossless: expected true or false, got {lossless!r}")
        quality = check_int("quality", quality, 0, 100)
        check_choice("method", method, WEBP_METHODS)
        path, entry, metadata = self._prepare(images, filename_prefix, fps, prompt, extra_pnginfo)
        save_webp(images, path, fps, lossless, quality, method, metadata)
        return {"ui": {"images": [entry], "animated": (images.shape[0] != 1,)}}


@tooltips({
    **_COMMON_TIPS,
    "compress_level": "PNG compression, 0 (none, fastest) to 9 (smallest, slowest); the pixels are exact "
                      "either way."})
class SaveAnimatedPNG(_AnimatedSave):
    extension = "png"
    DESCRIPTION = "Saves the images as one animated PNG (APNG) file, with the workflow embedded."

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "filename_prefix": ("STRING", {"default": "ComfyUI"}),
                "fps": ("FLOAT", dict(FPS)),
                "compress_level": ("INT", {"default": 4, "min": 0, "max": 9}),
            },
            "hidden": _hidden(),
        }

    def save_images(self, images, fps, compress_level, filename_prefix="ComfyUI", prompt=None,
                    extra_pnginfo=None):
        from engine.animation import save_apng

        compress_level = check_int("compress_level", compress_level, 0, 9)
        path, entry, metadata = self._prepare(images, filename_prefix, fps, prompt, extra_pnginfo)
        save_apng(images, path, fps, compress_level, metadata)
        return {"ui": {"images": [entry], "animated": (True,)}}


@tooltips({
    **_COMMON_TIPS,
    "loop": "How many times the animation repeats after the first showing; 0 repeats forever."})
class SaveAnimatedGIF(_AnimatedSave):
    extension = "gif"
    DESCRIPTION = ("Saves the images as one animated GIF (256 colours per frame), with the workflow "
                   "embedded in a GIF comment.")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "filename_prefix": ("STRING", {"default": "ComfyUI"}),
                "fps": ("FLOAT", dict(FPS)),
                "loop": ("INT", {"default": 0, "min": 0, "max": 65535}),
            },
            "hidden": _hidden(),
        }

    def save_images(self, images, fps, loop=0, filename_prefix="ComfyUI", prompt=None, extra_pnginfo=None):
        from engine.animation import save_gif

        loop = check_int("loop", loop, 0, 65535)
        path, entry, metadata = self._prepare(images, filename_prefix, fps, prompt, extra_pnginfo)
        save_gif(images, path, fps, loop, metadata)
        return {"ui": {"images": [entry], "animated": (True,)}}


NODE_CLASS_MAPPINGS = {
    "SaveAnimatedWEBP": SaveAnimatedWEBP,
    "SaveAnimatedPNG": SaveAnimatedPNG,
    "SaveAnimatedGIF": SaveAnimatedGIF,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "SaveAnimatedWEBP": "SaveAnimatedWEBP",
    "SaveAnimatedPNG": "SaveAnimatedPNG",
    "SaveAnimatedGIF": "Save Animated GIF",
}
