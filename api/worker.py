"""The one worker thread that takes prompts from the queue and executes them.

Execution events go from the executor's EventBus to the websocket hub. The
final `executing {node: null}` is sent by the worker only after the history
entry is stored, so a client that fetches /history on that event finds it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback

from api.progress_state import ProgressState
from graph.history import build_entry

# ComfyUI's --preview-method values; a prompt may ask for its own in extra_data.
PREVIEW_METHODS = ("none", "auto", "latent2rgb", "taesd")

log = logging.getLogger("loom.api.worker")


class PromptWorker(threading.Thread):
    def __init__(self, server):
        super().__init__(name="loom-prompt-worker", daemon=True)
        self.server = server
        self._stop_event = threading.Event()
        self._free_request: dict | None = None
        self._lock = threading.Lock()
        self.progress_state = ProgressState(server.send_sync)

    def stop(self) -> None:
        self._stop_event.set()

    def request_free(self, unload_models: bool, free_memory: bool) -> None:
        """Free caches between prompts (POST /free)."""
        with self._lock:
            self._free_request = {"unload_models": unload_models, "free_memory": free_memory}

    # -- events ------------------------------------------------------------------

    def forward_event(self, event: str, data: dict, client_id: str | None) -> None:
        """EventBus subscriber: runs on the worker thread."""
        if event == "executing" and isinstance(data, dict):
            if data.get("node") is None:
                return  # sent by run_one once the history entry is stored
            self.server.last_node_id = data.get("node")
        self.server.send_sync(event, data, client_id)
        self.progress_state.observe(event, data, client_id)

    # -- the loop ------------------------------------------------------------------

    def run(self) -> None:
        queue = self.server.prompt_queue
        while not self._stop_event.is_set():
            item = queue.get(timeout=0.25)
            self._free_if_asked()  # also between taking a prompt and running it
            if item is None:
                continue
            self.run_one(item)

    def run_one(self, item) -> None:
        server = self.server
        client_id = item.extra_data.get("client_id") if isinstance(item.extra_data, dict) else None
        server.client_id = client_id
        server.last_prompt_id = item.prompt_id
        started = time.perf_counter()
        log.info("prompt %s started", item.prompt_id)
        try:
            extra_data = dict(item.extra_data)
            if extra_data.get("preview_method") not in PREVIEW_METHODS:
                extra_data["preview_method"] = server.preview_method
            result = server.executor.execute(item.prompt, item.prompt_id, extra_data, item.outputs_to_execute)
            entry = build_entry(item.as_list(), result.status_str, result.completed, result.messages, result.outputs)
        except Exception as error:  # an executor bug: record it, keep serving
            log.exception("executing prompt %s failed", item.prompt_id)
            message = ["execution_error", {
                "prompt_id": item.prompt_id, "node_id": None, "node_type": None, "executed": [],
                "exception_message": str(error), "exception_type": type(error).__name__,
                "traceback": traceback.format_exc().splitlines(), "current_inputs": {},
                "current_outputs": {}, "timestamp": int(time.time() * 1000),
            }]
            server.send_sync(message[0], message[1], client_id)
            entry = build_entry(item.as_list(), "error", False, [message], {})
        try:
            server.prompt_queue.finish(item.prompt_id, entry)
        except Exception:
            log.exception("could not store the history of %s", item.prompt_id)
        log.info("prompt %s %s in %.2f seconds", item.prompt_id, entry["status"]["status_str"],
                 time.perf_counter() - started)
        server.last_node_id = None
        self.progress_state.observe("executing", {"node": None, "prompt_id": item.prompt_id}, client_id)
        server.send_sync("executing", {"node": None, "display_node": None, "prompt_id": item.prompt_id}, client_id)
        server.client_id = None

    def _free_if_asked(self) -> None:
        with self._lock:
            request, self._free_request = self._free_request, None
        if not request:
            return
        reset = getattr(self.server.executor, "reset_cache", None)
        if callable(reset):
            reset()
        if "engine.model_cache" not in sys.modules:
            return  # no model was ever loaded; nothing else to free (and no torch import)
        if request["unload_models"]:
            sys.modules["engine.model_cache"].get().clear()
        if request["unload_models"] or request["free_memory"]:
            from engine import devices

            devices.empty_cache()
