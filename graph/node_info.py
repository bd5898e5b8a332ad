"""Describe node classes in ComfyUI's /object_info shape, and a lazy catalogue of them.

The catalogue is what the UI-workflow converter reads to line widget values up with
input names; it describes a class the first time it is asked for it, so converting a
workflow costs INPUT_TYPES calls for the nodes it uses only.
"""
from collections.abc import Mapping


def describe_node(class_type: str, cls: type, display_name: str | None, python_module: str) -> dict:
    """One node in ComfyUI's /object_info shape."""
    input_types = cls.INPUT_TYPES()
    inputs = {}
    order = {}
    for section in ("required", "optional", "hidden"):
        if section in input_types:
            inputs[section] = input_types[section]
            order[section] = list(input_types[section].keys())
    outputs = list(getattr(cls, "RETURN_TYPES", ()))
    output_is_list = getattr(cls, "OUTPUT_IS_LIST", None) or [False] * len(outputs)
    info = {
        "input": inputs,
        "input_order": order,
        "output": outputs,
        "output_is_list": list(output_is_list),
        "output_name": list(getattr(cls, "RETURN_NAMES", None) or outputs),
        "name": class_type,
        "display_name": display_name or class_type,
        "description": getattr(cls, "DESCRIPTION", ""),
        "python_module": python_module,
        "category": getattr(cls, "CATEGORY", "sd"),
        "output_node": bool(getattr(cls, "OUTPUT_NODE", False)),
    }
    if hasattr(cls, "OUTPUT_TOOLTIPS"):
        info["output_tooltips"] = list(cls.OUTPUT_TOOLTIPS)
    for flag in ("DEPRECATED", "EXPERIMENTAL"):
        if getattr(cls, flag, False):
            info[flag.lower()] = True
    return info


class NodeCatalogue(Mapping):
    """{class_type: /object_info entry} over a {class_type: node class} mapping."""

    def __init__(self, node_classes, display_names=None, modules=None):
        self.node_classes = node_classes
        self.display_names = display_names or {}
        self.modules = modules or {}
        self._described = {}

    def __getitem__(self, class_type):
        if class_type not in self._described:
            cls = self.node_classes[class_type]
            self._described[class_type] = describe_node(
                class_type, cls, self.display_names.get(class_type), self.modules.get(class_type, "nodes"))
        return self._described[class_type]

    def __contains__(self, class_type):
        return class_type in self.node_classes

    def __iter__(self):
        return iter(self.node_classes)

    def __len__(self):
        return len(self.node_classes)
