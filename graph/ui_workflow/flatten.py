"""Expand subgraph instances and legacy group nodes into plain nodes with ComfyUI's ids.

A node inside subgraph instance 5 gets the id "5:12" (nested: "5:12:3"); the i-th node
of group node 7 gets "7:i". Links through the instance's inputs and outputs are
re-pointed at the inner nodes, so that afterwards the graph is flat and every link
joins two real (or virtual) nodes.
"""
from graph.errors import WorkflowError
from graph.ui_workflow.model import (MODE_BYPASS, MODE_NEVER, SUBGRAPH_INPUT_ID,
                                     SUBGRAPH_OUTPUT_ID, Link, Slot, read_node)
from graph.ui_workflow.widgets import skip_extra_values, widget_slots

MAX_DEPTH = 32
GROUP_NODE_PREFIXES = ("workflow>", "workflow/")


def group_node_name(node_type):
    for prefix in GROUP_NODE_PREFIXES:
        if node_type.startswith(prefix):
            return node_type[len(prefix):]
    return None


def subgraph_definitions(workflow):
    definitions = workflow.get("definitions") or {}
    subgraphs = definitions.get("subgraphs") if isinstance(definitions, dict) else None
    return {d["id"]: d for d in subgraphs or [] if isinstance(d, dict) and "id" in d}


def group_node_configs(workflow):
    extra = workflow.get("extra") or {}
    groups = extra.get("groupNodes") if isinstance(extra, dict) else None
    return groups if isinstance(groups, dict) else {}


def expand(flat, workflow, catalogue):
    """Replace every subgraph instance and group node in `flat` by its inner nodes."""
    subgraphs = subgraph_definitions(workflow)
    groups = group_node_configs(workflow)
    queue = list(flat.nodes.values())
    while queue:
        node = queue.pop(0)
        if node.id not in flat.nodes or node.mode == MODE_BYPASS:
            continue
        if node.id.count(":") >= MAX_DEPTH:
            raise WorkflowError(f"node {node.id}: subgraphs nest deeper than {MAX_DEPTH} levels "
                                "(a subgraph that contains itself?)")
        if node.type in subgraphs:
            queue.extend(expand_subgraph(flat, node, subgraphs[node.type]))
        elif group_node_name(node.type) in groups:
            queue.extend(expand_group_node(flat, node, groups[group_node_name(node.type)], catalogue))


def _mute_if(instance, inner_nodes):
    if instance.mode == MODE_NEVER:
        for inner in inner_nodes:
            inner.mode = MODE_NEVER


def _repoint_outputs(flat, instance, origin_of_output):
    """Links leaving instance's output k now leave origin_of_output(k) = (id, slot) or None."""
    for key, link in list(flat.links.items()):
        if link.origin_id != instance.id:
            continue
        origin = origin_of_output(link.origin_slot)
        if origin is None:
            flat.drop_link(key)
        else:
            link.origin_id, link.origin_slot = origin


def expand_subgraph(flat, instance, definition):
    scope = ("subgraph", instance.id)
    inner = flat.add_scope(definition.get("nodes") or [], definition.get("links") or [],
                           f"{instance.id}:", scope)
    _mute_if(instance, inner)
    widget_inputs = [slot for slot in instance.inputs if slot.widget]
    values = instance.widgets_values if isinstance(instance.widgets_values, list) else []
    widget_values = {id(slot): values[i] for i, slot in enumerate(widget_inputs) if i < len(values)}
    for slot in instance.inputs:   # set by an enclosing subgraph: wins over the stored value
        if slot.input_name in instance.literals:
            widget_values[id(slot)] = instance.literals[slot.input_name]

    for key, link in list(flat.links.items()):
        if key[0] != scope or link.origin_id != SUBGRAPH_INPUT_ID:
            continue
        outer_slot = instance.inputs[link.origin_slot] if link.origin_slot < len(instance.inputs) else None
        outer = flat.links.get(outer_slot.link) if outer_slot and outer_slot.link else None
        if outer is not None:
            link.origin_id, link.origin_slot = outer.origin_id, outer.origin_slot
            continue
        target = flat.nodes.get(link.target_id)
        if outer_slot is not None and id(outer_slot) in widget_values and target is not None \
                and link.target_slot < len(target.inputs):
            target.literals[target.inputs[link.target_slot].input_name] = widget_values[id(outer_slot)]
        flat.drop_link(key)

    outputs = {}
    for key, link in list(flat.links.items()):
        if key[0] == scope and link.target_id == SUBGRAPH_OUTPUT_ID:
            outputs.setdefault(link.target_slot, (link.origin_id, link.origin_slot))
            del flat.links[key]
    _repoint_outputs(flat, instance, outputs.get)
    del flat.nodes[instance.id]
    return inner


