"""Read a workflow from a file: UI or API JSON, or the workflow embedded in an image or
audio file the way ComfyUI embeds it (PNG text chunks, WebP EXIF, FLAC comments), plus
the private "comf" chunks of ComfyUI's animated PNGs and the comment of Loom's GIFs.

An embedded UI workflow ("workflow") is preferred over the API prompt ("prompt"), so
that control_after_generate and titles are available and the saved images get the
UI workflow back.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path


class WorkflowFileError(Exception):
    """The file is missing, unreadable or carries no workflow."""


def read_workflow_file(path: str) -> dict:
    file = Path(path)
    if not file.is_file():
        raise WorkflowFileError(f"workflow file not found: {path}")
    data = file.read_bytes()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _pick(path, _png_text(file))
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _pick(path, _gif_comment(file))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _pick(path, _webp_exif(file))
    if data.startswith(b"fLaC"):
        return _pick(path, _flac_comments(data))
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise WorkflowFileError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise WorkflowFileError(f"{path}: a workflow must be a JSON object")
    return document


def _pick(path, metadata: dict) -> dict:
    for key in ("workflow", "prompt"):
        text = metadata.get(key)
        if not text:
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise WorkflowFileError(f"{path}: its embedded '{key}' is not valid JSON: {error}") from None
        if isinstance(document, dict):
            return document
    raise WorkflowFileError(f"{path} carries no embedded workflow (no 'workflow' or 'prompt' metadata)")


def _png_text(file: Path) -> dict:
    from PIL import Image

    with Image.open(file) as image:
        found = dict(getattr(image, "text", {}) or {})
    return {**_comf_chunks(file.read_bytes()), **found}


def _comf_chunks(data: bytes) -> dict:
    """ComfyUI's SaveAnimatedPNG writes "comf" chunks: latin-1 key, NUL, latin-1 JSON."""
    found = {}
    position = 8
    while position + 8 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        if kind == b"comf":
            key, _, value = data[position + 8:position + 8 + length].partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        if kind == b"IEND":
            break
        position += 12 + length
    return found


def _gif_comment(file: Path) -> dict:
    """Loom's SaveAnimatedGIF: the comment is a JSON object {"prompt": "<json>", "workflow": "<json>"}."""
    from PIL import Image

    with Image.open(file) as image:
        comment = image.info.get("comment", b"")
    try:
        found = json.loads(comment.decode("utf-8") if isinstance(comment, bytes) else comment)
    except (ValueError, UnicodeDecodeError):
        return {}
    return {key: value for key, value in found.items() if isinstance(value, str)} if isinstance(found, dict) else {}


def _webp_exif(file: Path) -> dict:
    """ComfyUI writes 'prompt:{json}' into EXIF tag 0x0110 and 'workflow:{json}' (and any
    other extra_pnginfo key) into 0x010F and the tags below it."""
    from PIL import Image

    found = {}
    with Image.open(file) as image:
        for value in image.getexif().values():
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if isinstance(value, str) and ":" in value:
                key, _, text = value.partition(":")
                if key in ("workflow", "prompt"):
                    found[key] = text.rstrip("\x00")
    return found


def _flac_comments(data: bytes) -> dict:
    """The Vorbis comments of a FLAC file (ComfyUI's SaveAudio writes prompt= and workflow=)."""
    found = {}
    position = 4
    while position + 4 <= len(data):
        header = data[position]
        length = int.from_bytes(data[position + 1:position + 4], "big")
        block = data[position + 4:position + 4 + length]
        if header & 0x7F == 4:
            vendor = struct.unpack_from("<I", block, 0)[0]
            offset = 4 + vendor
            count = struct.unpack_from("<I", block, offset)[0]
            offset += 4
            for _ in range(count):
                size = struct.unpack_from("<I", block, offset)[0]
                comment = block[offset + 4:offset + 4 + size].decode("utf-8", "replace")
                offset += 4 + size
                key, _, value = comment.partition("=")
                found[key.lower()] = value
        if header & 0x80:
            break
        position += 4 + length
    return found
