import json

import pytest

from graph.events import EventBus
from graph.executor import PromptExecutor
from tests.graph_nodes import EventRecorder, make_nodes


@pytest.fixture
def setup():
    nodes, log = make_nodes()
    bus = EventBus()
    recorder = EventRecorder(bus)
    return PromptExecutor(nodes, bus), log, recorder


def test_runs_only_what_the_requested_outputs_need(setup):
    executor, log, _ = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 2}},
              "2": {"class_type": "IntConst", "inputs": {"value": 3}},
              "3": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
              "4": {"class_type": "Collect", "inputs": {"value": ["3", 0]}},
              "5": {"class_type": "IntConst", "inputs": {"value": 100}},
              "6": {"class_type": "Collect", "inputs": {"value": ["5", 0]}}}
    result = executor.execute(prompt, "p1", execute_outputs=["4"])
    assert result.status_str == "success" and result.completed
    assert result.outputs == {"4": {"values": [5]}}
    assert "5" not in log.node_ids() and "6" not in log.node_ids()
    order = log.node_ids()
    assert order.index("1") < order.index("3") and order.index("2") < order.index("3")
    assert order.index("3") < order.index("4")


def test_all_output_nodes_run_by_default_in_a_deterministic_order():
    orders = []
    for _ in range(2):
        nodes, log = make_nodes()
        prompt = {str(i): {"class_type": "IntConst", "inputs": {"value": i}} for i in range(1, 5)}
        prompt.update({f"c{i}": {"class_type": "Collect", "inputs": {"value": [str(i), 0]}}
                       for i in range(1, 5)})
        result = PromptExecutor(nodes).execute(prompt, "p")
        assert sorted(result.outputs) == ["c1", "c2", "c3", "c4"]
        orders.append(log.node_ids())
    assert orders[0] == orders[1]


def test_event_order_for_a_run_and_a_cached_rerun(setup):
    executor, _, recorder = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 2}},
              "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    result = executor.execute(prompt, "p1", extra_data={"client_id": "abc"})
    assert recorder.names() == ["execution_start", "execution_cached", "executing", "executing",
                                "executed", "execution_success", "executing"]
    assert recorder.executing_nodes() == ["1", "2", None]
    assert {client for _, _, client in recorder.events} == {"abc"}
    assert all(data["prompt_id"] == "p1" for _, data, _ in recorder.events)
    assert recorder.of("execution_cached")[0]["nodes"] == []
    assert recorder.of("executed")[0] == {"node": "2", "display_node": "2",
                                          "output": {"values": [2]}, "prompt_id": "p1"}
    assert [m[0] for m in result.messages] == ["execution_start", "execution_cached",
                                               "execution_success"]
    assert all("timestamp" in m[1] for m in result.messages)

    recorder.clear()
    again = executor.execute(prompt, "p2", extra_data={"client_id": "abc"})
    assert recorder.names() == ["execution_start", "execution_cached", "executed",
                                "execution_success", "executing"]
    assert recorder.of("execution_cached")[0]["nodes"] == ["1", "2"]
    assert recorder.of("executed")[0]["output"] == {"values": [2]}
    assert again.outputs == {"2": {"values": [2]}}
    assert again.executed == []


def test_list_mapping_repeats_the_last_element_of_shorter_lists(setup):
    executor, log, _ = setup
    prompt = {"1": {"class_type": "Range", "inputs": {"count": 3}},     # [0, 1, 2]
              "2": {"class_type": "Range", "inputs": {"count": 2}},     # [0, 1]
              "3": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
              "4": {"class_type": "Collect", "inputs": {"value": ["3", 0]}}}
    result = executor.execute(prompt, "p")
    assert [c[2] for c in log.calls if c[0] == "Add"] == [{"a": 0, "b": 0}, {"a": 1, "b": 1},
                                                         {"a": 2, "b": 1}]
    assert result.outputs["4"] == {"values": [0, 2, 3]}   # ui lists merged across calls


