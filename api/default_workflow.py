"""GET /default_workflow: the graph the editor opens with.

It is workflows/txt2img_sd15.json (ComfyUI's default txt2img graph), with the
checkpoint switched to one the user actually has when the named one is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from engine import folders

DEFAULT_WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "txt2img_sd15.json"


def default_workflow() -> dict:
    workflow = json.loads(DEFAULT_WORKFLOW.read_text(encoding="utf-8"))
    available = folders.get().list_files("checkpoints")
    for node in workflow.values():
        inputs = node.get("inputs", {})
        if node.get("class_type") == "CheckpointLoaderSimple" and available and inputs.get("ckpt_name") not in available:
            inputs["ckpt_name"] = available[0]
    return workflow


def add_routes(routes: web.RouteTableDef, server) -> None:
    @routes.get("/default_workflow")
    async def get_default_workflow(request):
        return web.json_response(default_workflow())
