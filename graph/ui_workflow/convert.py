"""UI-format workflow -> API-format prompt, as ComfyUI's editor builds it when queueing.

Steps: read the nodes and links, expand subgraphs and group nodes, then for every node
that runs (not muted, not bypassed, not frontend-only) take its widget values by
schema order and follow each input link through reroutes, bypassed nodes and
primitive nodes to the real node that feeds it. Links into nodes that do not run are
dropped, as ComfyUI drops them.
"""
from dataclasses import dataclass, field

from graph.errors import WorkflowError
from graph.node_schema import types_match
from graph.ui_workflow import dynamic_prompts, flatten
from graph.ui_workflow.model import MODE_BYPASS, MODE_NEVER, FlatGraph
from graph.ui_workflow.widgets import as_literal, read_widgets_values, widget_slots
from graph.version import LOOM_VERSION

# Nodes that exist only in the editor: they never reach the server. SetNode/GetNode are
# KJNodes' named wireless links, common in shared workflows.
FRONTEND_ONLY = {"Reroute", "PrimitiveNode", "Note", "MarkdownNote", "SetNode", "GetNode",
                 "Reroute (rgthree)", "Fast Groups Bypasser (rgthree)", "Fast Groups Muter (rgthree)",
                 "Fast Bypasser (rgthree)", "Fast Muter (rgthree)", "Fast Actions Button (rgthree)",
                 "Bookmark (rgthree)", "Label (rgthree)", "Mute / Bypass Repeater (rgthree)",
                 "Mute / Bypass Relay (rgthree)", "Note Plus (mtb)"}
REROUTES = {"Reroute", "SetNode", "Reroute (rgthree)"}
# Core ComfyUI primitive nodes: when Loom has no such node, their value is inlined.
VALUE_NODES = {"PrimitiveInt", "PrimitiveFloat", "PrimitiveBoolean", "PrimitiveString",
               "PrimitiveStringMultiline"}


class ConversionError(WorkflowError):
    """A UI workflow that cannot become a prompt; `error`/`node_errors` in ComfyUI's shape."""

    def __init__(self, error, node_errors=None):
        super().__init__(error["message"] + (f": {error['details']}" if error.get("details") else ""))
        self.error = error
        self.node_errors = node_errors or {}


@dataclass
class Conversion:
    prompt: dict
    notes: list = field(default_factory=list)       # links repaired or dropped
    warnings: list = field(default_factory=list)    # widget values that do not fit the schema


@dataclass
class _Value:
    """A literal that a link resolved to (a primitive node's value)."""
    value: object


def is_ui_workflow(workflow):
    return (isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list)
            and isinstance(workflow.get("links", []), list) and "class_type" not in workflow)


def ui_to_api(workflow, catalogue, rng=None):
    """Convert a UI workflow using `catalogue` ({class_type: /object_info entry}); `rng`
    picks the options of dynamic prompts ({a|b}).

    Raises ConversionError for missing node types or missing widget values, WorkflowError
    for a malformed document."""
    if not is_ui_workflow(workflow):
        raise WorkflowError("not a UI-format workflow: expected an object with 'nodes' and 'links'")
    flat = FlatGraph(catalogue=catalogue)
    flat.rng = rng
    flat.add_scope(workflow["nodes"], workflow.get("links") or [], "", "root")
    flatten.expand(flat, workflow, catalogue)
    _raise_for_missing_types(flat, workflow, catalogue)
    result = Conversion({}, flat.notes)
    saved_by = ((workflow.get("extra") or {}).get("loom") or {}).get("version")
    if saved_by and saved_by != LOOM_VERSION:
        result.notes.append(f"saved by Loom {saved_by}; this is Loom {LOOM_VERSION}")
    node_errors = {}
    for node in flat.nodes.values():
        if not _runs(node, catalogue):
            continue
        info = catalogue.get(node.type)
        inputs, errors = _node_inputs(flat, node, info, result.warnings)
        if errors:
            node_errors[node.id] = {"errors": errors, "dependent_outputs": [], "class_type": node.type}
        result.prompt[node.id] = {"inputs": inputs, "class_type": node.type,
                                  "_meta": {"title": node.title or info.get("display_name") or node.type}}
    if node_errors:
        raise ConversionError({"type": "prompt_outputs_failed_validation",
                               "message": "Prompt outputs failed validation",
                               "details": "; ".join(e["details"] for n in node_errors.values()
                                                    for e in n["errors"]),
                               "extra_info": {}}, node_errors)
    for entry in result.prompt.values():
        for name, value in list(entry["inputs"].items()):
            if isinstance(value, list) and len(value) == 2 and value[0] not in result.prompt:
                del entry["inputs"][name]
    return result


def _runs(node, catalogue):
    if node.type in FRONTEND_ONLY or node.mode in (MODE_NEVER, MODE_BYPASS):
        return False
    return not (node.type in VALUE_NODES and node.type not in catalogue)


