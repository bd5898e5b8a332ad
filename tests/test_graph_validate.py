import copy
import json

import pytest

from graph.validate import validate_prompt
from tests.graph_nodes import make_nodes


@pytest.fixture
def nodes():
    return make_nodes()[0]


def chain(value=2):
    return {"1": {"class_type": "IntConst", "inputs": {"value": value}},
            "2": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": 5}},
            "3": {"class_type": "Collect", "inputs": {"value": ["2", 0]}}}


def only_error(result, node_id):
    errors = result.node_errors[node_id]["errors"]
    assert len(errors) == 1, errors
    return errors[0]


def test_valid_prompt_lists_its_outputs(nodes):
    result = validate_prompt(chain(), nodes)
    assert result.ok and result.error is None and result.node_errors == {}
    assert result.outputs == ["3"]


def test_literals_are_coerced_on_a_copy(nodes):
    prompt = chain(value="7")
    prompt["2"]["inputs"]["b"] = 5.0
    prompt["4"] = {"class_type": "Pick", "inputs": {"choice": "red", "scale": "2.5",
                                                    "flag": "false"}}
    prompt["7"] = {"class_type": "Collect", "inputs": {"value": ["4", 1]}}
    prompt["5"] = {"class_type": "Concat", "inputs": {"a": 12, "b": {"__value__": "x"}}}
    prompt["6"] = {"class_type": "Collect", "inputs": {"value": ["5", 0]}}
    original = copy.deepcopy(prompt)
    result = validate_prompt(prompt, nodes)
    assert result.ok
    assert prompt == original
    coerced = result.prompt
    assert coerced["1"]["inputs"]["value"] == 7 and isinstance(coerced["1"]["inputs"]["value"], int)
    assert coerced["2"]["inputs"]["b"] == 5 and isinstance(coerced["2"]["inputs"]["b"], int)
    assert coerced["4"]["inputs"]["scale"] == 2.5
    assert coerced["4"]["inputs"]["flag"] is False
    assert coerced["5"]["inputs"] == {"a": "12", "b": "x"}


def test_missing_node_type_is_a_top_level_error(nodes):
    prompt = chain()
    prompt["2"] = {"class_type": "NoSuchNode", "inputs": {}, "_meta": {"title": "Mystery"}}
    result = validate_prompt(prompt, nodes)
    assert not result.ok
    assert result.error == {
        "type": "missing_node_type", "message": "Cannot execute because node NoSuchNode does not exist.",
        "details": "Node ID '#2'",
        "extra_info": {"node_id": "2", "class_type": "NoSuchNode", "node_title": "Mystery"}}


def test_prompt_without_output_nodes(nodes):
    result = validate_prompt({"1": {"class_type": "IntConst", "inputs": {"value": 1}}}, nodes)
    assert not result.ok
    assert result.error["type"] == "prompt_no_outputs"
    assert result.error["message"] == "Prompt has no outputs"


def test_partial_targets_pick_outputs_and_a_bad_one_is_an_error(nodes):
    prompt = chain()
    prompt["4"] = {"class_type": "Collect", "inputs": {"value": ["1", 0]}}
    assert sorted(validate_prompt(prompt, nodes).outputs) == ["3", "4"]
    assert validate_prompt(prompt, nodes, partial_targets=["4"]).outputs == ["4"]
    bad = validate_prompt(prompt, nodes, partial_targets=["99"])
    assert not bad.ok and bad.error["type"] == "invalid_partial_target"
    assert "99" in bad.error["message"]


def test_required_input_missing(nodes):
    prompt = chain()
    del prompt["2"]["inputs"]["b"]
    result = validate_prompt(prompt, nodes)
    assert not result.ok
    assert result.error == {"type": "prompt_outputs_failed_validation",
                            "message": "Prompt outputs failed validation", "details": "",
                            "extra_info": {}}
    error = only_error(result, "2")
    assert error["type"] == "required_input_missing"
    assert error["extra_info"]["input_name"] == "b"
    assert result.node_errors["2"]["dependent_outputs"] == ["3"]
    assert result.node_errors["2"]["class_type"] == "Add"
    assert "3" not in result.node_errors  # downstream of the error, but not wrong itself
    json.dumps(result.node_errors)


@pytest.mark.parametrize("link, fragment", [
    (["1", 0, 0], "length-2"),
    (["42", 0], "does not exist"),
    (["1", 3], "no such output"),
])
def test_bad_linked_input(nodes, link, fragment):
    prompt = chain()
    prompt["2"]["inputs"]["a"] = link
    error = only_error(validate_prompt(prompt, nodes), "2")
    assert error["type"] == "bad_linked_input"
    assert fragment in error["message"]
    assert error["extra_info"]["input_name"] == "a"


