"""Calling a node function with ComfyUI's list semantics, and reading what it returns.

Every output slot holds a list. A node without INPUT_IS_LIST is called once per
index up to its longest input list (shorter lists repeat their last element);
INPUT_IS_LIST nodes get the whole lists in one call. Results are merged per slot:
OUTPUT_IS_LIST slots are concatenated, the others collect one value per call.
"""
import inspect

from graph.context import ExecutionBlocker
from graph.errors import NodeDefinitionError
from graph.execution_list import is_link
from graph.node_schema import (HIDDEN_DYNPROMPT, HIDDEN_EXTRA_PNGINFO, HIDDEN_PROMPT,
                               HIDDEN_UNIQUE_ID)


def gather_inputs(node_id, node, schema, store, dynprompt, extra_data):
    """({input name: list of values}, names of linked inputs not available yet)."""
    inputs, missing = {}, set()
    for name, value in node.get("inputs", {}).items():
        category = schema.input_info(name)[1]
        if is_link(value):
            outputs = store.get(str(value[0]))
            index = value[1]
            if outputs is None or not isinstance(index, int) or index >= len(outputs):
                missing.add(name)
                inputs[name] = [None]
            else:
                inputs[name] = outputs[index]
        elif category in ("required", "optional"):
            inputs[name] = [value]
    for name, kind in schema.hidden_kinds().items():
        if kind == HIDDEN_PROMPT:
            inputs[name] = [dynprompt.original]
        elif kind == HIDDEN_DYNPROMPT:
            inputs[name] = [dynprompt]
        elif kind == HIDDEN_EXTRA_PNGINFO:
            inputs[name] = [extra_data.get("extra_pnginfo")]
        elif kind == HIDDEN_UNIQUE_ID:
            inputs[name] = [node_id]
        else:
            inputs[name] = [None]
    return inputs, missing


def _first_blocker(values, whole_lists):
    for value in values:
        if whole_lists and isinstance(value, list):
            for item in value:
                if isinstance(item, ExecutionBlocker):
                    return item
        elif isinstance(value, ExecutionBlocker):
            return value
    return None


def map_over_lists(fn, inputs, input_is_list, on_blocker=None):
    """Call fn once per list index (or once with whole lists); a call that would get an
    ExecutionBlocker is skipped and yields the blocker (passed through on_blocker)."""
    if input_is_list or not inputs:
        calls = [dict(inputs)]
    elif any(len(values) == 0 for values in inputs.values()):
        calls = []
    else:
        length = max(len(values) for values in inputs.values())
        calls = [{name: values[i] if i < len(values) else values[-1]
                  for name, values in inputs.items()} for i in range(length)]
    results = []
    for arguments in calls:
        blocker = _first_blocker(arguments.values(), whole_lists=input_is_list)
        if blocker is not None:
            results.append(on_blocker(blocker) if on_blocker else blocker)
        else:
            results.append(fn(**arguments))
    return results


class LinkedValues(list):
    """The list of values an expanded node's result links to (extended, not appended)."""


def parse_returns(results, schema):
    """(outputs, ui, expansions) from the per-call return values of a node.

    expansions is None unless a call returned {"expand": ...}; then it is a list with,
    per call, (subgraph or None, result tuple) and outputs is None.
    """
    slots = len(schema.return_types)
    per_call, uis, expansions = [], [], []
    has_expansion = False
    for value in results:
        subgraph = None
        if isinstance(value, dict):
            if "ui" in value and value["ui"] is not None:
                uis.append(value["ui"])
            if "expand" in value:
                has_expansion = True
                subgraph = value["expand"]
            value = value.get("result", (None,) * slots)
        if isinstance(value, ExecutionBlocker):
            value = (value,) * slots
        elif value is None and not slots:
            value = ()
        elif isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, tuple):
            raise NodeDefinitionError(
                f"{schema.class_type}.{schema.function} must return a tuple of {slots} value(s) "
                f"(or a dict with 'result'), got {type(value).__name__}")
        if len(value) < slots:
            raise NodeDefinitionError(
                f"{schema.class_type}.{schema.function} returned {len(value)} value(s) but "
                f"RETURN_TYPES declares {slots}")
        per_call.append(value)
        expansions.append((subgraph, value))
    ui = merge_ui(uis)
    if has_expansion:
        return None, ui, expansions
    return merge_outputs(per_call, schema), ui, None


def merge_outputs(per_call, schema):
    """One list per output slot from the per-call result tuples."""
    outputs = []
    for index in range(len(schema.return_types)):
        values = []
        for result in per_call:
            value = result[index]
            if isinstance(value, LinkedValues):
                values.extend(value)
            elif schema.output_is_list_at(index) and not isinstance(value, ExecutionBlocker):
                values.extend(value)
            else:
                values.append(value)
        outputs.append(values)
    return outputs


def merge_ui(uis):
    """Concatenate the ui dicts of several calls key by key."""
    if not uis:
        return None
    if len(uis) == 1:
        return uis[0]
    merged = {}
    for ui in uis:
        for key, value in ui.items():
            merged.setdefault(key, [])
            if isinstance(value, list):
                merged[key].extend(value)
            else:
                merged[key].append(value)
    return merged


def has_awaitables(results):
    return any(inspect.isawaitable(r) for r in results)


async def await_all(results):
    """Await every awaitable in results (concurrently), keeping order."""
    import asyncio

    pending = [r for r in results if inspect.isawaitable(r)]
    done = iter(await asyncio.gather(*pending))
    return [next(done) if inspect.isawaitable(r) else r for r in results]


def describe_value(value, depth=0):
    """A JSON-safe description of a value for error reports (tensors by shape only)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= 2000 else value[:2000] + "..."
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, type):
        dtype = getattr(value, "dtype", None)
        try:
            shape = [int(s) for s in shape]
        except Exception:
            shape = str(shape)
        return f"{type(value).__name__}(shape={shape}, dtype={dtype})"
    if depth < 3 and isinstance(value, (list, tuple)):
        items = [describe_value(v, depth + 1) for v in list(value)[:20]]
        return items + ["..."] if len(value) > 20 else items
    if depth < 3 and isinstance(value, dict):
        return {str(k): describe_value(v, depth + 1) for k, v in list(value.items())[:20]}
    return f"<{type(value).__name__}>"