def test_input_is_list_gets_whole_lists_and_output_is_list_concatenates(setup):
    executor, log, _ = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 4}},
              "2": {"class_type": "Range", "inputs": {"count": ["1", 0]}},
              "3": {"class_type": "Range", "inputs": {"count": ["2", 0]}},  # 0..n for each n
              "4": {"class_type": "SumList", "inputs": {"values": ["3", 0]}},
              "5": {"class_type": "Collect", "inputs": {"value": ["4", 0]}}}
    result = executor.execute(prompt, "p")
    concatenated = [0] + [0, 1] + [0, 1, 2]   # Range(0) is empty, then 1, 2, 3
    assert [c[2]["values"] for c in log.calls if c[0] == "SumList"] == [concatenated]
    assert result.outputs["5"] == {"values": [sum(concatenated)]}


def test_lazy_input_never_asked_for_never_runs(setup):
    executor, log, _ = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 1}},
              "2": {"class_type": "Fail", "inputs": {"value": 2}},
              "3": {"class_type": "Switch", "inputs": {"use_a": True, "a": ["1", 0],
                                                       "b": ["2", 0]}},
              "4": {"class_type": "Collect", "inputs": {"value": ["3", 0]}}}
    result = executor.execute(prompt, "p")
    assert result.status_str == "success", result.error
    assert result.outputs["4"] == {"values": [1]}
    assert log.count("Fail") == 0
    checks = [c[2] for c in log.calls if c[0] == "Switch.check"]
    assert checks[0] == {"use_a": True, "a": None, "b": None}
    assert checks[-1]["a"] == 1 and checks[-1]["b"] is None


def test_lazy_input_switched_to_the_other_branch(setup):
    executor, log, _ = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 1}},
              "2": {"class_type": "IntConst", "inputs": {"value": 2}},
              "3": {"class_type": "Switch", "inputs": {"use_a": False, "a": ["1", 0],
                                                       "b": ["2", 0]}},
              "4": {"class_type": "Collect", "inputs": {"value": ["3", 0]}}}
    result = executor.execute(prompt, "p")
    assert result.outputs["4"] == {"values": [2]}
    assert "1" not in log.node_ids()


def test_expansion_runs_the_subgraph_and_links_its_result(setup):
    executor, log, recorder = setup
    prompt = {"1": {"class_type": "Repeat", "inputs": {"value": 3, "times": 3}},
              "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    result = executor.execute(prompt, "p")
    assert result.status_str == "success", result.error
    assert result.outputs["2"] == {"values": [24]}
    expanded = [n for n in log.node_ids("Add")]
    assert expanded == ["1.add0", "1.add1", "1.add2"]
    displays = {d["node"]: d["display_node"] for d in recorder.of("executing") if d["node"]}
    assert displays["1.add1"] == "1"


def test_nested_recursive_expansion(setup):
    executor, log, _ = setup
    prompt = {"1": {"class_type": "Doubler", "inputs": {"value": 3, "depth": 3}},
              "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    result = executor.execute(prompt, "p")
    assert result.status_str == "success", result.error
    assert result.outputs["2"] == {"values": [24]}
    assert log.node_ids("Doubler") == ["1", "1.inner", "1.inner.inner", "1.inner.inner.inner"]


def test_blocker_with_message_is_reported_by_the_output_node(setup):
    executor, log, recorder = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 1}},
              "2": {"class_type": "Gate", "inputs": {"value": ["1", 0], "open": False,
                                                     "message": "closed"}},
              "3": {"class_type": "Add", "inputs": {"a": ["2", 0], "b": 1}},
              "4": {"class_type": "Collect", "inputs": {"value": ["3", 0]}},
              "5": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    result = executor.execute(prompt, "p")
    assert log.count("Add") == 0 and log.node_ids("Collect") == ["5"]
    errors = recorder.of("execution_error")
    assert len(errors) == 1 and errors[0]["node_id"] == "4"
    assert "closed" in errors[0]["exception_message"]
    assert "4" not in result.outputs and result.outputs["5"] == {"values": [1]}


