"""Image helpers for the nodes: PIL <-> IMAGE tensors, resizing, PNG writing.

IMAGE tensors are float32 ``[B,H,W,C]`` in 0..1; MASK tensors ``[B,H,W]``.
Resizing follows ComfyUI's upscale methods (``nearest-exact``, ``bilinear``,
``area``, ``bicubic``, ``lanczos`` for images, plus ``bislerp`` for latents)
and its crop modes (``disabled``, ``center``: crop to the new aspect ratio
first, then resize). The resize functions work on channel-first tensors
``[B,C,H,W]`` so the same code serves images and latents.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, ImageSequence, PngImagePlugin

from engine.atomic import atomic_path

IMAGE_UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
LATENT_UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]
CROP_METHODS = ["disabled", "center"]


# ---------------------------------------------------------------- PIL <-> tensor


def pil_to_image(pil: Image.Image) -> torch.Tensor:
    """A PIL image as an IMAGE tensor [1,H,W,3] in 0..1."""
    if pil.mode == "I":  # 16-bit greyscale PNGs open as 32-bit ints
        pil = pil.point(lambda value: value * (1 / 255))
    array = np.asarray(pil.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy())[None]


def alpha_mask(pil: Image.Image) -> torch.Tensor | None:
    """ComfyUI's mask from transparency: 1 - alpha, [H,W]; None without alpha."""
    if "A" in pil.getbands():
        alpha = pil.getchannel("A")
    elif pil.mode == "P" and "transparency" in pil.info:
        alpha = pil.convert("RGBA").getchannel("A")
    else:
        return None
    array = np.asarray(alpha, dtype=np.float32) / 255.0
    return 1.0 - torch.from_numpy(array.copy())


def channel_mask(pil: Image.Image, channel: str) -> torch.Tensor:
    """One channel ("alpha", "red", "green", "blue") as a mask [H,W].

    Alpha is inverted (transparent = 1) like LoadImage's mask; colour channels
    are used as they are. An image without alpha has an all-zero alpha mask.
    """
    band = channel[0].upper()
    if pil.getbands() != ("R", "G", "B", "A"):
        if pil.mode == "I":
            pil = pil.point(lambda value: value * (1 / 255))
        had_alpha = "A" in pil.getbands() or (pil.mode == "P" and "transparency" in pil.info)
        pil = pil.convert("RGBA")
        if band == "A" and not had_alpha:
            return torch.zeros((pil.height, pil.width), dtype=torch.float32)
    array = np.asarray(pil.getchannel(band), dtype=np.float32) / 255.0
    mask = torch.from_numpy(array.copy())
    return 1.0 - mask if band == "A" else mask


def image_to_pil(image: torch.Tensor) -> Image.Image:
    """One IMAGE [H,W,C] (C = 1, 3 or 4) as an 8-bit PIL image."""
    array = (image.detach().float().cpu().clamp(0, 1).numpy() * 255.0).round().astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return Image.fromarray(array)


def open_image(path: Path | str, input_name: str = "image") -> Image.Image:
    """Open an image file, with a clear error when it is not one."""
    try:
        pil = Image.open(path)
        pil.load()
    except FileNotFoundError:
        raise ValueError(f"{input_name}: file '{Path(path).name}' not found") from None
    except (OSError, Image.DecompressionBombError, SyntaxError, ValueError) as exc:
        raise ValueError(
            f"{input_name}: '{Path(path).name}' is not a readable image ({exc})"
        ) from None
    return pil


def load_image_frames(path: Path | str, input_name: str = "image"):
    """All frames of an image file -> (IMAGE [N,H,W,3], MASK [N,H,W]).

    Each frame is EXIF-transposed. Frames whose size differs from the first
    are skipped (a batch has one size); MPO files (camera stereo pairs) give
    only their first frame. Frames without transparency get an all-zero mask
    of the image's size.
    """
    pil = open_image(path, input_name)
    images, masks = [], []
    size = None
    try:
        for frame in ImageSequence.Iterator(pil):
            frame = ImageOps.exif_transpose(frame)
            if size is None:
                size = frame.size
            if frame.size != size:
                continue
            image = pil_to_image(frame)
            mask = alpha_mask(frame)
            if mask is None:
                mask = torch.zeros(image.shape[1:3], dtype=torch.float32)
            images.append(image)
            masks.append(mask[None])
            if pil.format == "MPO":
                break
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{input_name}: '{Path(path).name}' is not a readable image ({exc})") from None
    return torch.cat(images, dim=0), torch.cat(masks, dim=0)


