"""One execute() call: the state of a running prompt and the loop that runs it."""
import asyncio
import logging
import time
import traceback
from dataclasses import dataclass, field

from graph import context as execution_context
from graph.context import ExecutionBlocker, ExecutionContext
from graph.errors import Interrupted, NodeDefinitionError
from graph.execution_list import DynamicPrompt, ExecutionList, is_link
from graph.expansion import add_subgraphs, linked_sources, resolve_outputs
from graph.node_call import (describe_value, gather_inputs, has_awaitables, map_over_lists,
                             parse_returns, await_all)
from graph.node_schema import SchemaBook, resolve_awaitable
from graph.signature import SignatureBuilder

logger = logging.getLogger(__name__)


@dataclass
class ExecutionResult:
    status_str: str                 # "success" | "error" | "interrupted"
    completed: bool
    messages: list                  # [[event, data], ...] as in ComfyUI's history
    outputs: dict                   # {node_id: ui dict} for nodes that returned "ui"
    error: dict | None = None       # the execution_error data, if any
    executed: list = field(default_factory=list)   # ids of the nodes that ran
    cached: list = field(default_factory=list)     # ids of the needed nodes found cached


class NodeFailed(Exception):
    """A node failed; carries the execution_error data (already built)."""

    def __init__(self, data):
        super().__init__(data["exception_message"])
        self.data = data


class Interruption(Exception):
    def __init__(self, node_id):
        super().__init__("interrupted")
        self.node_id = node_id


def _now_ms():
    return int(time.time() * 1000)


def _full_type_name(exc):
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in (None, "builtins") else f"{module}.{cls.__qualname__}"


