"""Normalise a workflow document to ComfyUI's API format.

API format: {node_id: {"class_type": str, "inputs": {name: literal | [node_id, output_index]},
"_meta": {...}}}. Node ids become strings. A literal list must be wrapped as
{"__value__": [...]}, because a bare list means a link.
"""
import copy
from dataclasses import dataclass, field

from graph.errors import WorkflowError
from graph.ui_workflow import is_ui_workflow, ui_to_api


@dataclass
class LoadedWorkflow:
    """A workflow document made ready to validate: the API prompt and where it came from."""
    prompt: dict
    ui: dict | None = None                          # the UI workflow, when it was one
    notes: list = field(default_factory=list)       # links repaired or dropped on the way
    warnings: list = field(default_factory=list)    # widget values that did not fit


def load(document, catalogue):
    """A UI or API workflow -> LoadedWorkflow; `catalogue` is {class_type: object_info entry}.

    Raises WorkflowError (or its ConversionError, with ComfyUI-shaped errors) on bad input."""
    if is_ui_workflow(document):
        conversion = ui_to_api(document, catalogue)
        return LoadedWorkflow(to_api(conversion.prompt), document, conversion.notes, conversion.warnings)
    return LoadedWorkflow(to_api(document))


def to_api(workflow):
    """Return a normalised deep copy of an API-format workflow, or raise WorkflowError."""
    if not isinstance(workflow, dict):
        raise WorkflowError(
            f"a workflow must be a JSON object of nodes, got {type(workflow).__name__}")
    if is_ui_workflow(workflow):
        raise WorkflowError(
            "this is a UI-format workflow (it has 'nodes' and 'links'): convert it with "
            "graph.workflow.load(document, catalogue)")
    return {str(node_id): _normalise_node(str(node_id), node)
            for node_id, node in workflow.items()}


def _normalise_node(node_id, node):
    if not isinstance(node, dict):
        raise WorkflowError(f"node '{node_id}' must be an object, got {type(node).__name__}")
    class_type = node.get("class_type")
    if not isinstance(class_type, str) or not class_type:
        raise WorkflowError(f"node '{node_id}' has no class_type")
    inputs = node.get("inputs", {})
    if not isinstance(inputs, dict):
        raise WorkflowError(f"node '{node_id}' ({class_type}): 'inputs' must be an object")
    result = {"class_type": class_type, "inputs": {}}
    for name, value in inputs.items():
        result["inputs"][str(name)] = _normalise_input(node_id, class_type, name, value)
    meta = node.get("_meta")
    if isinstance(meta, dict):
        result["_meta"] = copy.deepcopy(meta)
    for key, value in node.items():
        if key not in ("class_type", "inputs", "_meta"):
            result[key] = copy.deepcopy(value)
    return result


def _normalise_input(node_id, class_type, name, value):
    if isinstance(value, (list, tuple)):
        if (len(value) != 2 or not isinstance(value[0], (str, int)) or isinstance(value[0], bool)
                or not isinstance(value[1], int) or isinstance(value[1], bool) or value[1] < 0):
            raise WorkflowError(
                f"node '{node_id}' ({class_type}) input '{name}': a link must be "
                f"[node_id, output_index], got {value!r} (wrap literal lists as "
                f'{{"__value__": [...]}})')
        return [str(value[0]), value[1]]
    return copy.deepcopy(value)