def _raise_for_missing_types(flat, workflow, catalogue):
    missing = {}
    for node in flat.nodes.values():
        if node.type in catalogue or node.type in FRONTEND_ONLY or node.type in VALUE_NODES:
            continue
        if node.mode in (MODE_NEVER, MODE_BYPASS):
            continue
        missing.setdefault(node.type, []).append(node)
    if not missing:
        return
    packs = (((workflow.get("extra") or {}).get("loom") or {}).get("node_types") or {})
    entries = []
    for class_type, nodes in missing.items():
        entry = {"class_type": class_type, "count": len(nodes),
                 "nodes": [{"id": n.id, "title": n.title or class_type} for n in nodes]}
        pack = packs.get(class_type) or next((n.properties.get("cnr_id") or n.properties.get("aux_id")
                                              for n in nodes if n.properties.get("cnr_id")
                                              or n.properties.get("aux_id")), None)
        if pack:
            entry["pack"] = pack
        entries.append(entry)
    lines = []
    for entry in entries:
        where = ", ".join(f"#{n['id']} '{n['title']}'" for n in entry["nodes"])
        pack = f" (from {entry['pack']})" if entry.get("pack") else ""
        lines.append(f"{entry['class_type']}{pack}: used {entry['count']}x at {where}")
    raise ConversionError({
        "type": "missing_node_type",
        "message": f"Cannot execute because the workflow uses {len(entries)} node type(s) "
                   "that are not installed",
        "details": "; ".join(lines),
        "extra_info": {"missing": entries}})


def _node_inputs(flat, node, info, warnings):
    slots = widget_slots(info)
    read = read_widgets_values(slots, node.widgets_values)
    if read.leftover:
        warnings.append(f"node {node.id} ({node.type}): {len(read.leftover)} widget value(s) more "
                        f"than its {len(slots)} widget(s); the extra ones are ignored")
    inputs = {}
    dynamic = {s.name for s in slots if s.options.get("dynamicPrompts")}
    for name, value in read.values.items():
        if name in dynamic and isinstance(value, str):
            value = dynamic_prompts.resolve(value, flat.rng)
        inputs[name] = as_literal(value)
    inputs.update(node.literals)
    linked = set()
    for index, slot in enumerate(node.inputs):
        resolved = _resolve_input(flat, node, index, set())
        if resolved is None:
            continue
        name = slot.input_name
        linked.add(name)
        if isinstance(resolved, _Value):
            inputs[name] = as_literal(resolved.value)
        else:
            inputs[name] = [resolved[0], resolved[1]]
    errors = []
    values = node.widgets_values if isinstance(node.widgets_values, list) else []
    for slot in slots:
        if not slot.required or slot.name in inputs or slot.name in linked:
            continue
        where = f"node {node.id} '{node.title or node.type}' ({node.type})"
        if "default" in slot.options:   # a node that gained a widget since the workflow was saved
            inputs[slot.name] = slot.options["default"]
            warnings.append(f"{where}: no value for '{slot.name}' in widgets_values; "
                            f"its default {slot.options['default']!r} is used")
            continue
        errors.append({
            "type": "missing_widget_value",
            "message": "Widget value missing",
            "details": f"{where}: no value for '{slot.name}' (widgets_values has {len(values)} "
                       f"value(s), the node has {len(slots)} widget(s))",
            "extra_info": {"input_name": slot.name}})
    return inputs, errors


def _resolve_input(flat, node, index, visited):
    """(origin_id, slot), a _Value, or None for what feeds input `index` of `node`."""
    key = (node.id, "in", index)
    if key in visited:
        raise WorkflowError(f"node {node.id} ({node.type}): its links go round in a loop through "
                            "reroute or bypassed nodes")
    visited.add(key)
    link = flat.link_into(node, index)
    if link is None:
        return None
    target_type = node.inputs[index].type
    return _resolve_output(flat, flat.nodes[link.origin_id], link.origin_slot, target_type, visited)


def _resolve_output(flat, origin, slot, target_type, visited):
    if origin.mode == MODE_BYPASS:
        index = _bypass_input(origin, slot, target_type)
        return None if index is None else _resolve_input(flat, origin, index, visited)
    if origin.type in REROUTES:
        return _resolve_input(flat, origin, 0, visited) if origin.inputs else None
    if origin.type == "GetNode":
        setter = _setter_for(flat, origin)
        return _resolve_input(flat, setter, 0, visited) if setter is not None and setter.inputs else None
    if origin.type == "PrimitiveNode" or (origin.type in VALUE_NODES and origin.type not in flat.catalogue):
        values = origin.widgets_values
        if isinstance(values, dict):
            values = list(values.values())
        return _Value(values[0]) if values else None
    if origin.type in FRONTEND_ONLY:
        return None
    return origin.id, slot


def _setter_for(flat, getter):
    """The SetNode whose name (its first widget value) the GetNode names."""
    name = (getter.widgets_values or [None])[0] if isinstance(getter.widgets_values, list) else None
    for node in flat.nodes.values():
        if node.type == "SetNode" and isinstance(node.widgets_values, list) \
                and node.widgets_values[:1] == [name]:
            return node
    flat.notes.append(f"node {getter.id} (GetNode): no SetNode is named {name!r}; its links are dropped")
    return None


def _bypass_input(node, slot, target_type):
    """The input a bypassed node passes to output `slot`: the same index when its type fits,
    else the first input of exactly the target's type, else the first that fits."""
    inputs = node.inputs
    if target_type in ("*", "", None):
        return slot if slot < len(inputs) else (0 if inputs else None)
    output_type = node.outputs[slot].type if slot < len(node.outputs) else target_type
    if slot < len(inputs) and types_match(inputs[slot].type, output_type) \
            and types_match(inputs[slot].type, target_type):
        return slot
    for index, candidate in enumerate(inputs):
        if candidate.type == target_type:
            return index
    for index, candidate in enumerate(inputs):
        if types_match(candidate.type, output_type) and types_match(candidate.type, target_type):
            return index
    return None