def test_blocker_without_message_skips_silently_and_open_gate_passes(setup):
    executor, log, recorder = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 1}},
              "2": {"class_type": "Gate", "inputs": {"value": ["1", 0], "open": False,
                                                     "message": ""}},
              "3": {"class_type": "Collect", "inputs": {"value": ["2", 0]}},
              "4": {"class_type": "Gate", "inputs": {"value": ["1", 0], "open": True,
                                                     "message": ""}},
              "5": {"class_type": "Collect", "inputs": {"value": ["4", 0]}}}
    result = executor.execute(prompt, "p")
    assert result.status_str == "success"
    assert recorder.of("execution_error") == []
    assert result.outputs == {"5": {"values": [1]}}


def test_hidden_inputs(setup):
    executor, log, _ = setup
    prompt = {"7": {"class_type": "Hidden", "inputs": {"value": 1}}}
    executor.execute(prompt, "p", extra_data={"extra_pnginfo": {"workflow": {"x": 1}}})
    (call,) = [c[2] for c in log.calls if c[0] == "Hidden"]
    assert call == {"prompt": prompt, "extra_pnginfo": {"workflow": {"x": 1}}, "unique_id": "7"}


def test_worker_thread_sees_the_node_context(setup):
    executor, log, _ = setup
    prompt = {"9": {"class_type": "ThreadWorker", "inputs": {}},
              "10": {"class_type": "Collect", "inputs": {"value": ["9", 0]}}}
    assert executor.execute(prompt, "p").outputs["10"] == {"values": ["9"]}


def test_node_error_is_reported_and_the_next_prompt_runs(setup):
    executor, log, recorder = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 1}},
              "2": {"class_type": "Fail", "inputs": {"value": ["1", 0], "message": "bad seed"}},
              "3": {"class_type": "Collect", "inputs": {"value": ["2", 0]}}}
    result = executor.execute(prompt, "p1")
    assert result.status_str == "error" and not result.completed
    error = result.error
    assert error["node_id"] == "2" and error["node_type"] == "Fail"
    assert error["exception_message"] == "bad seed"
    assert error["exception_type"] == "ValueError"
    assert error["executed"] == ["1"]
    assert error["current_inputs"]["value"] == [1]
    assert "1" in error["current_outputs"]
    assert any("raise ValueError" in line for line in error["traceback"])
    json.dumps(error)
    assert recorder.names()[-2:] == ["execution_error", "executing"]
    assert [m[0] for m in result.messages][-1] == "execution_error"

    prompt["2"] = {"class_type": "Add", "inputs": {"a": ["1", 0], "b": 1}}
    recovered = executor.execute(prompt, "p2")
    assert recovered.status_str == "success"
    assert recovered.outputs["3"] == {"values": [2]}
    assert log.count("IntConst") == 1   # node 1 stayed cached through the failure


def test_tensor_like_inputs_are_described_by_shape_in_errors():
    nodes, _ = make_nodes()

    class FakeTensor:
        shape = (1, 64, 64, 3)
        dtype = "float32"

    class MakeTensor:
        RETURN_TYPES = ("IMAGE",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {}}

        def run(self):
            return (FakeTensor(),)

    class Broken:
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"image": ("IMAGE",)}}

        def run(self, image):
            raise RuntimeError("cannot save")

    executor = PromptExecutor({**nodes, "MakeTensor": MakeTensor, "Broken": Broken})
    result = executor.execute({"1": {"class_type": "MakeTensor", "inputs": {}},
                               "2": {"class_type": "Broken", "inputs": {"image": ["1", 0]}}}, "p")
    described = result.error["current_inputs"]["image"][0]
    assert "shape=[1, 64, 64, 3]" in described
    json.dumps(result.error)


def test_bad_return_value_names_the_node():
    nodes, _ = make_nodes()

    class NoTuple:
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"
        OUTPUT_NODE = True

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {}}

        def run(self):
            return 5

    result = PromptExecutor({**nodes, "NoTuple": NoTuple}).execute(
        {"3": {"class_type": "NoTuple", "inputs": {}}}, "p")
    assert result.status_str == "error"
    assert result.error["node_id"] == "3"
    assert "must return a tuple" in result.error["exception_message"]


