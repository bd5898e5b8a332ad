"""API-format prompt -> UI workflow (version 0.4) with a readable automatic layout.

Nodes are placed in columns by depth (a node sits one column right of its deepest
input), in id order within a column, so a workflow that arrived as API JSON opens in
the editor as a left-to-right graph.
"""
from graph.ui_workflow.widgets import is_widget, input_spec, ordered_inputs, widget_slots, write_widgets_values

COLUMN_WIDTH = 330
ROW_GAP = 30
SLOT_HEIGHT = 22
WIDGET_HEIGHT = 26
MULTILINE_HEIGHT = 110
TITLE_HEIGHT = 30
NODE_WIDTH = 290
ORIGIN = (50, 50)


def _is_link(value):
    return isinstance(value, list) and len(value) == 2


def _numeric_ids(prompt):
    """{api id: int UI id}; numeric ids are kept, others numbered after the largest."""
    ids = {}
    numeric = [int(k) for k in prompt if k.isdigit()]
    next_id = max(numeric, default=0) + 1
    for key in prompt:
        if key.isdigit():
            ids[key] = int(key)
        else:
            ids[key] = next_id
            next_id += 1
    return ids


def _depths(prompt):
    depths = {}

    def depth(node_id, trail=()):
        if node_id in depths:
            return depths[node_id]
        if node_id in trail:
            return 0
        sources = [v[0] for v in prompt[node_id]["inputs"].values() if _is_link(v) and v[0] in prompt]
        depths[node_id] = 1 + max((depth(s, trail + (node_id,)) for s in sources), default=-1)
        return depths[node_id]

    for node_id in prompt:
        depth(node_id)
    return depths


def api_to_ui(prompt, catalogue):
    """Build a UI workflow from a normalised API prompt ({id: {class_type, inputs, _meta}})."""
    ids = _numeric_ids(prompt)
    nodes, links = {}, []
    for key, entry in prompt.items():
        nodes[key] = _ui_node(ids[key], entry, catalogue.get(entry["class_type"]))
    for key, entry in prompt.items():
        target = nodes[key]
        for name, value in entry["inputs"].items():
            if not _is_link(value) or value[0] not in nodes:
                continue
            origin = nodes[value[0]]
            slot_index = _input_slot(target, name, catalogue.get(entry["class_type"]))
            origin_slot = int(value[1])
            while len(origin["outputs"]) <= origin_slot:
                origin["outputs"].append({"name": f"output{len(origin['outputs'])}", "type": "*",
                                          "links": [], "slot_index": len(origin["outputs"])})
            link_type = origin["outputs"][origin_slot]["type"]
            link_id = len(links) + 1
            links.append([link_id, origin["id"], origin_slot, target["id"], slot_index, link_type])
            target["inputs"][slot_index]["link"] = link_id
            origin["outputs"][origin_slot]["links"].append(link_id)
    _place(nodes, _depths(prompt))
    for order, node in enumerate(sorted(nodes.values(), key=lambda n: n["pos"][0])):
        node["order"] = order
    return {"last_node_id": max((n["id"] for n in nodes.values()), default=0),
            "last_link_id": len(links), "nodes": list(nodes.values()), "links": links,
            "groups": [], "config": {}, "extra": {}, "version": 0.4}


def _ui_node(node_id, entry, info):
    class_type = entry["class_type"]
    inputs = entry["inputs"]
    node = {"id": node_id, "type": class_type, "pos": [0, 0], "size": [NODE_WIDTH, 100],
            "flags": {}, "order": 0, "mode": 0, "inputs": [], "outputs": [],
            "properties": {"Node name for S&R": class_type}, "widgets_values": []}
    title = (entry.get("_meta") or {}).get("title")
    display = (info or {}).get("display_name") or class_type
    if title and title != display:
        node["title"] = title
    if info is None:
        node["inputs"] = [{"name": name, "type": "*", "link": None} for name, v in inputs.items() if _is_link(v)]
        node["widgets_values"] = [v for v in inputs.values() if not _is_link(v)]
        return node
    for name, spec, _ in ordered_inputs(info):
        input_type, options = input_spec(spec)
        if not is_widget(input_type, options):
            node["inputs"].append({"name": name, "type": input_type, "link": None})
        elif _is_link(inputs.get(name)):
            node["inputs"].append({"name": name, "type": "COMBO" if isinstance(input_type, list) else input_type,
                                   "widget": {"name": name}, "link": None})
    values = {k: v for k, v in inputs.items() if not _is_link(v)}
    node["widgets_values"] = write_widgets_values(widget_slots(info), values)
    for index, output_type in enumerate(info.get("output") or []):
        names = info.get("output_name") or []
        node["outputs"].append({"name": names[index] if index < len(names) else str(output_type),
                                "type": output_type, "links": [], "slot_index": index})
    node["size"] = [NODE_WIDTH, _height(node, widget_slots(info))]
    return node


def _height(node, slots):
    """Room for the title, the slot rows and the widgets (a multiline text box is tall)."""
    rows = max(len(node["inputs"]), len(node["outputs"]), 1)
    widgets = sum(MULTILINE_HEIGHT if s.type == "STRING" and s.options.get("multiline") else WIDGET_HEIGHT
                  for s in slots)
    widgets += WIDGET_HEIGHT * sum(1 for s in slots if s.has_control or s.has_upload)
    return TITLE_HEIGHT + SLOT_HEIGHT * rows + widgets + 10


def _input_slot(node, name, info):
    for index, slot in enumerate(node["inputs"]):
        if slot["name"] == name:
            return index
    node["inputs"].append({"name": name, "type": "*", "link": None})
    return len(node["inputs"]) - 1


def _place(nodes, depths):
    columns = {}
    for key in sorted(nodes, key=lambda k: (nodes[k]["id"])):
        columns.setdefault(depths.get(key, 0), []).append(nodes[key])
    for column, members in columns.items():
        y = ORIGIN[1]
        for node in members:
            node["pos"] = [ORIGIN[0] + column * COLUMN_WIDTH, y]
            y += node["size"][1] + ROW_GAP
