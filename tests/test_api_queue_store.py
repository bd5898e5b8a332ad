"""The persisted queue and history (graph/queue.py, graph/history.py, graph/store.py)."""

import threading

import pytest

from graph.history import History, build_entry
from graph.queue import PromptQueue, QueueError, QueueItem
from graph.store import Store


def open_queue(path):
    store = Store(path)
    history = History(store)
    return store, history, PromptQueue(store, history)


def add(queue, prompt_id, priority=0, front=False):
    number = queue.next_number()
    queue.put(QueueItem(-number if front else number, prompt_id, {"1": {"class_type": "X", "inputs": {}}},
                        {"client_id": "c"}, ["1"], priority))


def pending_ids(queue):
    return [item.prompt_id for item in queue.pending()]


def test_order_priority_front_and_move(tmp_path):
    _, _, queue = open_queue(tmp_path / "q.db")
    for pid in ("a", "b", "c"):
        add(queue, pid)
    add(queue, "urgent", priority=5)
    add(queue, "d", front=True)
    assert pending_ids(queue) == ["urgent", "d", "a", "b", "c"]

    queue.set_priority({"c": 9})
    assert pending_ids(queue) == ["c", "urgent", "d", "a", "b"]

    queue.move("b", to=0)
    assert pending_ids(queue) == ["b", "c", "urgent", "d", "a"]
    queue.move("b", after="d")
    assert pending_ids(queue) == ["c", "urgent", "d", "b", "a"]
    queue.move("a", before="urgent")
    assert pending_ids(queue) == ["c", "a", "urgent", "d", "b"]
    queue.move("c", to=-1)
    assert pending_ids(queue) == ["a", "urgent", "d", "b", "c"]

    with pytest.raises(QueueError):
        queue.move("nope", to=0)
    with pytest.raises(QueueError):
        queue.move("a", to="first")
    with pytest.raises(QueueError):
        add(queue, "a")


def test_queue_survives_reopen_and_running_becomes_interrupted(tmp_path):
    store, history, queue = open_queue(tmp_path / "q.db")
    for pid in ("one", "two", "three"):
        add(queue, pid)
    queue.move("three", to=0)
    running = queue.get(timeout=1)
    assert running.prompt_id == "three"
    queue.finish("three", build_entry(running.as_list(), "success", True, [], {"9": {"text": ["hi"]}}))
    second = queue.get(timeout=1)
    assert second.prompt_id == "one"
    store.close()  # the process "dies" while "one" runs

    _, history2, queue2 = open_queue(tmp_path / "q.db")
    assert pending_ids(queue2) == ["two"]
    assert queue2.recovered_interrupted == ["one"]
    entry = history2.get("one")
    assert entry["status"]["status_str"] == "error"
    assert entry["status"]["completed"] is False
    assert entry["status"]["messages"][-1][0] == "execution_interrupted"
    assert entry["prompt"][1] == "one"
    assert history2.get("three")["outputs"] == {"9": {"text": ["hi"]}}
    # numbers keep growing after a restart, so new prompts go after old ones
    assert queue2.next_number() > max(abs(i.number) for i in queue2.pending())


def test_pause_blocks_get_and_persists(tmp_path):
    store, _, queue = open_queue(tmp_path / "q.db")
    add(queue, "a")
    queue.pause()
    assert queue.get(timeout=0.05) is None
    store.close()
    _, _, queue2 = open_queue(tmp_path / "q.db")
    assert queue2.paused
    taken = []
    worker = threading.Thread(target=lambda: taken.append(queue2.get(timeout=5)))
    worker.start()
    queue2.resume()
    worker.join(5)
    assert [item.prompt_id for item in taken] == ["a"]


def test_delete_clear_and_history_paging(tmp_path):
    _, history, queue = open_queue(tmp_path / "q.db")
    for pid in "abcd":
        add(queue, pid)
    assert queue.delete(["b", "zz"]) == ["b"]
    assert pending_ids(queue) == ["a", "c", "d"]
    queue.clear()
    assert queue.pending() == [] and queue.remaining() == 0

    for index in range(5):
        history.add(f"p{index}", build_entry([index, f"p{index}", {}, {}, []], "success", True, [], {}))
    assert list(history.items()) == ["p0", "p1", "p2", "p3", "p4"]
    assert list(history.items(max_items=2)) == ["p3", "p4"]
    assert list(history.items(max_items=2, offset=1)) == ["p1", "p2"]
    history.delete(["p1"])
    assert "p1" not in history.items() and history.get("p1") is None
    history.clear()
    assert history.items() == {}


def test_history_is_bounded(tmp_path):
    store = Store(tmp_path / "h.db")
    history = History(store, max_items=3)
    for index in range(5):
        history.add(f"p{index}", build_entry([index, f"p{index}", {}, {}, []], "error", False, [], {}))
    assert list(history.items()) == ["p2", "p3", "p4"]
