"""Id-independent cache keys for nodes.

A node's signature is built from its class_type, its literal inputs, its IS_CHANGED
result and, for each linked input, the upstream node's signature and output index.
Node ids are left out (a renumbered graph still hits the cache) except for
NOT_IDEMPOTENT nodes and nodes with a UNIQUE_ID hidden input.

Signatures are nested tuples compared with ==. An IS_CHANGED result of NaN (or one
that cannot be made hashable) becomes a fresh object that equals nothing, so the
node runs again every time.
"""
import logging
import math

from graph.node_schema import accepted_parameters, resolve_awaitable

logger = logging.getLogger(__name__)


class _NeverEqual:
    """Stands for a value that must never match a cached one."""

    def __repr__(self):
        return "<never equal>"


def to_hashable(value):
    """A hashable, comparable form of a literal (lists -> tuples, dicts -> sorted items)."""
    if isinstance(value, float) and math.isnan(value):
        return _NeverEqual()
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, (list, tuple)):
        return ("__seq__", tuple(to_hashable(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("__set__", frozenset(to_hashable(v) for v in value))
    if isinstance(value, dict):
        items = [(to_hashable(k), to_hashable(v)) for k, v in value.items()]
        return ("__dict__", tuple(sorted(items, key=repr)))
    try:
        hash(value)
        return value
    except TypeError:
        return _NeverEqual()


def _is_link(value):
    return isinstance(value, list) and len(value) == 2


class SignatureBuilder:
    """Computes (and remembers, for one prompt) the signature of each node."""

    def __init__(self, dynprompt, schemas):
        self.dynprompt = dynprompt
        self.schemas = schemas
        self._signatures = {}

    def signature(self, node_id):
        if node_id in self._signatures:
            return self._signatures[node_id]
        # Post-order walk without recursion, so long chains don't hit the recursion limit.
        stack = [(node_id, False)]
        visiting = set()
        while stack:
            current, ready = stack.pop()
            if current in self._signatures:
                continue
            sources = self._link_sources(current)
            if not ready:
                visiting.add(current)
                stack.append((current, True))
                for source in sources:
                    if source not in self._signatures and source not in visiting:
                        stack.append((source, False))
                continue
            self._signatures[current] = self._own_signature(current)
            visiting.discard(current)
        return self._signatures[node_id]

    def _link_sources(self, node_id):
        inputs = self.dynprompt.get_node(node_id).get("inputs", {})
        return [str(v[0]) for v in inputs.values()
                if _is_link(v) and self.dynprompt.has_node(str(v[0]))]

    def _own_signature(self, node_id):
        node = self.dynprompt.get_node(node_id)
        class_type = node["class_type"]
        schema = self.schemas.get(class_type)
        parts = [class_type, is_changed_value(schema, node_id, node)]
        if schema.not_idempotent or schema.has_unique_id():
            parts.append(("__id__", node_id))
        inputs = []
        for name in sorted(node.get("inputs", {})):
            value = node["inputs"][name]
            if _is_link(value):
                source = str(value[0])
                upstream = self._signatures.get(source, _NeverEqual())  # a cycle: never cached
                inputs.append((name, ("__link__", upstream, value[1])))
            else:
                inputs.append((name, to_hashable(value)))
        parts.append(tuple(inputs))
        return tuple(parts)


def is_changed_value(schema, node_id, node):
    """The node's IS_CHANGED(...) result, called with its literal inputs; None if absent.

    A hook that raises counts as "changed" (NaN), as in ComfyUI.
    """
    if not schema.has_is_changed:
        return None
    fn = schema.node_class.IS_CHANGED
    params, has_kwargs = accepted_parameters(fn)
    arguments = {}
    for name, value in node.get("inputs", {}).items():
        if not _is_link(value) and schema.input_info(name)[1] in ("required", "optional"):
            arguments[name] = value
    for name, kind in schema.hidden_kinds().items():
        if kind == "UNIQUE_ID":
            arguments[name] = node_id
    if not has_kwargs:
        arguments = {k: v for k, v in arguments.items() if k in params}
    try:
        fn_self = schema.node_class
        result = resolve_awaitable(getattr(fn_self, "IS_CHANGED")(**arguments))
    except Exception:
        logger.warning("IS_CHANGED of %s (#%s) failed; the node will run again",
                       schema.class_type, node_id, exc_info=True)
        return _NeverEqual()
    return to_hashable(result)
