import graph.context
from graph.errors import format_execution_error
from graph.events import EventBus


def test_subscribe_emit_and_unsubscribe():
    bus = EventBus()
    first, second = [], []
    unsubscribe_first = bus.subscribe(lambda *event: first.append(event))
    bus.subscribe(lambda *event: second.append(event))
    bus.emit("progress", {"value": 1}, "client")
    unsubscribe_first()
    unsubscribe_first()          # twice is harmless
    bus.emit("status", {"x": 2})
    assert first == [("progress", {"value": 1}, "client")]
    assert second == [("progress", {"value": 1}, "client"), ("status", {"x": 2}, None)]


def test_a_raising_subscriber_does_not_stop_the_others():
    bus = EventBus()
    received = []

    def broken(event, data, client_id):
        raise RuntimeError("oops")

    bus.subscribe(broken)
    bus.subscribe(lambda *event: received.append(event[0]))
    bus.emit("executing", {"node": "1"})
    assert received == ["executing"]


def test_no_context_outside_a_node():
    assert graph.context.current() is None


def test_readable_error_line():
    line = format_execution_error({"node_id": "3", "node_type": "KSampler",
                                   "exception_message": "boom"})
    assert line == "KSampler (#3): boom"