def test_return_type_mismatch(nodes):
    prompt = chain()
    prompt["5"] = {"class_type": "Concat", "inputs": {"a": "x", "b": "y"}}
    prompt["2"]["inputs"]["b"] = ["5", 0]
    error = only_error(validate_prompt(prompt, nodes), "2")
    assert error["type"] == "return_type_mismatch"
    assert error["extra_info"]["received_type"] == "STRING"
    assert error["extra_info"]["linked_node"] == ["5", 0]
    assert error["extra_info"]["input_config"][0] == "INT"


def test_union_and_wildcard_types_match(nodes):
    prompt = chain()
    prompt["4"] = {"class_type": "ToString", "inputs": {"value": ["1", 0]}}   # INT into INT,FLOAT
    prompt["5"] = {"class_type": "Collect", "inputs": {"value": ["4", 0]}}    # STRING into *
    assert validate_prompt(prompt, nodes).ok


@pytest.mark.parametrize("value, error_type", [
    (-5000, "value_smaller_than_min"),
    (5000, "value_bigger_than_max"),
    ("five", "invalid_input_type"),
])
def test_range_and_conversion_errors(nodes, value, error_type):
    error = only_error(validate_prompt(chain(value=value), nodes), "1")
    assert error["type"] == error_type
    assert error["extra_info"]["input_name"] == "value"
    assert error["extra_info"]["received_value"] == value


def test_value_not_in_list(nodes):
    prompt = {"1": {"class_type": "Pick", "inputs": {"choice": "purple", "scale": 1.0,
                                                     "flag": True}},
              "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    error = only_error(validate_prompt(prompt, nodes), "1")
    assert error["type"] == "value_not_in_list"
    assert "purple" in error["details"]


def test_dependency_cycle(nodes):
    prompt = {"1": {"class_type": "Add", "inputs": {"a": ["2", 0], "b": 1}},
              "2": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": 1}},
              "3": {"class_type": "Collect", "inputs": {"value": ["2", 0]}}}
    result = validate_prompt(prompt, nodes)
    assert not result.ok
    assert {e["type"] for n in ("1", "2") for e in result.node_errors[n]["errors"]} == {
        "dependency_cycle"}


def test_custom_validation_failed_and_it_replaces_the_range_check(nodes):
    def prompt(value):
        return {"1": {"class_type": "Even", "inputs": {"value": value}},
                "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}

    assert validate_prompt(prompt(40), nodes).ok      # above max, but VALIDATE_INPUTS owns it
    error = only_error(validate_prompt(prompt(3), nodes), "1")
    assert error["type"] == "custom_validation_failed"
    assert "3 is odd" in error["details"]


def test_exceptions_during_validation_and_inner_validation(nodes):
    outer = {"1": {"class_type": "Even", "inputs": {"value": 13}},
             "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    inner_error = only_error(validate_prompt(outer, nodes), "1")
    assert inner_error["type"] == "exception_during_inner_validation"
    assert inner_error["details"] == "unlucky"
    assert inner_error["extra_info"]["input_name"] == "value"
    assert inner_error["extra_info"]["linked_node"] == ["1", 0]

    class EvenOutput(nodes["Even"]):
        OUTPUT_NODE = True

    top = validate_prompt({"1": {"class_type": "EvenOutput", "inputs": {"value": 13}}},
                          {**nodes, "EvenOutput": EvenOutput})
    error = only_error(top, "1")
    assert error["type"] == "exception_during_validation"
    assert error["extra_info"]["exception_type"] == "RuntimeError"
    json.dumps(top.node_errors)


def test_input_types_parameter_leaves_type_checks_to_the_node(nodes):
    nodes, log = make_nodes()
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 1}},
              "2": {"class_type": "AnyTypes", "inputs": {"value": ["1", 0]}},
              "3": {"class_type": "Collect", "inputs": {"value": ["2", 0]}}}
    assert validate_prompt(prompt, nodes).ok    # INT into STRING, accepted by the node
    assert log.calls[-1][2]["input_types"] == {"value": "INT"}


def test_only_outputs_with_a_valid_ancestry_are_returned(nodes):
    prompt = chain()
    prompt["4"] = {"class_type": "Add", "inputs": {"a": ["1", 0], "b": "nope"}}
    prompt["5"] = {"class_type": "Collect", "inputs": {"value": ["4", 0]}}
    result = validate_prompt(prompt, nodes)
    assert result.ok and result.error is None
    assert result.outputs == ["3"]
    assert list(result.node_errors) == ["4"]
    assert result.node_errors["4"]["dependent_outputs"] == ["5"]


def test_not_a_dict_and_node_without_class_type(nodes):
    assert validate_prompt([1], nodes).error["type"] == "invalid_prompt"
    result = validate_prompt({"1": {"inputs": {}}}, nodes)
    assert result.error["type"] == "invalid_prompt"
    assert result.error["details"] == "Node ID '#1'"
