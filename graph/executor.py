"""Run a validated prompt: order the needed nodes, reuse cached outputs, call nodes.

PromptExecutor.execute() is blocking; call it from a worker thread. Each call runs
one asyncio event loop: sync node functions run on it directly, async ones are
started as tasks and awaited when no other node is ready.
"""
import asyncio
import threading

from graph.cache import CacheConfig, OutputCache
from graph.context import ExecutionBlocker
from graph.events import EventBus
from graph.prompt_run import ExecutionResult, PromptRun
from graph.threads import run_in_thread

__all__ = ["PromptExecutor", "ExecutionResult", "ExecutionBlocker", "CacheConfig"]


class PromptExecutor:
    def __init__(self, node_classes, bus=None, cache=None):
        self.node_classes = node_classes
        self.bus = bus if bus is not None else EventBus()
        self.cache = OutputCache(cache if cache is not None else CacheConfig())
        self._instances = {}
        self._interrupt_event = threading.Event()
        self._run_lock = threading.Lock()
        self._busy = False

    def interrupt(self):
        """Ask the running prompt to stop; does nothing when idle."""
        if self._busy:
            self._interrupt_event.set()

    def reset_cache(self):
        """Forget every cached output and node instance."""
        self.cache.clear()
        self._instances.clear()

    def execute(self, prompt, prompt_id, extra_data=None, execute_outputs=None):
        """Run the output nodes execute_outputs (default: all output nodes) of prompt."""
        with self._run_lock:
            self._interrupt_event.clear()
            self._busy = True
            try:
                run = PromptRun(self, prompt, prompt_id, extra_data or {}, execute_outputs)
                result = _call_without_running_loop(run.execute)
                self._forget_instances_not_in(run.dynprompt)
                return result
            finally:
                self._busy = False
                self._interrupt_event.clear()

    def _forget_instances_not_in(self, dynprompt):
        """Keep node instances only for the nodes of the last prompt."""
        self._instances = {key: instance for key, instance in self._instances.items()
                           if dynprompt.has_node(key[0])}

    def _instance(self, node_id, class_type):
        key = (node_id, class_type)
        if key not in self._instances:
            self._instances[key] = self.node_classes[class_type]()
        return self._instances[key]


def _call_without_running_loop(fn):
    """Run fn here, or on a helper thread when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    return run_in_thread(fn, name="loom-execute")
