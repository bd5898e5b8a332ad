"""Animated WebP, PNG (APNG) and GIF files from an IMAGE batch, one frame per image, with Pillow.

The prompt and workflow go where readers look for them:
- WebP: EXIF, as ComfyUI writes it: tag 0x0110 (Model) = "prompt:<json>", tag 0x010F (Make)
  = "workflow:<json>" and any other extra key on the tags below it.
- APNG: tEXt chunks "prompt" and "workflow", as in still PNGs (ComfyUI itself writes private
  "comf" chunks after the image data; Loom reads both).
- GIF: one comment extension holding a JSON object {"prompt": "<json>", "workflow": "<json>"}.
Files are written atomically (engine.atomic).
"""
from __future__ import annotations

import json
from pathlib import Path

from engine.atomic import atomic_path

EXIF_MODEL, EXIF_MAKE = 0x0110, 0x010F
WEBP_METHODS = {"default": 4, "fastest": 0, "slowest": 6}


def frame_duration_ms(fps: float) -> int:
    """Milliseconds per frame, as ComfyUI computes it (whole milliseconds, rounded down)."""
    return int(1000.0 / fps)


def pil_frames(images) -> list:
    from engine.images import image_to_pil

    return [image_to_pil(image) for image in images]


def webp_exif(metadata: dict[str, str]) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    if "prompt" in metadata:
        exif[EXIF_MODEL] = "prompt:" + metadata["prompt"]
    others = [(key, value) for key, value in metadata.items() if key != "prompt"]
    for offset, (key, value) in enumerate(others):
        exif[EXIF_MAKE - offset] = f"{key}:{value}"
    return exif.tobytes()


def save_webp(images, path: Path, fps: float, lossless: bool, quality: int, method: str,
              metadata: dict[str, str]) -> None:
    frames = pil_frames(images)
    options = dict(save_all=True, append_images=frames[1:], duration=frame_duration_ms(fps), loop=0,
                   lossless=lossless, quality=quality, method=WEBP_METHODS[method])
    if metadata:
        options["exif"] = webp_exif(metadata)
    with atomic_path(path) as temporary:
        frames[0].save(temporary, format="WEBP", **options)


def save_apng(images, path: Path, fps: float, compress_level: int, metadata: dict[str, str]) -> None:
    from PIL import PngImagePlugin

    frames = pil_frames(images)
    info = None
    if metadata:
        info = PngImagePlugin.PngInfo()
        for key, value in metadata.items():
            info.add_text(key, value)
    with atomic_path(path) as temporary:
        frames[0].save(temporary, format="PNG", save_all=True, append_images=frames[1:],
                       duration=frame_duration_ms(fps), loop=0, compress_level=compress_level, pnginfo=info)


def save_gif(images, path: Path, fps: float, loop: int, metadata: dict[str, str]) -> None:
    frames = pil_frames(images)
    options = dict(save_all=True, append_images=frames[1:], duration=frame_duration_ms(fps), loop=loop,
                   optimize=False)
    if metadata:
        options["comment"] = json.dumps(metadata).encode("utf-8")
    with atomic_path(path) as temporary:
        frames[0].save(temporary, format="GIF", **options)