# ---------------------------------------------------------------- resizing


def center_crop_to_aspect(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Crop [..., H, W] evenly on both sides to the aspect ratio width:height."""
    old_h, old_w = samples.shape[-2], samples.shape[-1]
    old_aspect = old_w / old_h
    new_aspect = width / height
    x = y = 0
    if old_aspect > new_aspect:
        x = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
    elif old_aspect < new_aspect:
        y = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
    return samples[..., y:old_h - y, x:old_w - x]


def resize(samples: torch.Tensor, width: int, height: int, method: str, crop: str = "disabled") -> torch.Tensor:
    """Resize channel-first samples [B,C,H,W] to (height, width)."""
    if method not in IMAGE_UPSCALE_METHODS and method not in LATENT_UPSCALE_METHODS:
        raise ValueError(f"upscale_method: unknown method {method!r}")
    if crop not in CROP_METHODS:
        raise ValueError(f"crop: expected one of {CROP_METHODS}, got {crop!r}")
    width, height = max(1, int(width)), max(1, int(height))
    if crop == "center":
        samples = center_crop_to_aspect(samples, width, height)
    if method == "lanczos":
        return _lanczos(samples, width, height)
    if method == "bislerp":
        return bislerp(samples, width, height)
    return F.interpolate(samples.float(), size=(height, width), mode=method)


def resize_image(image: torch.Tensor, width: int, height: int, method: str, crop: str = "disabled") -> torch.Tensor:
    """Resize an IMAGE [B,H,W,C] (channel-last) to (height, width)."""
    return resize(image.movedim(-1, 1), width, height, method, crop).movedim(1, -1).contiguous()


def _lanczos(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Lanczos through PIL, one image at a time (8-bit, like ComfyUI)."""
    resized = []
    for sample in samples:
        pil = image_to_pil(sample.movedim(0, -1))
        pil = pil.resize((width, height), resample=Image.Resampling.LANCZOS)
        array = np.asarray(pil, dtype=np.float32) / 255.0
        if array.ndim == 2:
            array = array[..., None]
        resized.append(torch.from_numpy(array.copy()).movedim(-1, 0))
    return torch.stack(resized).to(samples.dtype)


def _slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of channel vectors (dim 1), magnitudes linearly."""
    a_norm = a.norm(dim=1, keepdim=True)
    b_norm = b.norm(dim=1, keepdim=True)
    a_unit = torch.where(a_norm > 0, a / a_norm.clamp(min=1e-12), torch.zeros_like(a))
    b_unit = torch.where(b_norm > 0, b / b_norm.clamp(min=1e-12), torch.zeros_like(b))
    dot = (a_unit * b_unit).sum(dim=1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(dot)
    sin_omega = torch.sin(omega)
    safe = sin_omega.abs() > 1e-5
    sin_omega = torch.where(safe, sin_omega, torch.ones_like(sin_omega))
    direction = (torch.sin((1 - t) * omega) * a_unit + torch.sin(t * omega) * b_unit) / sin_omega
    result = direction * (a_norm * (1 - t) + b_norm * t)
    linear = a * (1 - t) + b * t
    # Nearly parallel or opposite vectors: the spherical formula is unstable; blend linearly.
    return torch.where(safe, result, linear)


def _source_positions(old: int, new: int):
    """Neighbour indices and fractions for resizing one axis (half-pixel centres)."""
    position = (torch.arange(new, dtype=torch.float32) + 0.5) * (old / new) - 0.5
    position = position.clamp(0, old - 1)
    low = position.floor().long()
    high = (low + 1).clamp(max=old - 1)
    return low, high, position - low.float()


def bislerp(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Bilinear resize that slerps between neighbouring latent vectors.

    Keeps latent vector magnitudes better than plain bilinear interpolation.
    """
    samples = samples.float()
    low, high, frac = _source_positions(samples.shape[3], width)
    samples = _slerp(samples[:, :, :, low], samples[:, :, :, high], frac.view(1, 1, 1, -1))
    low, high, frac = _source_positions(samples.shape[2], height)
    return _slerp(samples[:, :, low, :], samples[:, :, high, :], frac.view(1, 1, -1, 1))


# ---------------------------------------------------------------- PNG writing


def save_png(image: torch.Tensor, path: Path | str, text_chunks: dict[str, str] | None = None,
             compress_level: int = 4) -> None:
    """Write one IMAGE [H,W,C] as a PNG with the given tEXt chunks."""
    info = None
    if text_chunks:
        info = PngImagePlugin.PngInfo()
        for key, value in text_chunks.items():
            info.add_text(key, value)
    with atomic_path(path) as temporary:
        image_to_pil(image).save(temporary, format="PNG", pnginfo=info, compress_level=compress_level)


# ---------------------------------------------------------------- output file names

_DATE_TOKEN_PARTS = {"d": "day", "M": "month", "h": "hour", "m": "minute", "s": "second"}


def format_date(pattern: str, when) -> str:
    """Format ``when`` with the date letters ComfyUI's %date:...% tokens use.

    yyyy = year, yy = two-digit year, MM/M = month, dd/d = day, hh/h = hour
    (24 h), mm/m = minute, ss/s = second. Doubled letters pad with a zero.
    """
    import re

    def replace(match):
        text = match.group(0)
        if text == "yyyy":
            return f"{when.year:04d}"
        if text == "yy":
            return f"{when.year % 100:02d}"
        if text[0] in _DATE_TOKEN_PARTS:
            value = getattr(when, _DATE_TOKEN_PARTS[text[0]])
            return str(value).zfill(len(text))
        return text

    return re.sub(r"yyyy|yyy|yy|y|dd?|MM?|hh?|mm?|ss?", replace, pattern)


def _widget_value(prompt: dict | None, node_name: str, widget: str):
    """The widget value of the node titled (or typed) ``node_name`` in an API prompt."""
    if not isinstance(prompt, dict):
        return None
    for match_key in ("title", "class_type"):
        for node in prompt.values():
            if not isinstance(node, dict):
                continue
            name = node.get("_meta", {}).get("title") if match_key == "title" else node.get("class_type")
            if name != node_name:
                continue
            value = node.get("inputs", {}).get(widget)
            if value is not None and not isinstance(value, (list, dict)):
                return value
    return None


def expand_prefix(prefix: str, width: int, height: int, prompt: dict | None = None, now=None) -> str:
    """Replace the %...% tokens of a filename prefix.

    %date:FORMAT%, %width%, %height%, %year%, %month%, %day%, %hour%,
    %minute%, %second%, and %NodeTitle.widget% (looked up in the API prompt by
    node title, then by class type). Unknown tokens are left as they are.
    """
    import datetime
    import re

    now = now or datetime.datetime.now()
    simple = {
        "width": str(width), "height": str(height), "year": str(now.year),
        "month": f"{now.month:02d}", "day": f"{now.day:02d}", "hour": f"{now.hour:02d}",
        "minute": f"{now.minute:02d}", "second": f"{now.second:02d}",
    }

    def replace(match):
        token = match.group(1)
        if token.startswith("date:"):
            return format_date(token[5:], now)
        if token in simple:
            return simple[token]
        if token.count(".") == 1:
            value = _widget_value(prompt, *token.split("."))
            if value is not None:
                return str(value).replace("/", "_").replace("\\", "_")
        return match.group(0)

    return re.sub(r"%([^%/\\]+)%", replace, prefix)


def save_location(prefix: str, output_dir: Path | str, width: int = 0, height: int = 0,
                  prompt: dict | None = None, now=None):
    """Where to save files for ``prefix`` -> (folder, filename, counter, subfolder).

    The prefix may name subfolders ("portraits/cat"), never a place outside
    ``output_dir``. Files are named ``{filename}_{counter:05}_.{ext}``; the
    counter continues after the highest one already in the folder.
    """
    import re

    prefix = expand_prefix(prefix or "", width, height, prompt, now).replace("\\", "/")
    parts = [part for part in prefix.split("/") if part not in ("", ".")]
    if prefix.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise ValueError(
            f"filename_prefix: {prefix!r} must stay inside the output folder "
            "(no absolute paths or '..')"
        )
    if not parts:
        raise ValueError("filename_prefix: must not be empty")
    filename = parts[-1]
    subfolder = "/".join(parts[:-1])
    output_dir = Path(output_dir).resolve()
    folder = (output_dir / subfolder).resolve() if subfolder else output_dir
    if folder != output_dir and output_dir not in folder.parents:
        raise ValueError(f"filename_prefix: {prefix!r} leads outside the output folder")
    folder.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(re.escape(filename) + r"_(\d+)_?(?:\.[^.]*)?$", re.IGNORECASE)
    highest = 0
    for entry in folder.iterdir():
        found = pattern.match(entry.name)
        if found:
            highest = max(highest, int(found.group(1)))
    return folder, filename, highest + 1, subfolder