class _GroupLayout:
    """Where a legacy group node's inputs, outputs and widgets live among its inner nodes
    (the order ComfyUI's group node builder gives them)."""

    def __init__(self, config, catalogue):
        self.nodes = config.get("nodes") or []
        links = [l for l in config.get("links") or [] if isinstance(l, (list, tuple)) and len(l) >= 4]
        self.links = [l for l in links if l[0] is not None]
        self.links_to = {}
        self.links_from = {}
        for link in self.links:
            self.links_to.setdefault(link[2], {})[link[3]] = link
            self.links_from.setdefault(link[0], {}).setdefault(link[1], []).append(link)
        self.external = {}
        for item in config.get("external") or []:
            self.external.setdefault(item[0], {})[item[1]] = item[2]
        self.custom = config.get("config") or {}
        self.inputs, self.outputs, self.widgets = [], [], []
        converted_later = []
        for index, raw in enumerate(self.nodes):
            converted_later.append(self._add_node(index, raw, catalogue))
        for index, converted in enumerate(converted_later):
            for position, slot in converted:
                if position not in self.links_to.get(index, {}):
                    self.inputs.append((index, position))
                    self.widgets.append((index, slot))

    def _add_node(self, index, raw, catalogue):
        node_type = raw.get("type")
        linked_in = self.links_to.get(index, {})
        if node_type == "PrimitiveNode":
            if self.links_from.get(index):
                self.widgets.append((index, "primitive"))
                self._add_outputs(index, 1)
            return []
        if node_type == "Reroute":
            used_inside = linked_in and self.links_from.get(index) and not self.external.get(index, {}).get(0)
            if not used_inside:
                if 0 not in linked_in:
                    self.inputs.append((index, 0))
                self._add_outputs(index, 1)
            return []
        info = catalogue.get(node_type)
        if info is None:
            return []
        raw_inputs = raw.get("inputs") or []
        converted_names = {s.get("name"): i for i, s in enumerate(raw_inputs)
                           if isinstance(s, dict) and isinstance(s.get("widget"), dict)}
        slots = {s.name: s for s in widget_slots(info)}
        plain = [name for name in _input_names(info) if name not in slots]
        for name, slot in slots.items():
            if name not in converted_names:
                self.widgets.append((index, slot))
        for position, _ in enumerate(plain):
            if position not in linked_in:
                self.inputs.append((index, position))
        self._add_outputs(index, len(info.get("output") or []))
        ordered = sorted((i, name) for name, i in converted_names.items() if name in slots)
        return [(len(plain) + k, slots[name]) for k, (_, name) in enumerate(ordered)]

    def _add_outputs(self, index, count):
        for slot in range(count):
            internal = self.links_from.get(index, {}).get(slot) and not self.external.get(index, {}).get(slot)
            custom = ((self.custom.get(str(index)) or {}).get("output") or {}).get(str(slot)) or {}
            if custom.get("visible", not internal):
                self.outputs.append((index, slot))


def _input_names(info):
    sections = info.get("input") or {}
    return list(sections.get("required") or {}) + list(sections.get("optional") or {})


def expand_group_node(flat, instance, config, catalogue):
    layout = _GroupLayout(config, catalogue)
    prefix = f"{instance.id}:"
    inner = []
    for index, raw in enumerate(layout.nodes):
        raw = dict(raw, id=index)
        node = read_node(raw, prefix, None)
        for slot in node.inputs:
            slot.link = None
        node.mode = raw.get("mode", 0) if isinstance(raw.get("mode"), int) else 0
        flat.nodes[node.id] = node
        inner.append(node)
    _mute_if(instance, inner)

    def inner_input(index, position):
        node = inner[index]
        while len(node.inputs) <= position:
            node.inputs.append(Slot(f"input{len(node.inputs)}", "*"))
        return node.inputs[position]

    for number, link in enumerate(layout.links):
        key = ("group", instance.id, number)
        flat.links[key] = Link(f"{prefix}{link[0]}", int(link[1]), f"{prefix}{link[2]}", int(link[3]),
                               link[5] if len(link) > 5 else None)
        inner_input(link[2], int(link[3])).link = key
    for number, (index, position) in enumerate(layout.inputs):
        outer_slot = instance.inputs[number] if number < len(instance.inputs) else None
        outer = flat.links.get(outer_slot.link) if outer_slot and outer_slot.link else None
        if outer is not None:
            key = ("group-input", instance.id, number)
            flat.links[key] = Link(outer.origin_id, outer.origin_slot, inner[index].id, position, outer.type)
            inner_input(index, position).link = key
    _apply_group_widgets(layout, inner, instance.widgets_values)
    _repoint_outputs(flat, instance, lambda k: (inner[layout.outputs[k][0]].id, layout.outputs[k][1])
                     if k < len(layout.outputs) else None)
    del flat.nodes[instance.id]
    return inner


def _apply_group_widgets(layout, inner, widgets_values):
    values = list(widgets_values) if isinstance(widgets_values, list) else []
    position = 0
    for index, slot in layout.widgets:
        if position >= len(values):
            return
        value = values[position]
        if slot == "primitive":
            inner[index].widgets_values = [value]
            has_control, has_upload = True, False
        else:
            inner[index].literals[slot.name] = value
            has_control, has_upload = slot.has_control, slot.has_upload
        position, _, _ = skip_extra_values(values, position + 1, has_control, has_upload)