def test_unknown_class_type_is_an_error_result_not_a_crash(setup):
    executor, _, _ = setup
    result = executor.execute({"1": {"class_type": "Nope", "inputs": {}}}, "p")
    assert result.status_str == "error"
    assert "Nope" in result.error["exception_message"]


def test_a_failing_subscriber_does_not_break_execution(setup):
    executor, _, recorder = setup

    def broken(event, data, client_id):
        raise RuntimeError("subscriber bug")

    executor.bus.subscribe(broken)
    result = executor.execute({"1": {"class_type": "IntConst", "inputs": {"value": 1}},
                               "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}},
                              "p")
    assert result.status_str == "success"
    assert "execution_success" in recorder.names()


def test_deep_chains_and_diamond_ladders_do_not_blow_up(setup):
    executor, log, _ = setup
    from graph.validate import validate_prompt
    depth = 1500     # deeper than Python's recursion limit
    prompt = {"0": {"class_type": "IntConst", "inputs": {"value": 0}}}
    for i in range(1, depth + 1):
        prompt[str(i)] = {"class_type": "Add", "inputs": {"a": [str(i - 1), 0], "b": 1}}
    prompt["out"] = {"class_type": "Collect", "inputs": {"value": [str(depth), 0]}}
    assert validate_prompt(prompt, executor.node_classes).ok
    assert executor.execute(prompt, "p1").outputs["out"] == {"values": [depth]}

    # Each Add reads the previous one twice: 2**40 paths, which a naive key would walk.
    ladder = {"1": {"class_type": "Repeat", "inputs": {"value": 3, "times": 40}},
              "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    assert executor.execute(ladder, "p2").outputs["2"] == {"values": [3 * 2 ** 40]}


def test_expansion_can_link_outer_nodes_run_its_own_outputs_and_is_cached(setup):
    executor, log, recorder = setup

    class Wrap:
        RETURN_TYPES = ("INT", "STRING")
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"outer": ("INT", {})}}

        def run(self, outer):
            return {"expand": {
                "sum": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": 10}},   # outer node
                "show": {"class_type": "Collect", "inputs": {"value": ["sum", 0]}}},
                "result": (["sum", 0], "literal")}

    executor.node_classes = {**executor.node_classes, "Wrap": Wrap}
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 5}},
              "2": {"class_type": "Wrap", "inputs": {"outer": ["1", 0]}},
              "3": {"class_type": "Concat", "inputs": {"a": ["2", 1], "b": "!"}},
              "4": {"class_type": "Collect", "inputs": {"value": ["2", 0]}},
              "5": {"class_type": "Collect", "inputs": {"value": ["3", 0]}}}
    result = executor.execute(prompt, "p1")
    assert result.status_str == "success", result.error
    assert result.outputs["4"] == {"values": [15]}
    assert result.outputs["5"] == {"values": ["literal!"]}
    assert result.outputs["2.show"] == {"values": [15]}       # the subgraph's output node ran
    shown = [d for d in recorder.of("executed") if d["node"] == "2.show"]
    assert shown[0]["display_node"] == "2"

    log.calls.clear()
    again = executor.execute(prompt, "p2")
    assert log.calls == [] and again.outputs["4"] == {"values": [15]}


def test_blocker_reaches_input_is_list_nodes(setup):
    executor, log, _ = setup
    prompt = {"1": {"class_type": "IntConst", "inputs": {"value": 1}},
              "2": {"class_type": "Gate", "inputs": {"value": ["1", 0], "open": False,
                                                     "message": ""}},
              "3": {"class_type": "SumList", "inputs": {"values": ["2", 0]}},
              "4": {"class_type": "Collect", "inputs": {"value": ["3", 0]}}}
    result = executor.execute(prompt, "p")
    assert result.status_str == "success"
    assert log.count("SumList") == 0 and log.count("Collect") == 0
