"""Which inputs of a node are widgets, and how `widgets_values` lines up with them.

ComfyUI's editor stores a node's widget values as one positional list: the widget
inputs in INPUT_TYPES order (required, then optional), where a widget input is an
INT, FLOAT, STRING, BOOLEAN or combo input without `forceInput`. Two widgets add a
value of their own after the input's: the control_after_generate combo after a seed
(fixed/increment/decrement/randomize) and the upload button after LoadImage's image.
"""
from dataclasses import dataclass

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
CONTROL_VALUES = ("fixed", "increment", "decrement", "randomize")
SEED_NAMES = ("seed", "noise_seed")


@dataclass(frozen=True)
class WidgetSlot:
    """One widget input of a node type, in widgets_values order."""
    name: str
    type: object            # "INT", "FLOAT", ... or the list of combo choices
    options: dict
    required: bool
    has_control: bool       # a control_after_generate value follows
    has_upload: bool        # an image-upload value follows


def input_spec(spec):
    """(type, options) of an INPUT_TYPES entry; ("COMBO", {"options": [...]}) gives the list."""
    if isinstance(spec, (list, tuple)) and spec:
        input_type = spec[0]
        options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    else:
        input_type, options = spec, {}
    if input_type == "COMBO" and isinstance(options.get("options"), (list, tuple)):
        input_type = list(options["options"])
    if isinstance(input_type, tuple):
        input_type = list(input_type)
    return input_type, options


def is_widget(input_type, options):
    if options.get("forceInput"):
        return False
    return isinstance(input_type, list) or input_type in WIDGET_TYPES


def ordered_inputs(info):
    """[(name, spec, required)] of an /object_info entry, required first, in declared order."""
    sections = info.get("input") or {}
    order = info.get("input_order") or {}
    result = []
    for section in ("required", "optional"):
        specs = sections.get(section) or {}
        for name in order.get(section) or list(specs):
            if name in specs:
                result.append((name, specs[name], section == "required"))
    return result


def widget_slots(info):
    """The WidgetSlots of a node type described by its /object_info entry."""
    slots = []
    for name, spec, required in ordered_inputs(info):
        input_type, options = input_spec(spec)
        if not is_widget(input_type, options):
            continue
        has_control = bool(options.get("control_after_generate")) or (
            input_type == "INT" and name in SEED_NAMES)
        slots.append(WidgetSlot(name, input_type, options, required, has_control,
                                bool(options.get("image_upload"))))
    return slots


@dataclass
class WidgetValues:
    values: dict            # input name -> value
    controls: dict          # input name -> control mode, where the workflow has one
    leftover: list          # values past the last widget (a schema that shrank)
    positions: dict         # input name -> index of its value in widgets_values


def read_widgets_values(slots, widgets_values):
    """Map a node's widgets_values (a list, or a {name: value} dict) onto its widget inputs."""
    if isinstance(widgets_values, dict):
        values = {s.name: widgets_values[s.name] for s in slots if s.name in widgets_values}
        return WidgetValues(values, {}, [], {})
    items = list(widgets_values or [])
    values, controls, positions = {}, {}, {}
    position = 0
    upload_seen = False
    for slot in slots:
        if position >= len(items):
            break
        values[slot.name] = items[position]
        positions[slot.name] = position
        position, control, uploaded = skip_extra_values(items, position + 1, slot.has_control, slot.has_upload)
        if control is not None:
            controls[slot.name] = control
        upload_seen = upload_seen or uploaded
    leftover = items[position:]
    if leftover and leftover[0] in ("image", None) and any(s.has_upload for s in slots) and not upload_seen:
        leftover = leftover[1:]   # older editors put the upload button's value after all widgets
    return WidgetValues(values, controls, leftover, positions)


def skip_extra_values(items, position, has_control, has_upload):
    """Step over the values that may follow a widget's own: its control_after_generate
    mode and its upload button. -> (next position, control mode or None, upload seen)."""
    control = None
    if has_control and position < len(items) and items[position] in CONTROL_VALUES:
        control = items[position]
        position += 1
    uploaded = has_upload and position < len(items) and items[position] in ("image", None)
    return position + uploaded, control, uploaded


def as_literal(value):
    """A widget value as an API input: lists are wrapped, as a bare list means a link."""
    return {"__value__": value} if isinstance(value, list) else value


def write_widgets_values(slots, values, controls=None, default_control="fixed"):
    """The widgets_values list for `values` ({name: value}); missing ones get their default."""
    controls = controls or {}
    items = []
    for slot in slots:
        value = values.get(slot.name, default_value(slot))
        if isinstance(value, dict) and set(value) == {"__value__"}:
            value = value["__value__"]
        items.append(value)
        if slot.has_control:
            items.append(controls.get(slot.name, default_control))
        if slot.has_upload:
            items.append("image")
    return items


def default_value(slot):
    if "default" in slot.options:
        return slot.options["default"]
    if isinstance(slot.type, list):
        return slot.type[0] if slot.type else None
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(slot.type)
