"""Id-independent cache keys for nodes.

A node's signature is a digest of its class_type, its literal inputs, its IS_CHANGED
result and, for each linked input, the upstream node's signature and output index.
Node ids are left out (a renumbered graph still hits the cache) except for
NOT_IDEMPOTENT nodes and nodes with a UNIQUE_ID hidden input.

Digests keep keys small and comparisons cheap however deep or diamond-shaped the
graph is. A value that must never match a cached one (an IS_CHANGED result of NaN,
a hook that raised) is written as a fresh random nonce, so the node runs again.
"""
import hashlib
import logging
import math
import uuid

from graph.node_schema import accepted_parameters, resolve_awaitable

logger = logging.getLogger(__name__)


def _nonce():
    return f"<never-equal {uuid.uuid4().hex}>"


def canonical(value):
    """A deterministic text form of a literal, for hashing."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        return _nonce() if math.isnan(value) else f"f{value!r}"
    if isinstance(value, int):
        return f"i{value!r}"
    if isinstance(value, (str, bytes)):
        return f"{type(value).__name__}{value!r}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "set{" + ",".join(sorted(canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        items = sorted(f"{canonical(k)}:{canonical(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    # Other objects: their repr, tagged with the type (a default repr holds the object's
    # address, so it only matches the very same object).
    return f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"


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
            if not ready:
                visiting.add(current)
                stack.append((current, True))
                for source in self._link_sources(current):
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
        parts = [canonical(class_type), is_changed_text(schema, node_id, node)]
        if schema.not_idempotent or schema.has_unique_id():
            parts.append("id=" + canonical(node_id))
        inputs = node.get("inputs", {})
        for name in sorted(inputs):
            value = inputs[name]
            if _is_link(value):
                # A missing upstream signature means a cycle: never cache that.
                upstream = self._signatures.get(str(value[0])) or _nonce()
                parts.append(f"{canonical(name)}=link({upstream},{canonical(value[1])})")
            else:
                parts.append(f"{canonical(name)}={canonical(value)}")
        return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def is_changed_text(schema, node_id, node):
    """The node's IS_CHANGED(...) result in canonical form ("" when it has none).

    IS_CHANGED is called with the node's literal inputs; a hook that raises counts as
    "changed", as in ComfyUI.
    """
    if not schema.has_is_changed:
        return ""
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
        result = resolve_awaitable(fn(**arguments))
    except Exception:
        logger.warning("IS_CHANGED of %s (#%s) failed; the node will run again",
                       schema.class_type, node_id, exc_info=True)
        return "changed=" + _nonce()
    return "changed=" + canonical(result)