class PromptRun:
    """The state of one execute() call."""

    def __init__(self, executor, prompt, prompt_id, extra_data, execute_outputs):
        self.executor = executor
        self.cache = executor.cache
        self.prompt_id = prompt_id
        self.extra_data = extra_data
        self.client_id = extra_data.get("client_id")
        self.dynprompt = DynamicPrompt(prompt)
        self.schemas = SchemaBook(executor.node_classes)
        self.signatures = SignatureBuilder(self.dynprompt, self.schemas)
        self.execute_outputs = execute_outputs
        self.store = {}                 # node id -> outputs (one list per slot)
        self.ui_outputs = {}
        self.executed = []
        self.cached = []
        self.messages = []
        self.pending_expansions = {}
        self.tasks = {}                 # asyncio task -> node id
        self.seen_signatures = []
        self.execution_list = ExecutionList(self.dynprompt, self.schemas, self._load_if_available)

    # -- events --------------------------------------------------------------------------

    def emit(self, event, data, client_id=None):
        self.executor.bus.emit(event, data, self.client_id if client_id is None else client_id)

    def add_message(self, event, data):
        data = {**data, "timestamp": _now_ms()}
        self.messages.append([event, data])
        self.emit(event, data)

    # -- the run -------------------------------------------------------------------------

    def execute(self):
        self.add_message("execution_start", {"prompt_id": self.prompt_id})
        status, error = "success", None
        try:
            targets = self._targets()
            self._announce_cached(targets)
            for target in targets:
                self._guarded(target, self._schedule_target, target)
            asyncio.run(self._loop())
            self.add_message("execution_success", {"prompt_id": self.prompt_id})
        except NodeFailed as failure:
            status, error = "error", failure.data
            self.add_message("execution_error", failure.data)
        except Interruption as interruption:
            status = "interrupted"
            node_id = interruption.node_id
            self.add_message("execution_interrupted", {
                "prompt_id": self.prompt_id, "node_id": node_id,
                "node_type": self._class_type_or_none(node_id), "executed": list(self.executed)})
        finally:
            try:
                self.cache.end_prompt(self.seen_signatures)
            except Exception:
                logger.exception("cache cleanup failed")
            self.emit("executing", {"node": None, "display_node": None,
                                    "prompt_id": self.prompt_id})
        return ExecutionResult(status, status == "success", self.messages, self.ui_outputs,
                               error, list(self.executed), list(self.cached))

    def _targets(self):
        prompt = self.dynprompt.original
        if not isinstance(prompt, dict):
            raise NodeFailed(self._failure_data(None, TypeError("the prompt must be a dict")))
        for node_id, node in prompt.items():
            class_type = node.get("class_type") if isinstance(node, dict) else None
            if class_type not in self.executor.node_classes:
                raise NodeFailed(self._failure_data(node_id, NodeDefinitionError(
                    f"node type '{class_type}' does not exist")))
        if self.execute_outputs is None:
            return [n for n, node in prompt.items()
                    if self._guarded(n, lambda: self.schemas.get(node["class_type"]).is_output)]
        targets = [str(t) for t in self.execute_outputs]
        for target in targets:
            if target not in prompt:
                raise NodeFailed(self._failure_data(None, KeyError(
                    f"output node '{target}' is not in the prompt")))
        return targets

    def _announce_cached(self, targets):
        """Compute the signatures of every node the targets may need; report cache hits."""
        needed, todo = {}, list(reversed(targets))
        while todo:
            node_id = todo.pop()
            if node_id in needed:
                continue
            needed[node_id] = True
            for value in self.dynprompt.get_node(node_id).get("inputs", {}).values():
                if is_link(value) and self.dynprompt.has_node(str(value[0])):
                    todo.append(str(value[0]))
        for node_id in needed:
            signature = self._guarded(node_id, self.signatures.signature, node_id)
            self.seen_signatures.append(signature)
            if signature in self.cache:
                self.cached.append(node_id)
        order = {node_id: index for index, node_id in enumerate(self.dynprompt.original)}
        self.cached.sort(key=lambda node_id: order.get(node_id, len(order)))
        self.add_message("execution_cached", {"nodes": list(self.cached),
                                              "prompt_id": self.prompt_id})

    def _schedule_target(self, node_id):
        if self._load_if_available(node_id):
            self._report_ui(node_id, self.ui_outputs.get(node_id))
        else:
            self.execution_list.add_node(node_id)

    def _load_if_available(self, node_id):
        """True if node_id's outputs are in this prompt's store, loading them from the
        cache when they are there."""
        if node_id in self.store:
            return True
        signature = self.signatures.signature(node_id)
        entry = self.cache.get(signature)
        if entry is None:
            return False
        self.store[node_id] = entry.outputs
        if entry.ui:
            self.ui_outputs[node_id] = entry.ui
        return True

    async def _loop(self):
        try:
            while True:
                if self.executor._interrupt_event.is_set():
                    raise Interruption(self.execution_list.next_ready())
                node_id = self.execution_list.next_ready()
                if node_id is not None:
                    await self._step(node_id)
                    continue
                if self.tasks:
                    done, _ = await asyncio.wait(list(self.tasks), timeout=0.05,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    for task in sorted(done, key=lambda t: self.tasks[t]):
                        node_id = self.tasks.pop(task)
                        self.execution_list.mark_not_running(node_id)
                        self._guarded(node_id, self._finish_task, node_id, task)
                    continue
                if self.execution_list.is_empty():
                    return
                blamed, error = self.execution_list.stuck_error()
                raise NodeFailed(self._failure_data(blamed, error))
        finally:
            for task in self.tasks:
                task.cancel()
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)
            self.tasks.clear()

    def _guarded(self, node_id, fn, *args):
        """Call fn, turning any exception into a NodeFailed (or Interruption) for node_id."""
        try:
            return fn(*args)
        except (NodeFailed, Interruption):
            raise
        except Interrupted:
            raise Interruption(node_id)
        except Exception as exc:
            raise NodeFailed(self._failure_data(node_id, exc))

    # -- one node ------------------------------------------------------------------------

    async def _step(self, node_id):
        inputs = None
        try:
            node = self.dynprompt.get_node(node_id)
            schema = self.schemas.get(node["class_type"])
            if self._load_if_available(node_id):
                self._report_ui(node_id, self.ui_outputs.get(node_id))
                self.execution_list.complete(node_id)
                return
            if node_id in self.pending_expansions:
                self._resolve_expansion(node_id, schema)
                return
            while True:
                inputs, missing = gather_inputs(node_id, node, schema, self.store,
                                                self.dynprompt, self.extra_data)
                self.emit("executing", {"node": node_id,
                                        "display_node": self.dynprompt.display_id(node_id),
                                        "prompt_id": self.prompt_id})
                instance = self.executor._instance(node_id, node["class_type"])
                if not schema.has_lazy_check or not self._request_lazy_inputs(
                        node_id, node, instance, inputs, missing):
                    break
                if self.execution_list.waits(node_id):
                    return
            self._call_node(node_id, node, schema, instance, inputs)
        except (NodeFailed, Interruption):
            raise
        except Interrupted:
            raise Interruption(node_id)
        except Exception as exc:
            raise NodeFailed(self._failure_data(node_id, exc, inputs))

    def _context(self, node_id):
        return ExecutionContext(self.prompt_id, node_id, self.client_id,
                                self.dynprompt.display_id(node_id), self.emit,
                                self.executor._interrupt_event,
                                previews=self.extra_data.get("preview_method", "auto") != "none")

    def _request_lazy_inputs(self, node_id, node, instance, inputs, missing):
        """Ask check_lazy_status which lazy inputs it needs; True if any were requested."""
        token = execution_context.activate(self._context(node_id))
        try:
            answers = map_over_lists(instance.check_lazy_status, inputs,
                                     self.schemas.get(node["class_type"]).input_is_list)
        finally:
            execution_context.deactivate(token)
        requested = []
        for answer in answers:
            answer = resolve_awaitable(answer)
            if isinstance(answer, (list, tuple)):
                requested += [n for n in answer if isinstance(n, str) and n in missing
                              and n not in requested]
        for name in requested:
            self.execution_list.add_dependency(node_id, str(node["inputs"][name][0]))
        return bool(requested)

    def _call_node(self, node_id, node, schema, instance, inputs):
        if not schema.function or not callable(getattr(instance, schema.function, None)):
            raise NodeDefinitionError(
                f"{schema.class_type} has no callable FUNCTION {schema.function!r}")
        function = getattr(instance, schema.function)
        on_blocker = (lambda b: self._report_blocked(node_id, schema, b)) if schema.is_output \
            else None
        token = execution_context.activate(self._context(node_id))
        try:
            results = map_over_lists(function, inputs, schema.input_is_list, on_blocker)
            if has_awaitables(results):
                # create_task copies the current context, so the node still sees it.
                task = asyncio.get_running_loop().create_task(await_all(results))
                self.tasks[task] = node_id
                self.execution_list.mark_running(node_id)
                return
        finally:
            execution_context.deactivate(token)
        self._finish(node_id, schema, results)

    def _finish_task(self, node_id, task):
        results = task.result()   # re-raises the node's exception
        schema = self.schemas.get(self.dynprompt.get_node(node_id)["class_type"])
        self._finish(node_id, schema, results)

    def _finish(self, node_id, schema, results):
        outputs, ui, expansions = parse_returns(results, schema)
        if expansions is not None:
            self._expand(node_id, expansions, ui)
            return
        self._complete(node_id, outputs, ui)

    def _complete(self, node_id, outputs, ui):
        self.store[node_id] = outputs
        self.cache.put(self.signatures.signature(node_id), outputs, ui)
        self.executed.append(node_id)
        if ui:
            self.ui_outputs[node_id] = ui
            self._report_ui(node_id, ui)
        self.execution_list.complete(node_id)

    def _report_ui(self, node_id, ui):
        if ui:
            self.emit("executed", {"node": node_id,
                                   "display_node": self.dynprompt.display_id(node_id),
                                   "output": ui, "prompt_id": self.prompt_id})

    def _report_blocked(self, node_id, schema, blocker):
        """An output node got a blocker: report its message (if any) as an error."""
        if blocker.message is not None:
            self.emit("execution_error", {
                "prompt_id": self.prompt_id, "node_id": node_id, "node_type": schema.class_type,
                "executed": list(self.executed),
                "exception_message": f"Execution Blocked: {blocker.message}",
                "exception_type": "ExecutionBlocked", "traceback": [], "current_inputs": {},
                "current_outputs": [], "timestamp": _now_ms()})
            return ExecutionBlocker(None)
        return blocker

    # -- node expansion ------------------------------------------------------------------

    def _expand(self, parent_id, expansions, ui):
        """The parent completes once the nodes its results link to have run."""
        entries, new_outputs = add_subgraphs(parent_id, expansions, self.dynprompt, self.schemas)
        self.pending_expansions[parent_id] = (entries, ui)
        for new_id in new_outputs:
            self.execution_list.add_node(new_id)
        for source in linked_sources(entries):
            self.execution_list.add_dependency(parent_id, source)

    def _resolve_expansion(self, node_id, schema):
        entries, ui = self.pending_expansions.pop(node_id)
        self._complete(node_id, resolve_outputs(entries, self.store, schema), ui)

    # -- errors --------------------------------------------------------------------------

    def _class_type_or_none(self, node_id):
        try:
            return self.dynprompt.get_node(node_id)["class_type"]
        except Exception:
            return None

    def _failure_data(self, node_id, exc, inputs=None):
        display = self.dynprompt.display_id(node_id) if node_id is not None else None
        return {
            "prompt_id": self.prompt_id,
            "node_id": node_id,
            "display_node": display,
            "node_type": self._class_type_or_none(node_id) if node_id is not None else None,
            "executed": list(self.executed),
            "exception_message": str(exc),
            "exception_type": _full_type_name(exc),
            "traceback": traceback.format_tb(exc.__traceback__),
            "current_inputs": {name: describe_value(values)
                               for name, values in (inputs or {}).items()},
            "current_outputs": list(self.store),
        }
