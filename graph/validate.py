"""Check an API-format prompt against the node schemas, with ComfyUI's error shapes.

validate_prompt never changes what it is given: it works on a deep copy, coerces
literals there (INT "5" -> 5, ...), and returns that copy as ValidationResult.prompt.
An output is returned in `outputs` only when it and its whole ancestry validate.
"""
import copy
import traceback
from dataclasses import dataclass, field

import networkx as nx

from graph.node_schema import (HIDDEN_PROMPT, HIDDEN_UNIQUE_ID, SchemaBook,
                               accepted_parameters, resolve_awaitable, types_match)


@dataclass
class ValidationResult:
    ok: bool
    error: dict | None
    outputs: list
    node_errors: dict
    prompt: dict | None = field(default=None)


def _error(type_, message, details="", extra_info=None):
    return {"type": type_, "message": message, "details": details,
            "extra_info": extra_info if extra_info is not None else {}}


def _full_type_name(exc):
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in (None, "builtins") else f"{module}.{cls.__qualname__}"


def _is_link(value):
    return isinstance(value, list) and len(value) == 2


def _coerce_boolean(value):
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return bool(value)


_COERCERS = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": _coerce_boolean}


def validate_prompt(prompt, node_classes, partial_targets=None):
    """Validate `prompt`; returns ValidationResult(ok, error, outputs, node_errors, prompt)."""
    if not isinstance(prompt, dict):
        return ValidationResult(False, _error(
            "invalid_prompt", "Cannot execute because the prompt is not an object of nodes.",
            f"got {type(prompt).__name__}"), [], {})
    work = copy.deepcopy(prompt)
    for node_id, node in work.items():
        if not isinstance(node, dict) or "class_type" not in node:
            return ValidationResult(False, _error(
                "invalid_prompt",
                "Cannot execute because a node is missing the class_type property.",
                f"Node ID '#{node_id}'"), [], {})
        if not isinstance(node.get("inputs", {}), dict):
            return ValidationResult(False, _error(
                "invalid_prompt", "Cannot execute because a node's inputs are not an object.",
                f"Node ID '#{node_id}'"), [], {})
        node.setdefault("inputs", {})
        class_type = node["class_type"]
        if not isinstance(class_type, str) or class_type not in node_classes:
            meta = node.get("_meta") if isinstance(node.get("_meta"), dict) else {}
            return ValidationResult(False, _error(
                "missing_node_type", f"Cannot execute because node {class_type} does not exist.",
                f"Node ID '#{node_id}'",
                {"node_id": node_id, "class_type": class_type,
                 "node_title": meta.get("title", class_type)}), [], {})

    if partial_targets is not None:
        for target in partial_targets:
            if str(target) not in work:
                return ValidationResult(False, _error(
                    "invalid_partial_target",
                    f"Cannot execute because partial execution target '{target}' "
                    "is not a node of the prompt.", f"Node ID '#{target}'",
                    {"node_id": str(target)}), [], {})
        partial_targets = {str(t) for t in partial_targets}

    book = SchemaBook(node_classes)
    outputs = []
    for node_id, node in work.items():
        if partial_targets is not None and node_id not in partial_targets:
            continue
        if getattr(node_classes[node["class_type"]], "OUTPUT_NODE", False) is True:
            outputs.append(node_id)
    if not outputs:
        return ValidationResult(False, _error("prompt_no_outputs", "Prompt has no outputs"),
                                [], {})

    checker = _Checker(work, book, outputs)
    good_outputs, node_errors, failed_reasons = checker.run()
    if not good_outputs:
        details = "\n".join(f"{e['message']}: {e['details']}" for e in failed_reasons)
        return ValidationResult(False, _error("prompt_outputs_failed_validation",
                                              "Prompt outputs failed validation", details),
                                [], node_errors, work)
    return ValidationResult(True, None, good_outputs, node_errors, work)


