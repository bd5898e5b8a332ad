"""GET /default_workflow and the workflow format routes the editor uses.

- GET /default_workflow: the graph the editor opens with, as a UI workflow
  (`?format=api` for the API form): workflows/demo_txt2img.json (the shipped demo model) with the checkpoint
  switched to one the user has when the named one is missing.
- POST /workflow/api {workflow}: a UI workflow converted to the API form (ComfyUI's
  "Export (API)"), or a 400 in /prompt's error shape.
- POST /workflow/ui {prompt}: an API workflow laid out as a UI workflow to edit.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web

from api.errors import BadRequest, json_response, read_json_object
from engine import folders
from graph.errors import WorkflowError
from graph.ui_workflow import ConversionError, api_to_ui, is_ui_workflow
from graph.workflow import load, to_api

DEFAULT_WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "demo_txt2img.json"


def default_workflow() -> dict:
    workflow = json.loads(DEFAULT_WORKFLOW.read_text(encoding="utf-8"))
    available = folders.get().list_files("checkpoints")
    for node in workflow.values():
        inputs = node.get("inputs", {})
        if node.get("class_type") == "CheckpointLoaderSimple" and available and inputs.get("ckpt_name") not in available:
            inputs["ckpt_name"] = available[0]
    return workflow


def _format_error(error: WorkflowError) -> web.Response:
    if isinstance(error, ConversionError):
        body = {"error": error.error, "node_errors": error.node_errors}
    else:
        body = {"error": {"type": "invalid_prompt", "message": "The workflow is not valid.",
                          "details": str(error), "extra_info": {}}, "node_errors": {}}
    return json_response(body, status=400)


def add_routes(routes: web.RouteTableDef, server) -> None:
    @routes.get("/default_workflow")
    async def get_default_workflow(request):
        workflow = default_workflow()
        if request.query.get("format") == "api":
            return json_response(workflow)
        return json_response(api_to_ui(to_api(workflow), server.registry.catalogue()))

    @routes.post("/workflow/api")
    async def workflow_to_api(request):
        data = await read_json_object(request)
        if not is_ui_workflow(data.get("workflow")):
            raise BadRequest("workflow: expected a UI-format workflow (an object with 'nodes' and 'links')")
        loop = asyncio.get_running_loop()
        try:
            loaded = await loop.run_in_executor(None, load, data["workflow"], server.registry.catalogue())
        except WorkflowError as error:
            return _format_error(error)
        return json_response({"prompt": loaded.prompt, "warnings": loaded.notes + loaded.warnings})

    @routes.post("/workflow/ui")
    async def workflow_to_ui(request):
        data = await read_json_object(request)
        try:
            prompt = to_api(data.get("prompt"))
        except WorkflowError as error:
            return _format_error(error)
        return json_response({"workflow": api_to_ui(prompt, server.registry.catalogue())})
