"""Read-only information routes: nodes, models, system, extensions, and the web editor's files."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from aiohttp import web

from api.errors import json_response
from api.security import StartupError
from api.paths import file_response
from engine import folders

from graph.version import LOOM_VERSION
REPO_ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = REPO_ROOT / "web"


def _memory() -> tuple[int, int]:
    try:
        import psutil

        memory = psutil.virtual_memory()
        return memory.total, memory.available
    except Exception:
        return 0, 0


def add_routes(routes: web.RouteTableDef, server) -> None:
    @routes.get("/object_info")
    async def object_info(request):
        return json_response(server.registry.object_info())

    @routes.get("/object_info/{node_class}")
    async def object_info_for(request):
        node_class = request.match_info["node_class"]
        if node_class not in server.registry.classes:
            return json_response({})
        return json_response({node_class: server.registry.object_info_for(node_class)})

    @routes.get("/system_stats")
    async def system_stats(request):
        total, free = _memory()
        torch = sys.modules.get("torch")
        return json_response({
            "system": {
                "os": os.name,
                "platform": platform.system(),
                "python_version": sys.version,
                "embedded_python": os.path.split(os.path.split(sys.executable)[0])[1] == "python_embeded",
                "comfyui_version": f"loom {LOOM_VERSION}",
                "loom_version": LOOM_VERSION,
                "pytorch_version": getattr(torch, "__version__", "not loaded") if torch else "not loaded",
                "ram_total": total,
                "ram_free": free,
                "argv": sys.argv,
            },
            "devices": [],
        })

    @routes.get("/embeddings")
    async def embeddings(request):
        names = folders.get().list_files("embeddings")
        return json_response([os.path.splitext(name)[0] for name in names])

    @routes.get("/models")
    async def model_folders(request):
        return json_response(folders.get().folder_names())

    @routes.get("/models/{folder}")
    async def model_files(request):
        folder = request.match_info["folder"]
        known = folders.get().folder_names()
        if folders.canonical_folder(folder) not in known:
            raise web.HTTPNotFound(text=f"unknown model folder '{folder}'")
        return json_response(folders.get().list_files(folder))

    @routes.get("/extensions")
    async def extensions(request):
        files = []
        for pack, directory in sorted(server.registry.web_directories.items()):
            for path in sorted(Path(directory).rglob("*.js")):
                files.append(f"/extensions/{pack}/{path.relative_to(directory).as_posix()}")
        return json_response(files)

    @routes.get("/extensions/{pack}/{path:.+}")
    async def extension_file(request):
        directory = server.registry.web_directories.get(request.match_info["pack"])
        if directory is None:
            raise web.HTTPNotFound(text="unknown extension pack")
        return file_response(Path(directory), request.match_info["path"])

    @routes.get("/features")
    async def features(request):
        return json_response({
            "supports_preview_metadata": False,
            "max_upload_size": int(server.max_upload_bytes),
            "queue_priorities": True,
            "queue_pause": True,
            "persistent_queue": True,
        })

    @routes.get("/custom_nodes/status")
    async def custom_nodes_status(request):
        return json_response(server.registry.status())


def frontend_dir(args) -> Path:
    """The folder whose files are served at /: Loom's editor, or a ComfyUI frontend."""
    root = getattr(args, "front_end_root", None)
    if root:
        path = Path(root).absolute()
        if not (path / "index.html").is_file():
            raise StartupError(f"--front-end-root: {path} has no index.html")
        return path
    if getattr(args, "front_end", "loom") == "comfyui":
        try:
            import comfyui_frontend_package
        except ImportError:
            raise StartupError("--front-end comfyui needs the comfyui-frontend-package "
                               "(pip install comfyui-frontend-package)") from None
        return Path(comfyui_frontend_package.__file__).parent / "static"
    return WEB_DIR


def add_web_routes(app: web.Application, root: Path = WEB_DIR) -> None:
    """GET / and the frontend's static files; registered last so API routes win."""

    async def index(request):
        if not (root / "index.html").is_file():
            return web.Response(text="Loom is running; the web editor is not installed.", content_type="text/plain")
        return file_response(root, "index.html")

    async def static(request):
        return file_response(root, request.match_info["path"])

    app.router.add_get("/", index)
    app.router.add_get("/{path:.+}", static)
