"""/userdata (the user's workflows and files) and /settings, under user_dir/default."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web

from api.errors import BadRequest, json_response, read_json, read_json_object
from api.paths import PathRefused, resolve_inside
from graph.json_policy import dumps_strict
from engine import atomic, folders

SETTINGS_FILE = "comfy.settings.json"


def user_root() -> Path:
    root = Path(folders.get().user_dir) / "default"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _user_path(relative: str, what: str = "file") -> Path:
    try:
        return resolve_inside(user_root(), (relative, what))
    except PathRefused as error:
        raise BadRequest(str(error)) from None


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.lower() in ("true", "1", "yes")


def _info(path: Path, root: Path) -> dict:
    stat = path.stat()
    # ComfyUI reports modification times in milliseconds
    return {"path": path.relative_to(root).as_posix(), "size": stat.st_size, "modified": int(stat.st_mtime * 1000)}


def _list_dir(directory: Path, recurse: bool, full_info: bool, root: Path) -> list:
    walker = directory.rglob("*") if recurse else directory.glob("*")
    files = sorted(p for p in walker if p.is_file() and not atomic.is_temporary(p.name))
    if full_info:
        return [dict(_info(p, root), path=p.relative_to(directory).as_posix()) for p in files]
    return [p.relative_to(directory).as_posix() for p in files]


def _load_settings() -> dict:
    path = user_root() / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_settings(settings: dict) -> None:
    atomic.write_bytes(user_root() / SETTINGS_FILE, dumps_strict(settings, indent=2).encode("utf-8"))


def add_routes(routes: web.RouteTableDef, server) -> None:
    @routes.get("/userdata")
    async def list_userdata(request):
        directory = request.query.get("dir")
        if not directory:
            raise BadRequest("dir: missing (the folder to list, e.g. 'workflows')")
        path = _user_path(directory, "dir")
        if not path.is_dir():
            raise web.HTTPNotFound(text=f"dir: '{directory}' not found")
        listing = await asyncio.to_thread(
            _list_dir, path, _flag(request, "recurse", False), _flag(request, "full_info", False), user_root()
        )
        return json_response(listing)

    @routes.get("/userdata/{file}")
    async def get_userdata(request):
        path = _user_path(request.match_info["file"])
        if request.match_info["file"] == "user.css" and not path.is_file():
            return web.Response(text="", content_type="text/css")   # ComfyUI's frontend always asks
        if not path.is_file():
            raise web.HTTPNotFound(text=f"{request.match_info['file']} not found")
        return web.FileResponse(path, headers={"X-Content-Type-Options": "nosniff",
                                               "Content-Disposition": "attachment"})

    @routes.post("/userdata/{file}")
    async def post_userdata(request):
        relative = request.match_info["file"]
        path = _user_path(relative)
        overwrite = _flag(request, "overwrite", True)
        if path.exists() and (not overwrite or not path.is_file()):
            return json_response({"error": {"type": "conflict", "message": f"{relative} already exists"}},
                                     status=409)
        body = await request.read()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise BadRequest(f"{relative}: a folder on the way is a file") from None
        await asyncio.to_thread(atomic.write_bytes, path, body)
        if _flag(request, "full_info", False):
            return json_response(_info(path, user_root()))
        return json_response(path.relative_to(user_root()).as_posix())

    @routes.post("/userdata/{file}/move/{dest}")
    async def move_userdata(request):
        source = _user_path(request.match_info["file"])
        target = _user_path(request.match_info["dest"], "dest")
        if not source.is_file():
            raise web.HTTPNotFound(text=f"{request.match_info['file']} not found")
        if target.exists() and (not _flag(request, "overwrite", True) or not target.is_file()):
            return json_response({"error": {"type": "conflict",
                                            "message": f"{request.match_info['dest']} already exists"}}, status=409)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise BadRequest(f"{request.match_info['dest']}: a folder on the way is a file") from None
        source.replace(target)
        if _flag(request, "full_info", False):
            return json_response(_info(target, user_root()))
        return json_response(target.relative_to(user_root()).as_posix())

    @routes.delete("/userdata/{file}")
    async def delete_userdata(request):
        path = _user_path(request.match_info["file"])
        if not path.is_file():
            raise web.HTTPNotFound(text=f"{request.match_info['file']} not found")
        path.unlink()
        return web.Response(status=204)

    @routes.get("/settings")
    async def get_settings(request):
        return json_response(_load_settings())

    @routes.get("/settings/{setting_id}")
    async def get_setting(request):
        return json_response(_load_settings().get(request.match_info["setting_id"]))

    @routes.post("/settings")
    async def post_settings(request):
        update = await read_json_object(request)
        settings = _load_settings()
        settings.update(update)
        _save_settings(settings)
        return json_response({})

    @routes.post("/settings/{setting_id}")
    async def post_setting(request):
        value = await read_json(request)
        settings = _load_settings()
        settings[request.match_info["setting_id"]] = value
        _save_settings(settings)
        return json_response({})
