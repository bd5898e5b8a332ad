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
from cli.workflow_file import WorkflowFileError, read_workflow_file
from graph.cache import CacheConfig
from graph.errors import WorkflowError, format_execution_error
from graph.events import EventBus
from graph.executor import PromptExecutor
from graph.ui_workflow import ConversionError, apply_to_api, apply_to_ui, is_ui_workflow
from graph.ui_workflow.control import set_widget
from graph.ui_workflow.stamp import stamp
from graph.validate import validate_prompt
from graph.workflow import load

SEED_MODES = {"random": "randomize", "randomize": "randomize", "increment": "increment",
              "decrement": "decrement", "fixed": "fixed", "auto": None}


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


def find_node(prompt: dict, name: str, item: str) -> str:
    """The node id that `name` means: an id, else a unique title, else a unique class type."""
    if name in prompt:
        return name
    for what, key in (("title", lambda n: (n.get("_meta") or {}).get("title")),
                      ("class type", lambda n: n.get("class_type"))):
        matches = [node_id for node_id, node in prompt.items() if key(node) == name]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise RunError(f"--set {item!r}: {len(matches)} nodes have the {what} {name!r} "
                           f"(ids {', '.join(matches)}); use a node id")
    titles = sorted({(n.get("_meta") or {}).get("title", "") for n in prompt.values()} - {""})
    raise RunError(f"--set {item!r}: the workflow has no node with id or title {name!r}"
                   + (f"; titles are: {', '.join(repr(t) for t in titles)}" if titles else ""))


def apply_overrides(prompt: dict, overrides: list[str], ui: dict | None = None, catalogue=None) -> None:
    """Apply `--set NODE.input=VALUE` (NODE: an id or a title); VALUE is JSON when it parses.

    With the UI workflow the prompt came from, its widget is changed too, so the workflow
    embedded in the outputs reproduces the run."""
    for item in overrides:
        target, sep, raw = item.partition("=")
        name, dot, input_name = target.rpartition(".")
        if not sep or not dot or not name or not input_name:
            raise RunError(f"--set {item!r}: expected NODE.input=VALUE (NODE: an id or a title)")
        node_id = find_node(prompt, name, item)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        prompt[node_id].setdefault("inputs", {})[input_name] = value
        if ui is not None:
            set_widget(ui, catalogue, node_id, input_name, value)


def describe_missing(error: ConversionError) -> str:
    lines = ["error: the workflow uses node types that Loom does not have:"]
    for entry in error.error["extra_info"]["missing"]:
        where = ", ".join(f"#{n['id']} '{n['title']}'" for n in entry["nodes"])
        pack = f" (from pack {entry['pack']})" if entry.get("pack") else ""
        lines.append(f"  {entry['class_type']}{pack}: used {entry['count']}x at {where}")
    return "\n".join(lines)


def apply_seed_mode(document: dict, catalogue, mode: str | None) -> dict:
    """--seed: apply control_after_generate before the run; prints what changed."""
    if mode is None:
        return document
    if is_ui_workflow(document):
        changes = apply_to_ui(document, catalogue, SEED_MODES[mode])
    else:
        if SEED_MODES[mode] is None:
            raise RunError("--seed auto needs a UI workflow (an API workflow has no control_after_generate values)")
        changes = apply_to_api(document, catalogue, SEED_MODES[mode])
    for node_id, name, old, new in changes:
        print(f"seed: #{node_id} {name} {old} -> {new}", file=sys.stderr)
    return document


def describe_validation(result, prompt: dict) -> str:
    lines = []
    if result.error:
        error = result.error
        lines.append(f"{error.get('message', 'invalid workflow')}" + (f": {error['details']}" if error.get("details") else ""))
    for node_id, node_error in (result.node_errors or {}).items():
        class_type = node_error.get("class_type") or prompt.get(node_id, {}).get("class_type", "?")
        title = (prompt.get(node_id, {}).get("_meta") or {}).get("title")
        for error in node_error.get("errors", []):
            input_name = (error.get("extra_info") or {}).get("input_name")
            where = f"#{node_id} {class_type}" + (f" '{title}'" if title and title != class_type else "") \
                + (f", input '{input_name}'" if input_name else "")
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
        document = read_workflow_file(args.workflow)
    except WorkflowFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from api.prompt_server import PromptServer

    bus = EventBus()
    PromptServer.instance = HeadlessPromptServer(bus)  # before custom packs import
    registry = startup.configure(args)
    for pack in registry.failed_packs:
        print(f"warning: custom node pack {pack['name']} failed to load: {pack['error']}", file=sys.stderr)

    catalogue = registry.catalogue()
    try:
        document = apply_seed_mode(document, catalogue, args.seed)
        loaded = load(document, catalogue)
        prompt = loaded.prompt
        apply_overrides(prompt, args.overrides, loaded.ui, catalogue)
    except ConversionError as error:
        if error.error["type"] == "missing_node_type":
            print(describe_missing(error), file=sys.stderr)
        else:
            print("error: the workflow is not valid\n" + describe_validation(error, {}), file=sys.stderr)
        return 2
    except (RunError, WorkflowError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for note in loaded.notes + loaded.warnings:
        print(f"warning: {note}", file=sys.stderr)

    result = validate_prompt(prompt, registry.classes)
    if not result.ok:
        print("error: the workflow is not valid\n" + describe_validation(result, prompt), file=sys.stderr)
        return 2

    bus.subscribe(TerminalProgress(prompt, enabled=not args.no_progress))
    executor = PromptExecutor(registry.classes, bus, CacheConfig(policy="none"))
    extra_data = {"extra_pnginfo": {"workflow": stamp(loaded.ui, catalogue)}} if loaded.ui else {}
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
