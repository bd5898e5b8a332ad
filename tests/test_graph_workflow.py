import pytest

from graph.errors import WorkflowError
from graph.workflow import to_api


def test_api_format_is_normalised_to_string_ids_and_copied():
    workflow = {1: {"class_type": "IntConst", "inputs": {"value": 3}, "_meta": {"title": "Three"}},
                "2": {"class_type": "Collect", "inputs": {"value": [1, 0]}}}
    api = to_api(workflow)
    assert api == {"1": {"class_type": "IntConst", "inputs": {"value": 3},
                         "_meta": {"title": "Three"}},
                   "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    api["1"]["inputs"]["value"] = 4
    assert workflow[1]["inputs"]["value"] == 3


def test_node_without_inputs_gets_empty_inputs():
    assert to_api({"5": {"class_type": "ThreadWorker"}})["5"]["inputs"] == {}


@pytest.mark.parametrize("workflow, fragment", [
    ([1, 2], "JSON object"),
    ({"1": "IntConst"}, "node '1' must be an object"),
    ({"1": {"inputs": {}}}, "node '1' has no class_type"),
    ({"1": {"class_type": "", "inputs": {}}}, "node '1' has no class_type"),
    ({"1": {"class_type": "Add", "inputs": [1, 2]}}, "'inputs' must be an object"),
    ({"1": {"class_type": "Add", "inputs": {"a": ["2", 0, 1]}}}, "input 'a'"),
    ({"1": {"class_type": "Add", "inputs": {"a": ["2", "x"]}}}, "[node_id, output_index]"),
    ({"1": {"class_type": "Add", "inputs": {"a": [None, 0]}}}, "input 'a'"),
    ({"1": {"class_type": "Add", "inputs": {"a": ["2", -1]}}}, "input 'a'"),
])
def test_malformed_workflows_are_rejected_with_a_clear_message(workflow, fragment):
    with pytest.raises(WorkflowError) as info:
        to_api(workflow)
    assert fragment in str(info.value)


def test_ui_format_needs_the_catalogue():
    ui_workflow = {"last_node_id": 2, "nodes": [{"id": 1, "type": "IntConst"}], "links": [],
                   "version": 0.4}
    with pytest.raises(WorkflowError) as info:
        to_api(ui_workflow)
    assert "UI-format" in str(info.value)
    assert "catalogue" in str(info.value)
