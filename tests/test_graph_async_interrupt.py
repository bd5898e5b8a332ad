import threading
import time

from graph.context import ExecutionContext
from graph.errors import Interrupted
from graph.events import EventBus
from graph.executor import PromptExecutor
from tests.graph_nodes import EventRecorder, make_nodes


def test_two_async_nodes_run_concurrently():
    nodes, log = make_nodes()
    prompt = {"1": {"class_type": "AsyncSleep", "inputs": {"value": 1, "seconds": 0.3,
                                                           "label": "first"}},
              "2": {"class_type": "AsyncSleep", "inputs": {"value": 2, "seconds": 0.3,
                                                           "label": "second"}},
              "3": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
              "4": {"class_type": "Collect", "inputs": {"value": ["3", 0]}}}
    result = PromptExecutor(nodes).execute(prompt, "p")
    assert result.status_str == "success", result.error
    assert result.outputs["4"] == {"values": [3]}
    (start1, end1), (start2, end2) = log.timestamps["first"], log.timestamps["second"]
    assert start2 < end1 and start1 < end2      # the two sleeps overlapped
    contexts = sorted(c[2]["context_node"] for c in log.calls if c[0] == "AsyncSleep")
    assert contexts == ["1", "2"]               # each async node saw its own context


def test_sync_nodes_run_while_an_async_node_waits():
    nodes, log = make_nodes()
    prompt = {"1": {"class_type": "AsyncSleep", "inputs": {"value": 1, "seconds": 0.3,
                                                           "label": "slow"}},
              "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}},
              "3": {"class_type": "IntConst", "inputs": {"value": 7}},
              "4": {"class_type": "Collect", "inputs": {"value": ["3", 0]}}}
    PromptExecutor(nodes).execute(prompt, "p")
    names = [c[0] for c in log.calls]
    assert names.index("IntConst") < names.index("AsyncSleep")


def test_a_failing_async_node_is_reported():
    nodes, _ = make_nodes()

    class AsyncFail:
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {}}

        async def run(self):
            raise KeyError("missing thing")

    result = PromptExecutor({**nodes, "AsyncFail": AsyncFail}).execute(
        {"1": {"class_type": "AsyncFail", "inputs": {}}}, "p")
    assert result.status_str == "error"
    assert result.error["node_id"] == "1" and result.error["exception_type"] == "KeyError"


def ticker_prompt(steps, delay):
    return {"1": {"class_type": "Ticker", "inputs": {"steps": steps, "delay": delay}},
            "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}


def test_progress_events_come_from_the_running_node():
    nodes, _ = make_nodes()
    bus = EventBus()
    recorder = EventRecorder(bus)
    PromptExecutor(nodes, bus).execute(ticker_prompt(3, 0.0), "p", {"client_id": "me"})
    assert recorder.of("progress") == [{"value": i, "max": 3, "prompt_id": "p", "node": "1"}
                                       for i in (1, 2, 3)]


def test_interrupt_from_another_thread_stops_a_ticking_node_and_the_next_prompt_runs():
    nodes, log = make_nodes()
    bus = EventBus()
    recorder = EventRecorder(bus)
    executor = PromptExecutor(nodes, bus)
    started = threading.Event()

    def on_event(event, data, client_id):
        if event == "progress":
            started.set()

    bus.subscribe(on_event)
    results = {}
    worker = threading.Thread(target=lambda: results.update(
        first=executor.execute(ticker_prompt(400, 0.01), "p1")))
    worker.start()
    assert started.wait(5)
    executor.interrupt()
    worker.join(10)
    assert not worker.is_alive()
    first = results["first"]
    assert first.status_str == "interrupted" and not first.completed
    assert log.count("Ticker") == 0            # never finished its loop
    (interrupted,) = recorder.of("execution_interrupted")
    assert interrupted["node_id"] == "1" and interrupted["node_type"] == "Ticker"
    assert [m[0] for m in first.messages][-1] == "execution_interrupted"
    assert recorder.names()[-1] == "executing"

    second = executor.execute(ticker_prompt(2, 0.0), "p2")
    assert second.status_str == "success"
    assert second.outputs["2"] == {"values": [2]}


def test_interrupt_while_idle_does_not_affect_the_next_prompt():
    nodes, _ = make_nodes()
    executor = PromptExecutor(nodes)
    executor.interrupt()
    assert executor.execute(ticker_prompt(2, 0.0), "p").status_str == "success"


def test_interrupt_cancels_a_waiting_async_node():
    nodes, _ = make_nodes()
    executor = PromptExecutor(nodes)
    prompt = {"1": {"class_type": "AsyncSleep", "inputs": {"value": 1, "seconds": 30.0,
                                                           "label": "long"}},
              "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}
    timer = threading.Timer(0.2, executor.interrupt)
    timer.start()
    begin = time.monotonic()
    result = executor.execute(prompt, "p")
    assert result.status_str == "interrupted"
    assert time.monotonic() - begin < 10


def test_context_check_interrupt_raises_interrupted():
    flag = threading.Event()
    sent = []
    context = ExecutionContext("p", "5", "client", emit=lambda *a: sent.append(a),
                               interrupt_event=flag)
    context.check_interrupt()
    context.preview("JPEG", b"\xff\xd8")
    assert sent == [("preview_image", {"format": "JPEG", "image": b"\xff\xd8", "node": "5",
                                       "prompt_id": "p"}, "client")]
    flag.set()
    try:
        context.progress(1, 2)
    except Interrupted:
        pass
    else:
        raise AssertionError("progress() should raise Interrupted once interrupted")
