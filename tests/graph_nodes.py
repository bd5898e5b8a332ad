"""Tiny pure-Python node classes (ComfyUI V1 API) for the graph engine tests.

Nodes that need to be observed record their calls in a CallLog passed to make_nodes(),
so every test gets its own fresh set of classes and log.
"""
import asyncio
import threading
import time

import graph.context
from graph.executor import ExecutionBlocker


class CallLog:
    def __init__(self):
        self.calls = []          # (class_type, node_id or None, arguments)
        self.timestamps = {}     # label -> (start, end)
        self.lock = threading.Lock()

    def record(self, class_type, arguments):
        context = graph.context.current()
        node_id = context.node_id if context is not None else None
        with self.lock:
            self.calls.append((class_type, node_id, dict(arguments)))

    def node_ids(self, class_type=None):
        return [node_id for name, node_id, _ in self.calls
                if class_type is None or name == class_type]

    def count(self, class_type):
        return sum(1 for name, _, _ in self.calls if name == class_type)


def make_nodes(log=None):
    """A fresh {class_type: class} mapping whose nodes report to `log`."""
    log = log if log is not None else CallLog()

    class IntConst:
        CATEGORY = "test"
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {"default": 0, "min": -1000, "max": 1000})}}

        def run(self, value):
            log.record("IntConst", {"value": value})
            return (value,)

    class Add:
        RETURN_TYPES = ("INT",)
        RETURN_NAMES = ("sum",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"a": ("INT", {"default": 0}), "b": ("INT", {"default": 0})}}

        def run(self, a, b):
            log.record("Add", {"a": a, "b": b})
            return (a + b,)

    class Concat:
        RETURN_TYPES = ("STRING",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"a": ("STRING", {"default": ""}),
                                 "b": ("STRING", {"default": "", "multiline": True})},
                    "optional": {"sep": ("STRING", {"default": ""})}}

        def run(self, a, b, sep=""):
            log.record("Concat", {"a": a, "b": b, "sep": sep})
            return (f"{a}{sep}{b}",)

    class ToString:
        RETURN_TYPES = ("STRING",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT,FLOAT", {"forceInput": True})}}

        def run(self, value):
            log.record("ToString", {"value": value})
            return (str(value),)

    class Collect:
        """Output node: shows its value in the ui."""
        RETURN_TYPES = ()
        FUNCTION = "run"
        OUTPUT_NODE = True

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("*", {})}}

        def run(self, value):
            log.record("Collect", {"value": value})
            return {"ui": {"values": [value]}}

    class Pick:
        """Combo and float/boolean widgets with their options."""
        RETURN_TYPES = ("STRING", "FLOAT", "BOOLEAN")
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {
                "choice": (["red", "green", "blue"], {"default": "red"}),
                "scale": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.1,
                                    "round": 0.01}),
                "flag": ("BOOLEAN", {"default": False})}}

        def run(self, choice, scale, flag):
            log.record("Pick", {"choice": choice, "scale": scale, "flag": flag})
            return (choice, scale, flag)

    class Seeded:
        """Stands in for a sampler: a seed widget with control_after_generate."""
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"x": ("INT", {}),
                                 "seed": ("INT", {"default": 0, "min": 0,
                                                  "max": 0xffffffffffffffff,
                                                  "control_after_generate": True})}}

        def run(self, x, seed):
            log.record("Seeded", {"x": x, "seed": seed})
            return (x * 1000 + seed,)

    class Range:
        """OUTPUT_IS_LIST: 0..count-1 as a list."""
        RETURN_TYPES = ("INT",)
        OUTPUT_IS_LIST = (True,)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"count": ("INT", {"default": 3, "min": 0})}}

        def run(self, count):
            log.record("Range", {"count": count})
            return (list(range(count)),)

    class SumList:
        """INPUT_IS_LIST: gets whole lists."""
        RETURN_TYPES = ("INT",)
        INPUT_IS_LIST = True
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"values": ("INT", {})}}

        def run(self, values):
            log.record("SumList", {"values": list(values)})
            return (sum(values),)

    class Switch:
        """Lazy inputs: only the chosen branch is evaluated."""
        RETURN_TYPES = ("*",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"use_a": ("BOOLEAN", {"default": True}),
                                 "a": ("*", {"lazy": True}),
                                 "b": ("*", {"lazy": True})}}

        def check_lazy_status(self, use_a, a=None, b=None):
            log.record("Switch.check", {"use_a": use_a, "a": a, "b": b})
            if use_a and a is None:
                return ["a"]
            if not use_a and b is None:
                return ["b"]
            return []

        def run(self, use_a, a=None, b=None):
            log.record("Switch", {"use_a": use_a, "a": a, "b": b})
            return (a if use_a else b,)

    class Repeat:
        """Expands to a chain of Add nodes doubling `value` `times` times."""
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {}), "times": ("INT", {"default": 1})}}

        def run(self, value, times):
            log.record("Repeat", {"value": value, "times": times})
            graph_nodes = {"start": {"class_type": "IntConst", "inputs": {"value": value}}}
            last = "start"
            for i in range(times):
                graph_nodes[f"add{i}"] = {"class_type": "Add",
                                          "inputs": {"a": [last, 0], "b": [last, 0]}}
                last = f"add{i}"
            return {"expand": graph_nodes, "result": ([last, 0],)}

    class Doubler:
        """Recursive expansion: doubles `value` `depth` times by expanding into itself."""
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {}), "depth": ("INT", {"default": 1})}}

        def run(self, value, depth):
            log.record("Doubler", {"value": value, "depth": depth})
            if depth <= 0:
                return (value,)
            return {"expand": {
                "add": {"class_type": "Add", "inputs": {"a": value, "b": value}},
                "inner": {"class_type": "Doubler", "inputs": {"value": ["add", 0],
                                                              "depth": depth - 1}}},
                "result": (["inner", 0],)}

    class AsyncSleep:
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {}), "seconds": ("FLOAT", {"default": 0.3}),
                                 "label": ("STRING", {"default": ""})}}

        async def run(self, value, seconds, label):
            context = graph.context.current()
            start = time.monotonic()
            await asyncio.sleep(seconds)
            log.record("AsyncSleep", {"value": value, "label": label,
                                      "context_node": context.node_id if context else None})
            log.timestamps[label] = (start, time.monotonic())
            return (value,)

    class Ticker:
        """A slow node that reports progress `steps` times."""
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"steps": ("INT", {"default": 5}),
                                 "delay": ("FLOAT", {"default": 0.0})}}

        def run(self, steps, delay):
            context = graph.context.current()
            log.record("Ticker.start", {"steps": steps})
            for step in range(steps):
                time.sleep(delay)
                context.progress(step + 1, steps)
            log.record("Ticker", {"steps": steps})
            return (steps,)

    class ThreadWorker:
        """Does its work on a thread of its own that sees the node's context."""
        RETURN_TYPES = ("STRING",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {}}

        def run(self):
            seen = {}

            def work():
                seen["node"] = graph.context.current().node_id

            thread = threading.Thread(target=graph.context.bind(work))
            thread.start()
            thread.join()
            return (seen["node"],)

    class Fail:
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {}),
                                 "message": ("STRING", {"default": "boom"})}}

        def run(self, value, message):
            log.record("Fail", {"value": value})
            raise ValueError(message)

    class Gate:
        """Blocks its output (with an optional message) unless open."""
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {}), "open": ("BOOLEAN", {"default": False}),
                                 "message": ("STRING", {"default": ""})}}

        def run(self, value, open, message):
            log.record("Gate", {"value": value, "open": open})
            if open:
                return (value,)
            return (ExecutionBlocker(message or None),)

    class Counter:
        """IS_CHANGED returns the `token` input: same token -> cached."""
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"token": ("STRING", {"default": ""})}}

        @classmethod
        def IS_CHANGED(cls, token):
            return float("nan") if token == "always" else token

        def run(self, token):
            log.record("Counter", {"token": token})
            return (log.count("Counter"),)

    class Random:
        """NOT_IDEMPOTENT: two identical nodes must not share a result."""
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"
        NOT_IDEMPOTENT = True

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {})}}

        def run(self, value):
            log.record("Random", {"value": value})
            return (value,)

    class Hidden:
        """Output node that reads hidden inputs."""
        RETURN_TYPES = ()
        FUNCTION = "run"
        OUTPUT_NODE = True

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {})},
                    "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO",
                               "unique_id": "UNIQUE_ID"}}

        def run(self, value, prompt=None, extra_pnginfo=None, unique_id=None):
            log.record("Hidden", {"prompt": prompt, "extra_pnginfo": extra_pnginfo,
                                  "unique_id": unique_id})
            return {"ui": {"unique_id": [unique_id]}}

    class Even:
        """VALIDATE_INPUTS: only even values; takes over the range check of `value`."""
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {"min": 0, "max": 10})}}

        @classmethod
        def VALIDATE_INPUTS(cls, value):
            if value == 13:
                raise RuntimeError("unlucky")
            return True if value % 2 == 0 else f"{value} is odd"

        def run(self, value):
            return (value,)

    class AnyTypes:
        """VALIDATE_INPUTS with input_types: type checks are left to the node."""
        RETURN_TYPES = ("STRING",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("STRING", {})}}

        @classmethod
        def VALIDATE_INPUTS(cls, input_types):
            log.record("AnyTypes.validate", {"input_types": dict(input_types)})
            return True

        def run(self, value):
            return (str(value),)

    nodes = dict(IntConst=IntConst, Add=Add, Concat=Concat, ToString=ToString, Collect=Collect,
                 Pick=Pick, Seeded=Seeded, Range=Range, SumList=SumList, Switch=Switch,
                 Repeat=Repeat, Doubler=Doubler, AsyncSleep=AsyncSleep, Ticker=Ticker,
                 ThreadWorker=ThreadWorker, Fail=Fail, Gate=Gate, Counter=Counter,
                 Random=Random, Hidden=Hidden, Even=Even, AnyTypes=AnyTypes)
    return nodes, log


class EventRecorder:
    """Subscribes to an EventBus and keeps every (event, data, client_id)."""

    def __init__(self, bus):
        self.events = []
        self.lock = threading.Lock()
        self.unsubscribe = bus.subscribe(self._on_event)

    def _on_event(self, event, data, client_id):
        with self.lock:
            self.events.append((event, data, client_id))

    def names(self):
        return [event for event, _, _ in self.events]

    def of(self, name):
        return [data for event, data, _ in self.events if event == name]

    def executing_nodes(self):
        return [data["node"] for event, data, _ in self.events if event == "executing"]

    def clear(self):
        with self.lock:
            self.events.clear()