class _Checker:
    """Checks each node reachable from the outputs once, then spreads failures downstream."""

    def __init__(self, work, book, outputs):
        self.work = work
        self.book = book
        self.outputs = outputs
        self.own_errors = {}

    def run(self):
        graph = self._ancestry_graph()
        in_cycle = set()
        for component in nx.strongly_connected_components(graph):
            if len(component) > 1 or any(graph.has_edge(n, n) for n in component):
                in_cycle |= component
        for node_id in graph.nodes:
            if node_id in in_cycle:
                members = ", ".join(sorted(n for n in in_cycle))
                self.own_errors[node_id] = [_error(
                    "dependency_cycle", "Dependency cycle detected",
                    f"Node '#{node_id}' depends on itself through: {members}",
                    {"node_id": node_id})]
            else:
                self.own_errors[node_id] = self._check_safely(node_id, graph)

        valid = {}
        acyclic = graph.subgraph(n for n in graph.nodes if n not in in_cycle)
        for node_id in nx.topological_sort(acyclic):
            valid[node_id] = (not self.own_errors[node_id]
                              and all(valid.get(src, False) for src in graph.predecessors(node_id)))
        for node_id in in_cycle:
            valid[node_id] = False

        good_outputs, node_errors, failed_reasons = [], {}, []
        for output in self.outputs:
            if valid.get(output):
                good_outputs.append(output)
                continue
            failed_reasons += self.own_errors.get(output, [])
            for node_id in [output] + sorted(nx.ancestors(graph, output), key=self._order):
                reasons = self.own_errors.get(node_id)
                if not reasons:
                    continue
                entry = node_errors.setdefault(node_id, {
                    "errors": reasons, "dependent_outputs": [],
                    "class_type": self.work[node_id]["class_type"]})
                entry["dependent_outputs"].append(output)
        return good_outputs, node_errors, failed_reasons

    def _order(self, node_id):
        if not hasattr(self, "_positions"):
            self._positions = {n: i for i, n in enumerate(self.work)}
        return self._positions[node_id]

    def _ancestry_graph(self):
        graph = nx.DiGraph()
        todo = list(self.outputs)
        while todo:
            node_id = todo.pop()
            if node_id in graph and graph.nodes[node_id].get("seen"):
                continue
            graph.add_node(node_id, seen=True)
            for value in self.work[node_id]["inputs"].values():
                if _is_link(value) and str(value[0]) in self.work:
                    source = str(value[0])
                    graph.add_edge(source, node_id)
                    todo.append(source)
        return graph

    def _check_safely(self, node_id, graph):
        try:
            return self._check_node(node_id)
        except Exception as exc:
            tb = traceback.format_tb(exc.__traceback__)
            if node_id in self.outputs:
                return [_error("exception_during_validation", "Exception when validating node",
                               str(exc), {"exception_type": _full_type_name(exc),
                                          "traceback": tb})]
            extra = {"exception_message": str(exc), "exception_type": _full_type_name(exc),
                     "traceback": tb}
            consumer = self._first_consumer(node_id, graph)
            if consumer is not None:
                consumer_id, input_name, link = consumer
                extra.update(input_name=input_name, linked_node=link,
                             input_config=self._input_config(consumer_id, input_name))
            return [_error("exception_during_inner_validation",
                           "Exception when validating inner node", str(exc), extra)]

    def _first_consumer(self, node_id, graph):
        for consumer_id in sorted(graph.successors(node_id), key=self._order):
            for name, value in self.work[consumer_id]["inputs"].items():
                if _is_link(value) and str(value[0]) == node_id:
                    return consumer_id, name, value
        return None

    def _input_config(self, node_id, input_name):
        try:
            input_type, _, options = self.book.get(self.work[node_id]["class_type"]).input_info(
                input_name)
            return [input_type, options]
        except Exception:
            return None

    def _check_node(self, node_id):
        node = self.work[node_id]
        inputs = node["inputs"]
        schema = self.book.get(node["class_type"])
        node_class = schema.node_class
        validate_params, validate_kwargs = set(), False
        if schema.has_validate_inputs:
            validate_params, validate_kwargs = accepted_parameters(node_class.VALIDATE_INPUTS)
        errors, received_types = [], {}

        for name in schema.valid_input_names:
            input_type, category, options = schema.input_info(name)
            info = [input_type, options]
            if name not in inputs:
                if category == "required":
                    title = (node.get("_meta") or {}).get("title") or node["class_type"]
                    errors.append(_error("required_input_missing", "Required input is missing",
                                         f"{name} (node #{node_id} '{title}')", {"input_name": name}))
                continue
            value = inputs[name]
            if isinstance(value, list):
                error = self._check_link(name, value, input_type, info, validate_params,
                                         received_types)
                if error:
                    errors.append(error)
                continue
            error = self._check_literal(inputs, name, value, input_type, options, info,
                                        skip_ranges=name in validate_params or validate_kwargs)
            if error:
                errors.append(error)

        if schema.has_validate_inputs:
            errors += self._custom_validation(node_id, schema, validate_params, validate_kwargs,
                                              received_types)
        return errors

    def _check_link(self, name, value, input_type, info, validate_params, received_types):
        if len(value) != 2:
            return _error("bad_linked_input",
                          "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                          f"{name}", {"input_name": name, "input_config": info,
                                      "received_value": value})
        source_id, index = str(value[0]), value[1]
        if source_id not in self.work:
            return _error("bad_linked_input", "Bad linked input, the linked node does not exist",
                          f"{name}: node '{source_id}' is not in the prompt",
                          {"input_name": name, "input_config": info, "received_value": value,
                           "linked_node": value})
        return_types = self.book.get(self.work[source_id]["class_type"]).return_types
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(
                return_types):
            return _error("bad_linked_input", "Bad linked input, no such output on the linked node",
                          f"{name}: node '{source_id}' has {len(return_types)} output(s), "
                          f"got index {index!r}",
                          {"input_name": name, "input_config": info, "received_value": value,
                           "linked_node": value})
        received = return_types[index]
        received_types[name] = received
        if "input_types" not in validate_params and not types_match(received, input_type):
            return _error("return_type_mismatch", "Return type mismatch between linked nodes",
                          f"{name}, received_type({received}) mismatch input_type({input_type})",
                          {"input_name": name, "input_config": info, "received_type": received,
                           "linked_node": value})
        return None

    def _check_literal(self, inputs, name, value, input_type, options, info, skip_ranges):
        if isinstance(value, dict) and "__value__" in value:
            value = value["__value__"]
            inputs[name] = value
        coerce = _COERCERS.get(input_type) if isinstance(input_type, str) else None
        if coerce is not None:
            try:
                value = coerce(value)
                inputs[name] = value
            except Exception as exc:
                return _error("invalid_input_type",
                              f"Failed to convert an input value to a {input_type} value",
                              f"{name}, {value}, {exc}",
                              {"input_name": name, "input_config": info, "received_value": value,
                               "exception_message": str(exc)})
        if skip_ranges:
            return None
        try:
            if "min" in options and value < options["min"]:
                return _error("value_smaller_than_min",
                              f"Value {value} smaller than min of {options['min']}", f"{name}",
                              {"input_name": name, "input_config": info, "received_value": value})
            if "max" in options and value > options["max"]:
                return _error("value_bigger_than_max",
                              f"Value {value} bigger than max of {options['max']}", f"{name}",
                              {"input_name": name, "input_config": info, "received_value": value})
        except TypeError as exc:
            return _error("invalid_input_type", "Input value cannot be compared to its range",
                          f"{name}, {value!r}, {exc}",
                          {"input_name": name, "input_config": info, "received_value": value,
                           "exception_message": str(exc)})
        if isinstance(input_type, list) and value not in input_type:
            if len(input_type) > 20:
                list_info, input_config = f"(list of length {len(input_type)})", None
            else:
                list_info, input_config = str(input_type), info
            return _error("value_not_in_list", "Value not in list",
                          f"{name}: '{value}' not in {list_info}",
                          {"input_name": name, "input_config": input_config,
                           "received_value": value})
        return None

    def _custom_validation(self, node_id, schema, params, has_kwargs, received_types):
        arguments = {}
        for name, value in self.work[node_id]["inputs"].items():
            declared = schema.input_info(name)[1] in ("required", "optional")
            if isinstance(value, list):
                arguments[name] = None
            elif declared:
                arguments[name] = value
        for name, kind in schema.hidden_kinds().items():
            if kind == HIDDEN_PROMPT:
                arguments[name] = self.work
            elif kind == HIDDEN_UNIQUE_ID:
                arguments[name] = node_id
            else:
                arguments[name] = None
        filtered = {k: v for k, v in arguments.items() if has_kwargs or k in params}
        if "input_types" in params:
            filtered["input_types"] = received_types
        result = resolve_awaitable(schema.node_class.VALIDATE_INPUTS(**filtered))
        if result is True:
            return []
        details_suffix = "" if result is False else f" - {result}"
        names = list(filtered) or [None]
        return [_error("custom_validation_failed", "Custom validation failed for node",
                       f"{name}{details_suffix}", {"input_name": name}) for name in names]
