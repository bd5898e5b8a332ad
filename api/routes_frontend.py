"""Routes ComfyUI's web frontend asks for, answered as ComfyUI answers a single-user,
plain install: users, translations, templates, global subgraphs, user.css, model
listings with metadata, internal folder and file listings.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from aiohttp import web

from api.errors import BadRequest, json_response, read_json_object
from api.paths import PathRefused, check_part, file_response
from engine import folders

MAX_HEADER = 100 * 1024 * 1024   # a safetensors header larger than this is not a real one


def templates_dir() -> Path | None:
    """The comfyui-workflow-templates package's files, when it is installed."""
    try:
        import comfyui_workflow_templates
    except ImportError:
        return None
    root = Path(comfyui_workflow_templates.__file__).parent / "templates"
    return root if root.is_dir() else None


def safetensors_metadata(path: Path) -> dict | None:
    """The __metadata__ of a safetensors header (never the weights), or None."""
    with open(path, "rb") as file:
        head = file.read(8)
        if len(head) != 8:
            raise ValueError("not a safetensors file")
        length = struct.unpack("<Q", head)[0]
        if length > MAX_HEADER:
            raise ValueError("not a safetensors file (header too large)")
        header = json.loads(file.read(length))
    if not isinstance(header, dict):
        raise ValueError("not a safetensors file")
    metadata = header.get("__metadata__")
    return metadata if isinstance(metadata, dict) else None


def _model_folder(name: str) -> str:
    canonical = folders.canonical_folder(name)
    if canonical not in folders.get().folder_names():
        raise web.HTTPNotFound(text=f"unknown model folder '{name}'")
    return canonical


def add_routes(routes: web.RouteTableDef, server) -> None:
    @routes.get("/users")
    async def users(request):
        return json_response({"storage": "server", "migrated": True})

    @routes.post("/users")
    async def new_user(request):
        await read_json_object(request)
        return json_response("default")   # one user: every client shares user/default

    @routes.get("/i18n")
    async def i18n(request):
        return json_response({})

    @routes.get("/global_subgraphs")
    async def global_subgraphs(request):
        return json_response({})

    @routes.get("/workflow_templates")
    async def workflow_templates(request):
        return json_response({})

    @routes.get("/user.css")
    async def user_css(request):
        path = Path(folders.get().user_dir) / "default" / "user.css"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        return web.Response(text=text, content_type="text/css")

    @routes.get("/experiment/models")
    async def model_folders(request):
        configured = folders.get()
        return json_response([{"name": name, "folders": [str(d) for d in configured.dirs(name)]}
                              for name in configured.folder_names()])

    @routes.get("/experiment/models/{folder}")
    async def model_files(request):
        folder = _model_folder(request.match_info["folder"])
        configured = folders.get()
        files = []
        for name in configured.list_files(folder):
            path = configured.full_path(folder, name)
            if path is None:
                continue
            stat = path.stat()
            index = next((i for i, d in enumerate(configured.dirs(folder)) if d in path.parents), 0)
            files.append({"name": name, "pathIndex": index, "modified": stat.st_mtime * 1000,
                          "created": stat.st_ctime * 1000, "size": stat.st_size})
        return json_response(files)

    @routes.get("/view_metadata/{folder}")
    async def view_metadata(request):
        folder = _model_folder(request.match_info["folder"])
        filename = request.query.get("filename")
        if not filename:
            raise BadRequest("filename: missing")
        try:
            relative = "/".join(check_part(filename, "filename"))
        except PathRefused as error:
            raise BadRequest(str(error)) from None
        if not filename.endswith(".safetensors"):
            raise BadRequest("filename: only .safetensors files carry readable metadata")
        path = folders.get().full_path(folder, relative)
        if path is None:
            raise web.HTTPNotFound(text=f"{filename} not found in {folder}")
        try:
            metadata = safetensors_metadata(path)
        except (OSError, ValueError) as error:
            raise BadRequest(f"filename: {error}") from None
        if metadata is None:
            raise web.HTTPNotFound(text=f"{filename} has no metadata")
        return json_response(metadata)

    @routes.get("/internal/folder_paths")
    async def folder_paths(request):
        configured = folders.get()
        return json_response({name: [str(d) for d in configured.dirs(name)] for name in configured.folder_names()})

    @routes.get("/internal/files/{kind}")
    async def internal_files(request):
        kind = request.match_info["kind"]
        configured = folders.get()
        roots = {"input": configured.input_dir, "output": configured.output_dir, "temp": configured.temp_dir}
        if kind not in roots:
            raise BadRequest("directory type: must be input, output or temp")
        root = Path(roots[kind])
        if not root.is_dir():
            return json_response([])
        entries = [e for e in os.scandir(root) if e.is_file() and not e.name.startswith(".")]
        entries.sort(key=lambda e: -e.stat().st_mtime)
        return json_response([e.name for e in entries])


def add_template_routes(app: web.Application) -> None:
    """/templates/*: the comfyui-workflow-templates package's files, or an empty index."""

    async def template_file(request):
        relative = request.match_info["path"]
        root = templates_dir()
        if root is None:
            if relative in ("index.json", "index_logo.json"):
                return json_response([] if relative == "index.json" else {})
            raise web.HTTPNotFound(text=f"template {relative} not found (comfyui-workflow-templates is not installed)")
        return file_response(root, relative)

    app.router.add_get("/templates/{path:.+}", template_file)
