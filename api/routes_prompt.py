"""/prompt, /queue, /interrupt, /free and /history: ComfyUI's shapes plus Loom's queue extensions."""

from __future__ import annotations

import asyncio
import math
import time
import uuid

from aiohttp import web

from api.errors import BadRequest, NonFiniteNumber, json_response, read_json_object
from graph.errors import WorkflowError
from graph.queue import QueueError, QueueItem
from graph.ui_workflow import ConversionError
from graph.ui_workflow.stamp import stamp
from graph.validate import validate_prompt
from graph.workflow import load


MAX_NUMBER = 2 ** 53      # queue numbers stay exact in JavaScript and in SQLite
MAX_PRIORITY = 2 ** 31


def _int(value, what: str) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"{what}: expected an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{what}: expected an integer, got {value!r}") from None


def _id_list(value, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise BadRequest(f"{what}: expected a list of prompt ids")
    return [str(v) for v in value]


def _non_finite_error(error: NonFiniteNumber) -> web.Response:
    """ComfyUI's validation shape, with the node and input named when the number is one."""
    path = error.path
    if len(path) >= 4 and path[0] == "prompt" and path[2] == "inputs":
        node_id, input_name = str(path[1]), str(path[3])
        node_error = {"type": "value_not_finite", "message": "Value is not a finite number",
                      "details": str(error), "extra_info": {"input_name": input_name}}
        return json_response({
            "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                      "details": str(error), "extra_info": {}},
            "node_errors": {node_id: {"errors": [node_error], "dependent_outputs": [], "class_type": None}},
        }, status=400)
    return _prompt_error("invalid_prompt", "Cannot execute because the prompt is not valid.", str(error))


def _prompt_error(error_type: str, message: str, details: str = "") -> web.Response:
    error = {"type": error_type, "message": message, "details": details, "extra_info": {}}
    return json_response({"error": error, "node_errors": {}}, status=400)


def keep_ui_workflow(extra_data: dict, ui_workflow: dict | None, catalogue) -> None:
    """Store the UI workflow (posted as the prompt, or sent in extra_pnginfo as ComfyUI's
    editor does) in extra_pnginfo.workflow, stamped with Loom's version and node packs:
    the history and the saved images give back what the user saved."""
    pnginfo = extra_data.get("extra_pnginfo")
    if not isinstance(pnginfo, dict):
        if ui_workflow is None:
            return
        pnginfo = extra_data["extra_pnginfo"] = {}
    workflow = pnginfo.get("workflow", ui_workflow)
    if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list):
        pnginfo["workflow"] = stamp(workflow, catalogue)


