"""The prompt queue: ordered by priority, persisted, pausable, reorderable.

Pending prompts run in the order (higher priority first, then lower number).
ComfyUI's `front: true` gives a negative number, so it still jumps ahead of its
priority group. Every change is written to the store before it is visible, and
the queue is rebuilt from the store at start: a prompt that was running when
the process died is recorded in the history as interrupted by the restart.

Thread-safe: the aiohttp thread puts and edits, one worker thread takes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from graph.history import History, interrupted_by_restart_entry
from graph.store import Store


class QueueError(ValueError):
    """A request about the queue that cannot be done (unknown prompt, bad index)."""


@dataclass
class QueueItem:
    number: float
    prompt_id: str
    prompt: dict
    extra_data: dict = field(default_factory=dict)
    outputs_to_execute: list = field(default_factory=list)
    priority: int = 0

    def as_list(self) -> list:
        """ComfyUI's 5-element queue entry (a whole number is sent as an integer)."""
        number = int(self.number) if float(self.number).is_integer() else self.number
        return [number, self.prompt_id, self.prompt, self.extra_data, self.outputs_to_execute]

    def sort_key(self) -> tuple:
        return (-self.priority, self.number)


class PromptQueue:
    def __init__(self, store: Store, history: History, on_change: Callable[[], None] | None = None):
        self.store = store
        self.history = history
        self.on_change = on_change
        self._cond = threading.Condition()
        self._pending: dict[str, QueueItem] = {}
        self._running: dict[str, QueueItem] = {}
        self._paused = bool(store.setting_get("queue.paused", False))
        self._number = store.max_number() + 1
        self.recovered_interrupted: list[str] = []
        self._load()

    def _load(self) -> None:
        for row in self.store.queue_rows():
            data = row["item"]
            item = QueueItem(row["number"], row["prompt_id"], data["prompt"], data.get("extra_data", {}),
                             data.get("outputs_to_execute", []), row["priority"])
            if row["state"] == "running":
                self.history.finish(item.prompt_id, interrupted_by_restart_entry(item.as_list()))
                self.recovered_interrupted.append(item.prompt_id)
            else:
                self._pending[item.prompt_id] = item

    def _changed(self) -> None:
        self._cond.notify_all()
        if self.on_change is not None:
            self.on_change()

    # -- adding and taking ---------------------------------------------------------

    def next_number(self) -> int:
        with self._cond:
            number = self._number
            self._number += 1
            return number

    def contains(self, prompt_id: str) -> bool:
        with self._cond:
            return prompt_id in self._pending or prompt_id in self._running

    def put(self, item: QueueItem) -> None:
        with self._cond:
            if item.prompt_id in self._pending or item.prompt_id in self._running:
                raise QueueError(f"prompt_id {item.prompt_id!r} is already queued")
            self._number = max(self._number, abs(item.number) + 1)
            data = {"prompt": item.prompt, "extra_data": item.extra_data,
                    "outputs_to_execute": item.outputs_to_execute}
            self.store.queue_insert(item.prompt_id, item.number, item.priority, data)
            self._pending[item.prompt_id] = item
            self._changed()

    def get(self, timeout: float | None = None) -> QueueItem | None:
        """Take the next prompt and mark it running; None after `timeout` seconds without one."""
        with self._cond:
            ready = self._cond.wait_for(lambda: self._pending and not self._paused, timeout)
            if not ready:
                return None
            item = min(self._pending.values(), key=QueueItem.sort_key)
            self.store.queue_update(item.prompt_id, state="running")
            del self._pending[item.prompt_id]
            self._running[item.prompt_id] = item
            self._changed()
            return item

    def finish(self, prompt_id: str, history_entry: dict) -> None:
        """The worker is done with a prompt: store its history entry and drop it."""
        with self._cond:
            self.history.finish(prompt_id, history_entry)
            self._running.pop(prompt_id, None)
            self._changed()

    # -- looking -------------------------------------------------------------------

    def running(self) -> list[QueueItem]:
        with self._cond:
            return list(self._running.values())

    def pending(self) -> list[QueueItem]:
        with self._cond:
            return sorted(self._pending.values(), key=QueueItem.sort_key)

    def remaining(self) -> int:
        with self._cond:
            return len(self._pending) + len(self._running)

    @property
    def paused(self) -> bool:
        return self._paused

    # -- editing -------------------------------------------------------------------

    def delete(self, prompt_ids: list[str]) -> list[str]:
        """Remove pending prompts; returns the ids that were removed (running ones are not)."""
        with self._cond:
            removed = [pid for pid in prompt_ids if pid in self._pending]
            if removed:
                self.store.queue_delete(removed)
                for pid in removed:
                    del self._pending[pid]
                self._changed()
            return removed

    def clear(self) -> None:
        with self._cond:
            self.delete(list(self._pending))

    def set_priority(self, priorities: dict[str, int]) -> None:
        with self._cond:
            for pid in priorities:
                self._require_pending(pid)
            for pid, priority in priorities.items():
                self.store.queue_update(pid, priority=int(priority))
                self._pending[pid].priority = int(priority)
            self._changed()

    def move(self, prompt_id: str, to: int | None = None, before: str | None = None,
             after: str | None = None) -> None:
        """Put a pending prompt at index `to` of the pending list, or before/after another one.

        The moved prompt takes the priority of its new neighbours and a number
        between theirs, so the order stays one sort by (priority, number).
        """
        with self._cond:
            item = self._require_pending(prompt_id)
            others = [i for i in sorted(self._pending.values(), key=QueueItem.sort_key) if i is not item]
            index = self._target_index(others, to, before, after)
            priority, number = self._slot(others, index, item)
            self.store.queue_update(prompt_id, number=number, priority=priority)
            item.priority, item.number = priority, number
            self._changed()

    def _target_index(self, others: list[QueueItem], to, before, after) -> int:
        ids = [i.prompt_id for i in others]
        if before is not None:
            if before not in ids:
                raise QueueError(f"move.before: {before!r} is not a pending prompt")
            return ids.index(before)
        if after is not None:
            if after not in ids:
                raise QueueError(f"move.after: {after!r} is not a pending prompt")
            return ids.index(after) + 1
        if isinstance(to, bool) or not isinstance(to, int):
            raise QueueError("move needs 'to' (an integer index), 'before' or 'after'")
        if to < 0:
            to += len(others) + 1
        return max(0, min(to, len(others)))

    @staticmethod
    def _slot(others: list[QueueItem], index: int, item: QueueItem) -> tuple[int, float]:
        if not others:
            return item.priority, item.number
        if index == 0:
            first = others[0]
            return first.priority, first.number - 1
        previous = others[index - 1]
        if index == len(others) or others[index].priority != previous.priority:
            # The previous prompt ends its priority group: join the end of that group.
            return previous.priority, previous.number + 1
        return previous.priority, (previous.number + others[index].number) / 2

    def _require_pending(self, prompt_id: str) -> QueueItem:
        if prompt_id not in self._pending:
            raise QueueError(f"{prompt_id!r} is not a pending prompt")
        return self._pending[prompt_id]

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self.store.setting_put("queue.paused", True)
            self._changed()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self.store.setting_put("queue.paused", False)
            self._changed()
