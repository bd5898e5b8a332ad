"""A UI-format workflow read into plain objects: nodes, their slots, and links.

Accepts ComfyUI's version 0.4 (links as arrays [id, origin_id, origin_slot, target_id,
target_slot, type]) and version 1 (links as objects) alike. Node ids become strings,
prefixed with the path of the subgraph or group node instance they live in ("5:12").
"""
from dataclasses import dataclass, field

from graph.errors import WorkflowError

MODE_NEVER = 2      # muted: the node and what only it feeds do not run
MODE_BYPASS = 4     # bypassed: inputs pass straight through to outputs of the same type

SUBGRAPH_INPUT_ID = -10
SUBGRAPH_OUTPUT_ID = -20


@dataclass
class Slot:
    name: str
    type: object
    link: object = None       # a key into FlatGraph.links, or None
    widget: str | None = None  # the widget this input drives (a converted widget)

    @property
    def input_name(self):
        return self.widget or self.name


@dataclass
class Node:
    id: str
    type: str
    mode: int
    title: str | None
    inputs: list
    outputs: list
    widgets_values: object
    properties: dict
    literals: dict = field(default_factory=dict)   # input name -> value set from outside


@dataclass
class Link:
    origin_id: str
    origin_slot: int
    target_id: str
    target_slot: int
    type: object = None


def read_link(raw):
    """(id, origin_id, origin_slot, target_id, target_slot, type) of an array or object link."""
    if isinstance(raw, dict):
        try:
            return (raw["id"], raw["origin_id"], int(raw["origin_slot"]), raw["target_id"],
                    int(raw["target_slot"]), raw.get("type"))
        except (KeyError, TypeError, ValueError):
            raise WorkflowError(f"link {raw!r} is malformed") from None
    if isinstance(raw, (list, tuple)) and len(raw) >= 5:
        try:
            return raw[0], raw[1], int(raw[2]), raw[3], int(raw[4]), raw[5] if len(raw) > 5 else None
        except (TypeError, ValueError):
            raise WorkflowError(f"link {raw!r} is malformed") from None
    raise WorkflowError(f"link {raw!r} is malformed: expected [id, origin_id, origin_slot, "
                        "target_id, target_slot, type] or an object")


def node_id(prefix, raw_id):
    if raw_id in (SUBGRAPH_INPUT_ID, SUBGRAPH_OUTPUT_ID):
        return raw_id
    return f"{prefix}{raw_id}"


def read_node(raw, prefix, scope):
    if not isinstance(raw, dict) or "id" not in raw:
        raise WorkflowError(f"node {str(raw)[:80]} is malformed: it needs an 'id' and a 'type'")
    if not isinstance(raw.get("type"), str) or not raw["type"]:
        raise WorkflowError(f"node {raw['id']} has no type")
    inputs = []
    for slot in raw.get("inputs") or []:
        if not isinstance(slot, dict):
            raise WorkflowError(f"node {raw['id']} ({raw['type']}): an input slot is malformed")
        widget = slot.get("widget")
        link = slot.get("link")
        inputs.append(Slot(str(slot.get("name", "")), slot.get("type"),
                           (scope, link) if link is not None else None,
                           widget.get("name") if isinstance(widget, dict) else None))
    outputs = [Slot(str(s.get("name", "")), s.get("type")) for s in raw.get("outputs") or []
               if isinstance(s, dict)]
    mode = raw.get("mode", 0)
    return Node(node_id(prefix, raw["id"]), raw["type"], mode if isinstance(mode, int) else 0,
                raw.get("title"), inputs, outputs, raw.get("widgets_values"),
                raw.get("properties") if isinstance(raw.get("properties"), dict) else {})


@dataclass
class FlatGraph:
    """Nodes by id (in workflow order) and links by key; `notes` collects repairs made."""
    nodes: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    catalogue: object = field(default_factory=dict)   # {class_type: /object_info entry}
    rng: object = None                                  # random.Random for dynamic prompts

    def add_scope(self, raw_nodes, raw_links, prefix, scope):
        """Read one graph level (the root, or a subgraph definition for one instance)."""
        if not isinstance(raw_nodes, list) or not isinstance(raw_links, list):
            raise WorkflowError("a UI workflow needs 'nodes' and 'links' lists")
        added = []
        for raw in raw_nodes:
            node = read_node(raw, prefix, scope)
            if node.id in self.nodes:
                raise WorkflowError(f"node id {node.id} is used twice")
            self.nodes[node.id] = node
            added.append(node)
        for raw in raw_links:
            if raw is None:
                continue
            link_id, origin, origin_slot, target, target_slot, link_type = read_link(raw)
            self.links[(scope, link_id)] = Link(node_id(prefix, origin), origin_slot,
                                                node_id(prefix, target), target_slot, link_type)
        return added

    def link_into(self, node, index):
        """The Link feeding input `index` of node, or None; a stale reference is noted."""
        slot = node.inputs[index]
        if slot.link is None:
            return None
        link = self.links.get(slot.link)
        if link is None:
            self.notes.append(f"node {node.id} ({node.type}) input '{slot.input_name}': link "
                              f"{slot.link[1]} does not exist; dropped")
            return None
        if link.origin_id not in self.nodes:
            self.notes.append(f"node {node.id} ({node.type}) input '{slot.input_name}': its link "
                              f"comes from node {link.origin_id}, which does not exist; dropped")
            return None
        return link

    def drop_link(self, key):
        """Remove a link and clear the input that referred to it."""
        link = self.links.pop(key, None)
        if link is None:
            return
        target = self.nodes.get(link.target_id)
        if target is not None and link.target_slot < len(target.inputs) \
                and target.inputs[link.target_slot].link == key:
            target.inputs[link.target_slot].link = None