def add_routes(routes: web.RouteTableDef, server) -> None:
    queue = lambda: server.prompt_queue  # noqa: E731  (set after the routes are made)

    @routes.get("/prompt")
    async def get_prompt(request):
        return json_response(server.queue_status())

    @routes.post("/prompt")
    async def post_prompt(request):
        try:
            data = await read_json_object(request)
        except NonFiniteNumber as error:
            return _non_finite_error(error)
        data = server.trigger_on_prompt(data)
        if "prompt" not in data:
            return _prompt_error("no_prompt", "No prompt provided", "No prompt provided")
        if "number" in data:
            try:
                number = float(data["number"])
            except (TypeError, ValueError, OverflowError):
                raise BadRequest(f"number: expected a number, got {data['number']!r}") from None
            if not math.isfinite(number) or abs(number) > MAX_NUMBER:
                raise BadRequest(f"number: must be a finite number between -{MAX_NUMBER} and {MAX_NUMBER}")
            number = int(number) if number.is_integer() else number
        else:
            number = queue().next_number()
            if data.get("front"):
                number = -number
        priority = _int(data.get("priority", 0), "priority")
        if abs(priority) > MAX_PRIORITY:
            raise BadRequest(f"priority: must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")
        prompt_id = str(data.get("prompt_id") or uuid.uuid4())
        if queue().contains(prompt_id) or server.history.get(prompt_id) is not None:
            raise BadRequest(f"prompt_id: {prompt_id!r} is already used")
        extra_data = data.get("extra_data") or {}
        if not isinstance(extra_data, dict):
            raise BadRequest("extra_data: expected an object")
        if "client_id" in data:
            extra_data["client_id"] = data["client_id"]
        extra_data.setdefault("create_time", int(time.time() * 1000))
        targets = data.get("partial_execution_targets")
        if targets is not None and not isinstance(targets, list):
            raise BadRequest("partial_execution_targets: expected a list of node ids")
        catalogue = server.registry.catalogue()
        loop = asyncio.get_running_loop()
        try:
            loaded = await loop.run_in_executor(None, load, data["prompt"], catalogue)
        except ConversionError as error:
            return json_response({"error": error.error, "node_errors": error.node_errors}, status=400)
        except WorkflowError as error:
            return _prompt_error("invalid_prompt", "Cannot execute because the prompt is not valid.", str(error))
        result = await loop.run_in_executor(None, validate_prompt, loaded.prompt, server.registry.classes, targets)
        if not result.ok:
            return json_response({"error": result.error, "node_errors": result.node_errors}, status=400)
        keep_ui_workflow(extra_data, loaded.ui, catalogue)
        queue().put(QueueItem(number, prompt_id, result.prompt, extra_data, result.outputs, priority))
        answer = {"prompt_id": prompt_id, "number": number, "node_errors": result.node_errors}
        if loaded.notes or loaded.warnings:
            answer["warnings"] = loaded.notes + loaded.warnings
        return json_response(answer)

    @routes.get("/queue")
    async def get_queue(request):
        return json_response({
            "queue_running": [item.as_list() for item in queue().running()],
            "queue_pending": [item.as_list() for item in queue().pending()],
            "paused": queue().paused,
        })

    @routes.post("/queue")
    async def post_queue(request):
        data = await read_json_object(request)
        answer = {}
        try:
            if data.get("clear"):
                queue().clear()
            if "delete" in data:
                answer["deleted"] = queue().delete(_id_list(data["delete"], "delete"))
            if "priority" in data:
                if not isinstance(data["priority"], dict):
                    raise BadRequest("priority: expected an object {prompt_id: integer}")
                priorities = {str(k): _int(v, f"priority.{k}") for k, v in data["priority"].items()}
                for key, value in priorities.items():
                    if abs(value) > MAX_PRIORITY:
                        raise BadRequest(f"priority.{key}: must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")
                queue().set_priority(priorities)
            if "move" in data:
                move = data["move"]
                if not isinstance(move, dict) or "prompt_id" not in move:
                    raise BadRequest("move: expected {prompt_id, to} or {prompt_id, before|after}")
                queue().move(str(move["prompt_id"]), to=move.get("to"), before=move.get("before"),
                             after=move.get("after"))
            if "requeue" in data:
                answer["requeued"] = requeue(_id_list(data["requeue"], "requeue"))
        except QueueError as error:
            raise BadRequest(str(error)) from None
        return json_response(answer)

    def requeue(prompt_ids: list[str]) -> dict:
        """Put finished prompts (e.g. interrupted by a restart) back into the queue under new ids."""
        new_ids = {}
        for prompt_id in prompt_ids:
            entry = server.history.get(prompt_id)
            if entry is None:
                raise BadRequest(f"requeue: {prompt_id!r} is not in the history")
            _, _, prompt, extra_data, outputs = entry["prompt"][:5]
            new_id = str(uuid.uuid4())
            queue().put(QueueItem(queue().next_number(), new_id, prompt, extra_data, outputs))
            new_ids[prompt_id] = new_id
        return new_ids

    @routes.post("/queue/pause")
    async def pause_queue(request):
        queue().pause()
        return json_response({"paused": True})

    @routes.post("/queue/resume")
    async def resume_queue(request):
        queue().resume()
        return json_response({"paused": False})

    @routes.post("/interrupt")
    async def interrupt(request):
        data = await read_json_object(request, default={})
        target = data.get("prompt_id")
        running = [item.prompt_id for item in queue().running()]
        if target is None or str(target) in running:
            server.executor.interrupt()
        return json_response({"interrupted": bool(running) and (target is None or str(target) in running)})

    @routes.post("/free")
    async def free(request):
        data = await read_json_object(request, default={})
        server.worker.request_free(bool(data.get("unload_models")), bool(data.get("free_memory")))
        return json_response({})

    @routes.get("/history")
    async def get_history(request):
        max_items = request.query.get("max_items")
        offset = request.query.get("offset")
        max_items = _int(max_items, "max_items") if max_items is not None else None
        if max_items is not None and not 0 <= max_items <= MAX_PRIORITY:
            raise BadRequest(f"max_items: must be between 0 and {MAX_PRIORITY}, got {max_items}")
        offset = _int(offset, "offset") if offset is not None else None
        if offset is not None and abs(offset) > MAX_PRIORITY:
            raise BadRequest(f"offset: must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")
        return json_response(server.history.items(max_items=max_items, offset=offset))

    @routes.get("/history/{prompt_id}")
    async def get_history_item(request):
        prompt_id = request.match_info["prompt_id"]
        entry = server.history.get(prompt_id)
        return json_response({prompt_id: entry} if entry is not None else {})

    @routes.post("/history")
    async def post_history(request):
        data = await read_json_object(request)
        if data.get("clear"):
            server.history.clear()
        if "delete" in data:
            server.history.delete(_id_list(data["delete"], "delete"))
        return json_response({})
