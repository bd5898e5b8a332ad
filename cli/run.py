"""`python server.py run WORKFLOW.json`: run a saved workflow without a server.

Exit codes: 0 success, 1 a node failed, 2 the workflow or a flag is wrong,
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from cli import startup
from cli.progress import TerminalProgress
from graph.cache import CacheConfig
from graph.errors import WorkflowError, format_execution_error
from graph.events import EventBus
from graph.executor import PromptExecutor
from graph.validate import validate_prompt
from graph.workflow import to_api


class HeadlessPromptServer:
    """`PromptServer.instance` while running headless: custom packs can still add
    routes (unused) and send events, which go to the terminal's event bus."""

    def __init__(self, bus: EventBus):
        from aiohttp import web

        self.bus = bus
        self.routes = web.RouteTableDef()
        self.client_id = None
        self.last_node_id = None
        self.last_prompt_id = None

    def send_sync(self, event, data, sid=None) -> None:
        self.bus.emit(event, data, sid)


class RunError(Exception):
    """A problem with the workflow file or the flags: printed, exit code 2."""


def load_workflow(path: str) -> dict:
    file = Path(path)
    if not file.is_file():
        raise RunError(f"workflow file not found: {path}")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{path} is not valid JSON: {error}") from None


def apply_overrides(prompt: dict, overrides: list[str]) -> None:
    """Apply `--set NODE_ID.input=VALUE`; VALUE is JSON when it parses, else a string."""
    for item in overrides:
        target, sep, raw = item.partition("=")
        node_id, dot, input_name = target.partition(".")
        if not sep or not dot or not node_id or not input_name:
            raise RunError(f"--set {item!r}: expected NODE_ID.input=VALUE")
        if node_id not in prompt:
            raise RunError(f"--set {item!r}: the workflow has no node {node_id!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        prompt[node_id].setdefault("inputs", {})[input_name] = value


def describe_validation(result, prompt: dict) -> str:
    lines = []
    if result.error:
        error = result.error
        lines.append(f"{error.get('message', 'invalid workflow')}" + (f": {error['details']}" if error.get("details") else ""))
    for node_id, node_error in (result.node_errors or {}).items():
        class_type = node_error.get("class_type") or prompt.get(node_id, {}).get("class_type", "?")
        for error in node_error.get("errors", []):
            input_name = (error.get("extra_info") or {}).get("input_name")
            where = f"#{node_id} {class_type}" + (f", input '{input_name}'" if input_name else "")
            details = error.get("details") or ""
            lines.append(f"  {where}: {error.get('message', '')}" + (f" ({details})" if details else ""))
    return "\n".join(lines)


def output_files(outputs: dict) -> list[Path]:
    """The files that output nodes reported in their ui images/latents."""
    from engine import folders

    roots = {"output": folders.get().output_dir, "temp": folders.get().temp_dir, "input": folders.get().input_dir}
    files = []
    for ui in outputs.values():
        for items in ui.values():
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and "filename" in item:
                    root = roots.get(item.get("type", "output"), roots["output"])
                    files.append(root / item.get("subfolder", "") / item["filename"])
    return files


def main(args) -> int:
    try:
        raw = load_workflow(args.workflow)
        prompt = to_api(raw)
        apply_overrides(prompt, args.overrides)
    except (RunError, WorkflowError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from api.prompt_server import PromptServer

    bus = EventBus()
    PromptServer.instance = HeadlessPromptServer(bus)  # before custom packs import
    registry = startup.configure(args)
    for pack in registry.failed_packs:
        print(f"warning: custom node pack {pack['name']} failed to load: {pack['error']}", file=sys.stderr)

    result = validate_prompt(prompt, registry.classes)
    if not result.ok:
        print("error: the workflow is not valid\n" + describe_validation(result, prompt), file=sys.stderr)
        return 2

    bus.subscribe(TerminalProgress(prompt, enabled=not args.no_progress))
    executor = PromptExecutor(registry.classes, bus, CacheConfig(policy="none"))
    extra_data = {"extra_pnginfo": {"workflow": raw}} if isinstance(raw, dict) and "nodes" in raw else {}
    try:
        outcome = executor.execute(result.prompt, str(uuid.uuid4()), extra_data, result.outputs)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

    if outcome.status_str == "interrupted":
        print("interrupted", file=sys.stderr)
        return 130
    if outcome.status_str != "success":
        print(f"error: {format_execution_error(outcome.error or {})}", file=sys.stderr)
        return 1
    files = output_files(outcome.outputs)
    for file in files:
        print(file)
    if not files:
        print("done (no output files)")
    return 0
