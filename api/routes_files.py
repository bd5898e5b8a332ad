"""/upload/image, /upload/mask and /view, confined to the input, output and temp folders."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import mimetypes
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from api.errors import BadRequest, json_response
from api.paths import PathRefused, numbered_name, resolve_inside, sanitize_filename
from engine import atomic, folders

TYPES = ("input", "output", "temp")
# Served inline; everything else (html, svg, js, xml, ...) is sent as an attachment.
INLINE_TYPES = {"application/json", "text/plain", "image/png", "image/jpeg", "image/webp", "image/gif",
                "image/bmp", "image/avif", "image/tiff"}
PREVIEW_FORMATS = {"webp": ("WEBP", "image/webp"), "jpeg": ("JPEG", "image/jpeg"), "jpg": ("JPEG", "image/jpeg"),
                   "png": ("PNG", "image/png")}


def type_dir(kind: str | None, default: str) -> tuple[Path, str]:
    kind = kind or default
    if kind not in TYPES:
        raise BadRequest(f"type: must be one of {', '.join(TYPES)}, got {kind!r}")
    configured = folders.get()
    root = {"input": configured.input_dir, "output": configured.output_dir, "temp": configured.temp_dir}[kind]
    Path(root).mkdir(parents=True, exist_ok=True)
    return Path(root), kind


def split_annotation(filename: str) -> tuple[str, str | None]:
    """ComfyUI's 'name.png [output]' form."""
    for kind in TYPES:
        suffix = f" [{kind}]"
        if filename.endswith(suffix):
            return filename[: -len(suffix)], kind
    return filename, None


def _inside(root: Path, subfolder: str, filename: str) -> Path:
    try:
        return resolve_inside(root, (subfolder, "subfolder"), (filename, "filename"))
    except PathRefused as error:
        raise BadRequest(str(error)) from None


def store_upload(root: Path, subfolder: str, filename: str, content: bytes, overwrite: bool) -> str:
    """Write content as filename; same content gives the existing name, a clash gets ' (n)'."""
    candidate = filename
    index = 1
    while True:
        target = _inside(root, subfolder, candidate)
        if not target.exists() or (overwrite and target.is_file()):
            break
        if target.is_file() and _same_content(target, content):
            return candidate
        candidate = numbered_name(filename, index)
        index += 1
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise BadRequest(f"subfolder: {subfolder!r} names a file, not a folder") from None
    atomic.write_bytes(target, content)
    return candidate


def _same_content(path: Path, content: bytes) -> bool:
    if path.stat().st_size != len(content):
        return False
    return hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(content).digest()


async def _read_upload(request: web.Request) -> dict:
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("expected a multipart/form-data upload with an 'image' file")
    try:
        post = await request.post()
    except (ValueError, HttpProcessingError) as error:
        raise BadRequest(f"the multipart upload is malformed: {error}") from None
    upload = post.get("image")
    if upload is None or not hasattr(upload, "file"):
        raise BadRequest("image: no file in the upload")
    try:
        filename = sanitize_filename(upload.filename)
    except PathRefused as error:
        raise BadRequest(str(error)) from None
    return {
        "filename": filename,
        "content": upload.file.read(),
        "subfolder": str(post.get("subfolder", "") or ""),
        "type": str(post.get("type", "") or "input"),
        "overwrite": str(post.get("overwrite", "")).lower() in ("true", "1"),
        "original_ref": post.get("original_ref"),
    }


