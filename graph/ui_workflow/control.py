"""control_after_generate: what happens to a seed (or combo) widget after each queue.

fixed keeps it, increment/decrement step it within its min/max, randomize draws a new
value (ComfyUI draws seeds below 2**50 so they survive JavaScript's numbers).
"""
import random

from graph.ui_workflow.widgets import CONTROL_VALUES, SEED_NAMES, read_widgets_values, widget_slots

RANDOM_MAX = 1125899906842624


def next_value(mode, value, input_type, options, rng):
    if mode == "fixed" or mode not in CONTROL_VALUES:
        return value
    if isinstance(input_type, list):
        if not input_type:
            return value
        if mode == "randomize":
            return rng.choice(input_type)
        index = input_type.index(value) if value in input_type else 0
        step = 1 if mode == "increment" else -1
        return input_type[max(0, min(len(input_type) - 1, index + step))]
    low = options.get("min", 0)
    high = min(options.get("max", RANDOM_MAX), RANDOM_MAX)
    step = options.get("step", 1)
    if mode == "randomize":
        return rng.randrange(int(low), int(high) + 1) if input_type == "INT" else rng.uniform(low, high)
    try:
        new = value + (step if mode == "increment" else -step)
    except TypeError:
        return value
    return max(low, min(options.get("max", new), new))


def apply_to_ui(workflow, catalogue, mode=None, rng=None):
    """Apply every control widget of a UI workflow in place, as ComfyUI's editor does after
    a queue. `mode` overrides the widgets' own setting, for seeds only (a primitive node
    counts as a seed when it feeds a seed input).

    Returns [(node id, input name, old, new)] for the values that changed."""
    rng = rng or random.Random()
    changes = []
    for node in workflow.get("nodes") or []:
        values = node.get("widgets_values")
        if not isinstance(values, list):
            continue
        if node.get("type") == "PrimitiveNode":
            if len(values) >= 2 and values[1] in CONTROL_VALUES:
                chosen = mode if mode and _primitive_widget(node) in SEED_NAMES else values[1]
                new = next_value(chosen, values[0], "INT" if isinstance(values[0], int) else "FLOAT",
                                 {}, rng) if not isinstance(values[0], (str, bool)) else values[0]
                if new != values[0]:
                    changes.append((node.get("id"), "value", values[0], new))
                    values[0] = new
            continue
        info = catalogue.get(node.get("type"))
        if info is None:
            continue
        slots = widget_slots(info)
        read = read_widgets_values(slots, values)
        for slot in slots:
            if slot.name in read.controls:
                position = read.positions[slot.name]
                chosen = mode if mode and slot.name in SEED_NAMES else read.controls[slot.name]
                new = next_value(chosen, values[position], slot.type, slot.options, rng)
                if new != values[position]:
                    changes.append((node.get("id"), slot.name, values[position], new))
                    values[position] = new
    return changes


def _primitive_widget(node):
    outputs = node.get("outputs") or [{}]
    widget = outputs[0].get("widget") if isinstance(outputs[0], dict) else None
    return widget.get("name") if isinstance(widget, dict) else None


def apply_to_api(prompt, catalogue, mode, rng=None):
    """Apply `mode` to every control input (seeds) of an API prompt in place."""
    rng = rng or random.Random()
    changes = []
    for node_id, entry in prompt.items():
        info = catalogue.get(entry.get("class_type"))
        if info is None:
            continue
        for slot in widget_slots(info):
            value = entry["inputs"].get(slot.name)
            if not slot.has_control or value is None or isinstance(value, list):
                continue
            new = next_value(mode, value, slot.type, slot.options, rng)
            if new != value:
                changes.append((node_id, slot.name, value, new))
                entry["inputs"][slot.name] = new
    return changes


def set_widget(workflow, catalogue, node_id, input_name, value):
    """Write `value` into a top-level node's widget in a UI workflow, in place, so that the
    workflow a run embeds in its outputs reproduces that run. A widget driven by a primitive
    node gets the value on the primitive. False when there is no such widget to change (a
    subgraph's inner node, an input that is not a widget, one linked to a real node)."""
    nodes = {str(n.get("id")): n for n in workflow.get("nodes") or [] if isinstance(n, dict)}
    node = nodes.get(str(node_id))
    if node is None or not isinstance(node.get("widgets_values"), list):
        return False
    for slot in node.get("inputs") or []:
        widget = slot.get("widget") if isinstance(slot, dict) else None
        if isinstance(widget, dict) and widget.get("name") == input_name and slot.get("link") is not None:
            origin = _link_origin(workflow, slot["link"])
            source = nodes.get(str(origin))
            if source is not None and source.get("type") == "PrimitiveNode" and source.get("widgets_values"):
                source["widgets_values"][0] = value
                return True
            return False
    info = catalogue.get(node.get("type"))
    if info is None:
        return False
    read = read_widgets_values(widget_slots(info), node["widgets_values"])
    if input_name not in read.positions:
        return False
    node["widgets_values"][read.positions[input_name]] = value
    return True


def _link_origin(workflow, link_id):
    for link in workflow.get("links") or []:
        if isinstance(link, dict) and link.get("id") == link_id:
            return link.get("origin_id")
        if isinstance(link, (list, tuple)) and len(link) >= 5 and link[0] == link_id:
            return link[1]
    return None
