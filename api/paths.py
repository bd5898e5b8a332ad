"""Safe file names and paths for /view, /upload and /userdata.

Every path a request names is checked part by part (no '..', no absolute
paths, no backslashes, no NUL or control characters) and then resolved, so a
symlink that points outside its folder is refused as well.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from aiohttp import web

from api.errors import BadRequest, json_error

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME_BYTES = 255     # the longest file name most file systems take
MAX_PATH_PARTS = 32


class PathRefused(Exception):
    """A request named a path outside its folder or an unusable name."""


def check_part(value: str, what: str) -> list[str]:
    """Split a relative path given by a request into safe parts ('' gives [])."""
    if not isinstance(value, str):
        raise PathRefused(f"{what}: expected a string")
    if value == "":
        return []
    if "\\" in value:
        raise PathRefused(f"{what}: backslashes are not allowed")
    if CONTROL_CHARS.search(value):
        raise PathRefused(f"{what}: control characters are not allowed")
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        raise PathRefused(f"{what}: absolute paths are not allowed")
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise PathRefused(f"{what}: '..' is not allowed")
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for p in parts):
        raise PathRefused(f"{what}: a name is longer than {MAX_NAME_BYTES} bytes")
    if len(parts) > MAX_PATH_PARTS:
        raise PathRefused(f"{what}: more than {MAX_PATH_PARTS} folders deep")
    return parts


def resolve_inside(root: Path, *relative: tuple[str, str]) -> Path:
    """Join (value, what) pairs under root; refuse anything that ends up outside it."""
    parts: list[str] = []
    for value, what in relative:
        parts.extend(check_part(value, what))
    root = Path(root).resolve()
    target = root.joinpath(*parts)
    resolved = target.resolve()
    if resolved != root and root not in resolved.parents:
        raise PathRefused(f"{relative[-1][1] if relative else 'path'}: points outside its folder")
    return target


def sanitize_filename(name: str) -> str:
    """An uploaded file's name reduced to a safe basename."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = CONTROL_CHARS.sub("", name).strip()
    if name in ("", ".", ".."):
        raise PathRefused("image: the file needs a name")
    stem, ext = os.path.splitext(name)
    while len((stem + ext).encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES - 8 and stem:
        stem = stem[:-1]   # keep the extension; leave room for a " (n)" suffix
    return stem + ext


def numbered_name(name: str, index: int) -> str:
    """'cat.png', 2 -> 'cat (2).png'."""
    stem, ext = os.path.splitext(name)
    return f"{stem} ({index}){ext}"


def refused(error: PathRefused) -> web.Response:
    return json_error(400, str(error))


def file_response(root: Path, relative: str) -> web.StreamResponse:
    """A file under root, named by a request: 400 for a path that leaves root, 404 when absent."""
    try:
        path = resolve_inside(root, (relative, "path"))
    except PathRefused as error:
        raise BadRequest(str(error)) from None
    if not path.is_file():
        raise web.HTTPNotFound(text=f"{relative} not found")
    return web.FileResponse(path, headers={"X-Content-Type-Options": "nosniff"})