def masked_original(original: Path, mask_bytes: bytes) -> bytes:
    """The original image with the mask's alpha as its alpha channel, as PNG bytes.

    Pillow's decompression-bomb limit applies (its warning is an error here)."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _masked_original(original, mask_bytes)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ValueError(f"the image is too large ({error})") from None


def _masked_original(original: Path, mask_bytes: bytes) -> bytes:
    from PIL import Image, PngImagePlugin

    with Image.open(original) as source:
        metadata = PngImagePlugin.PngInfo()
        for key, value in (getattr(source, "text", None) or {}).items():
            metadata.add_text(key, value)
        image = source.convert("RGBA")
    with Image.open(io.BytesIO(mask_bytes)) as mask_image:
        alpha = mask_image.convert("RGBA").getchannel("A")
    if alpha.size != image.size:
        alpha = alpha.resize(image.size, Image.Resampling.LANCZOS)
    image.putalpha(alpha)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=metadata, compress_level=4)
    return buffer.getvalue()


def render_view(path: Path, preview: str | None, channel: str) -> tuple[bytes, str]:
    from PIL import Image

    with Image.open(path) as image:
        if image.width * image.height > (Image.MAX_IMAGE_PIXELS or 2 ** 62):
            raise ValueError(f"the image is too large to preview ({image.width}x{image.height})")
        if channel == "rgb":
            image = image.convert("RGB")
        elif channel == "a":
            rgba = image.convert("RGBA")
            image = Image.new("RGBA", rgba.size)
            image.putalpha(rgba.getchannel("A"))
        else:
            image = image.convert("RGBA") if image.mode not in ("RGB", "RGBA") else image.copy()
        image_format, content_type = "PNG", "image/png"
        options = {}
        if preview:
            name, _, quality = preview.partition(";")
            if name.lower() not in PREVIEW_FORMATS:
                raise BadRequest(f"preview: unknown format {name!r} (webp, jpeg or png)")
            image_format, content_type = PREVIEW_FORMATS[name.lower()]
            if quality:
                try:
                    options["quality"] = max(1, min(100, int(quality)))
                except ValueError:
                    raise BadRequest(f"preview: bad quality {quality!r}") from None
            if image_format == "JPEG":
                image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format=image_format, **options)
    return buffer.getvalue(), content_type


def add_routes(routes: web.RouteTableDef, server) -> None:
    @routes.post("/upload/image")
    async def upload_image(request):
        upload = await _read_upload(request)
        root, kind = type_dir(upload["type"], "input")
        name = await asyncio.to_thread(
            store_upload, root, upload["subfolder"], upload["filename"], upload["content"], upload["overwrite"]
        )
        return json_response({"name": name, "subfolder": upload["subfolder"], "type": kind})

    @routes.post("/upload/mask")
    async def upload_mask(request):
        upload = await _read_upload(request)
        try:
            original_ref = json.loads(upload["original_ref"] or "")
        except (TypeError, ValueError):
            raise BadRequest("original_ref: expected JSON {filename, subfolder, type}") from None
        if not isinstance(original_ref, dict) or not isinstance(original_ref.get("filename"), str):
            raise BadRequest("original_ref: expected JSON {filename, subfolder, type}")
        ref_name, ref_kind = split_annotation(original_ref["filename"])
        ref_root, _ = type_dir(original_ref.get("type") or ref_kind, "input")
        original = _inside(ref_root, str(original_ref.get("subfolder", "") or ""), ref_name)
        if not original.is_file():
            raise web.HTTPNotFound(text=f"original_ref: {original_ref['filename']} not found")
        try:
            content = await asyncio.to_thread(masked_original, original, upload["content"])
        except (OSError, ValueError) as error:
            raise BadRequest(f"image: could not read the images ({error})") from None
        root, kind = type_dir(upload["type"], "input")
        name = await asyncio.to_thread(
            store_upload, root, upload["subfolder"], upload["filename"], content, upload["overwrite"]
        )
        return json_response({"name": name, "subfolder": upload["subfolder"], "type": kind})

    @routes.get("/view")
    async def view(request):
        query = request.query
        if "filename" not in query or not query["filename"]:
            raise BadRequest("filename: missing")
        filename, annotated = split_annotation(query["filename"])
        root, _ = type_dir(query.get("type") or annotated, "output")
        path = _inside(root, query.get("subfolder", ""), filename)
        if not path.is_file():
            raise web.HTTPNotFound(text=f"{filename} not found")
        channel = query.get("channel", "rgba")
        if channel not in ("rgba", "rgb", "a"):
            raise BadRequest(f"channel: must be rgba, rgb or a, got {channel!r}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {"X-Content-Type-Options": "nosniff"}
        wants_image = query.get("preview") or channel != "rgba"
        if wants_image and content_type.startswith("image/") and content_type in INLINE_TYPES:
            try:
                body, image_type = await asyncio.to_thread(render_view, path, query.get("preview"), channel)
            except (OSError, ValueError) as error:
                raise BadRequest(f"filename: not a readable image ({error})") from None
            headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(path.name)}"
            return web.Response(body=body, content_type=image_type, headers=headers)
        safe_inline = content_type in INLINE_TYPES or content_type.startswith(("video/", "audio/"))
        disposition = "inline" if safe_inline else "attachment"
        headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(path.name)}"
        headers["Content-Type"] = content_type if safe_inline else "application/octet-stream"
        return web.FileResponse(path, headers=headers)
