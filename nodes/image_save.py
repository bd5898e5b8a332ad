"""SaveImageAdvanced: SaveImage with a choice of format (PNG, JPEG, WebP), quality, and
whether the prompt and workflow are embedded. Files are written atomically.

PNG keeps the metadata as text chunks (as SaveImage does); JPEG and WebP keep it in
EXIF as ComfyUI's WebP saving does: tag 0x0110 "prompt:<json>", 0x010F "<key>:<json>".
"""
from __future__ import annotations

from pathlib import Path

from nodes._checks import check_choice, check_image, check_int

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
EXIF_MODEL, EXIF_MAKE = 0x0110, 0x010F


class SaveImageAdvanced:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The images to save."}),
                "filename_prefix": ("STRING", {"default": "ComfyUI", "tooltip":
                                    "The prefix for the file to save; may include %date:yyyy-MM-dd% "
                                    "or %Node.widget% and name subfolders."}),
                "format": (list(FORMATS), {"default": "png", "tooltip": "The file format."}),
                "quality": ("INT", {"default": 95, "min": 1, "max": 100, "step": 1, "tooltip":
                            "JPEG/WebP quality (100 = lossless WebP); for PNG, higher compresses less."}),
                "embed_metadata": ("BOOLEAN", {"default": True, "tooltip":
                                   "Embed the prompt and workflow so the file can be loaded as a workflow."}),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image"
    DESCRIPTION = "Saves the images to the output folder as PNG, JPEG or WebP, with or without the workflow."

    def save_images(self, images, filename_prefix="ComfyUI", format="png", quality=95, embed_metadata=True,
                    prompt=None, extra_pnginfo=None):
        from engine import folders
        from engine.images import save_location

        check_image(images, "images")
        check_choice("format", format, FORMATS)
        quality = check_int("quality", quality, 1, 100)
        if not isinstance(embed_metadata, bool):
            raise ValueError(f"embed_metadata: expected true or false, got {embed_metadata!r}")
        folder, filename, counter, subfolder = save_location(
            filename_prefix, folders.get().output_dir, width=images.shape[2], height=images.shape[1],
            prompt=prompt)
        from engine.save_options import metadata_texts

        metadata = metadata_texts(prompt, extra_pnginfo) if embed_metadata else {}
        extension = "jpg" if format == "jpeg" else format
        results = []
        for batch_number, image in enumerate(images):
            name = f"{filename.replace('%batch_num%', str(batch_number))}_{counter:05}_.{extension}"
            _write(image, folder / name, format, quality, metadata)
            results.append({"filename": name, "subfolder": subfolder, "type": "output"})
            counter += 1
        return {"ui": {"images": results}}


def _write(image, path: Path, format: str, quality: int, metadata: dict) -> None:
    from PIL import Image, PngImagePlugin

    from engine.atomic import atomic_path
    from engine.images import image_to_pil

    pil = image_to_pil(image)
    options = {}
    if format == "png":
        options["compress_level"] = max(0, min(9, round((100 - quality) * 9 / 99)))
        if metadata:
            info = PngImagePlugin.PngInfo()
            for key, value in metadata.items():
                info.add_text(key, value)
            options["pnginfo"] = info
    else:
        if format == "jpeg" and pil.mode not in ("RGB", "L"):
            pil = pil.convert("RGB")
        options["quality"] = quality
        if format == "webp":
            options["lossless"] = quality == 100
        if metadata:
            exif = Image.Exif()
            others = [(k, v) for k, v in metadata.items() if k != "prompt"]
            if "prompt" in metadata:
                exif[EXIF_MODEL] = "prompt:" + metadata["prompt"]
            for offset, (key, value) in enumerate(others):
                exif[EXIF_MAKE - offset] = f"{key}:{value}"
            options["exif"] = exif.tobytes()
    with atomic_path(path) as temporary:
        pil.save(temporary, format=FORMATS[format], **options)


NODE_CLASS_MAPPINGS = {"SaveImageAdvanced": SaveImageAdvanced}
NODE_DISPLAY_NAME_MAPPINGS = {"SaveImageAdvanced": "Save Image (Advanced)"}
