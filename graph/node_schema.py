"""Read a node class's V1 API (INPUT_TYPES, RETURN_TYPES, flags) and match types.

ComfyUI node classes describe themselves with class attributes; NodeSchema gathers
them in one place, with defaults for what a class leaves out.
"""
import inspect

from graph.errors import NodeDefinitionError
from graph.threads import run_in_thread

HIDDEN_PROMPT = "PROMPT"
HIDDEN_EXTRA_PNGINFO = "EXTRA_PNGINFO"
HIDDEN_UNIQUE_ID = "UNIQUE_ID"
HIDDEN_DYNPROMPT = "DYNPROMPT"


def types_match(received_type, input_type):
    """Whether an output of received_type may feed an input of input_type.

    "*" matches anything; comma-separated types are unions that match on any overlap;
    combo inputs (lists) match an identical list.
    """
    if received_type == input_type:
        return True
    if not isinstance(received_type, str) or not isinstance(input_type, str):
        return False
    received = {t.strip() for t in received_type.split(",")}
    expected = {t.strip() for t in input_type.split(",")}
    if "*" in received or "*" in expected:
        return True
    return bool(received & expected)


def accepted_parameters(fn):
    """(names of the parameters fn takes, whether it takes **kwargs)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    has_kwargs = any(p.kind == p.VAR_KEYWORD for p in params)
    return names, has_kwargs


class NodeSchema:
    """The declared interface of one node class. INPUT_TYPES() is called once, here."""

    def __init__(self, class_type, node_class):
        self.class_type = class_type
        self.node_class = node_class
        input_types = node_class.INPUT_TYPES()
        if not isinstance(input_types, dict):
            raise NodeDefinitionError(f"{class_type}.INPUT_TYPES() must return a dict")
        self.required = dict(input_types.get("required") or {})
        self.optional = dict(input_types.get("optional") or {})
        self.hidden = dict(input_types.get("hidden") or {})
        self.return_types = tuple(getattr(node_class, "RETURN_TYPES", ()))
        self.return_names = tuple(getattr(node_class, "RETURN_NAMES", self.return_types))
        self.function = getattr(node_class, "FUNCTION", None)
        self.is_output = getattr(node_class, "OUTPUT_NODE", False) is True
        self.input_is_list = bool(getattr(node_class, "INPUT_IS_LIST", False))
        output_is_list = getattr(node_class, "OUTPUT_IS_LIST", None)
        self.output_is_list = tuple(output_is_list) if output_is_list else ()
        self.not_idempotent = bool(getattr(node_class, "NOT_IDEMPOTENT", False))
        self.has_is_changed = callable(getattr(node_class, "IS_CHANGED", None))
        self.has_validate_inputs = callable(getattr(node_class, "VALIDATE_INPUTS", None))
        self.has_lazy_check = callable(getattr(node_class, "check_lazy_status", None))

    @property
    def valid_input_names(self):
        return list(self.required) + [n for n in self.optional if n not in self.required]

    def input_info(self, name):
        """(input_type, category, options) for a declared input, or (None, None, None).

        A combo written as ("COMBO", {"options": [...]}) is returned as the list itself.
        """
        for category, inputs in (("required", self.required), ("optional", self.optional),
                                 ("hidden", self.hidden)):
            if name in inputs:
                spec = inputs[name]
                if category == "hidden":
                    return spec, category, {}
                if isinstance(spec, (list, tuple)) and len(spec) >= 1:
                    input_type = spec[0]
                    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                else:
                    input_type, options = spec, {}
                if input_type == "COMBO" and isinstance(options.get("options"), list):
                    input_type = options["options"]
                if isinstance(input_type, tuple):
                    input_type = list(input_type)
                return input_type, category, options
        return None, None, None

    def is_lazy(self, name):
        _, category, options = self.input_info(name)
        return category in ("required", "optional") and bool(options.get("lazy", False))

    def hidden_kinds(self):
        """{input name: hidden kind ("PROMPT", "UNIQUE_ID", ...)}."""
        return {name: (spec[0] if isinstance(spec, (list, tuple)) else spec)
                for name, spec in self.hidden.items()}

    def has_unique_id(self):
        return HIDDEN_UNIQUE_ID in self.hidden_kinds().values()

    def output_is_list_at(self, index):
        return index < len(self.output_is_list) and bool(self.output_is_list[index])

    def is_async(self):
        fn = getattr(self.node_class, self.function, None) if self.function else None
        return inspect.iscoroutinefunction(fn)


class SchemaBook:
    """NodeSchema per class_type, built on first use (so INPUT_TYPES runs once per prompt)."""

    def __init__(self, node_classes):
        self.node_classes = node_classes
        self._schemas = {}

    def has(self, class_type):
        return class_type in self.node_classes

    def get(self, class_type):
        if class_type not in self._schemas:
            if class_type not in self.node_classes:
                raise NodeDefinitionError(f"node type '{class_type}' does not exist")
            self._schemas[class_type] = NodeSchema(class_type, self.node_classes[class_type])
        return self._schemas[class_type]


def resolve_awaitable(value):
    """Return value, or the result of awaiting it when a node hook was async.

    Runs the awaitable on a short-lived event loop in a helper thread, so it works
    whether or not the caller's thread already runs an event loop.
    """
    if not inspect.isawaitable(value):
        return value
    import asyncio

    async def wait():
        return await value

    return run_in_thread(lambda: asyncio.run(wait()), name="loom-await")
