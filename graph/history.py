"""The history of finished prompts, in ComfyUI's shape, kept in the SQLite store.

history[prompt_id] = {
    "prompt":  [number, prompt_id, prompt, extra_data, outputs_to_execute],
    "outputs": {node_id: ui},
    "status":  {"status_str": "success"|"error", "completed": bool, "messages": [[event, data], ...]},
    "meta":    {node_id: {"node_id", "display_node", "parent_node", "real_node_id"}},
}
"""

from __future__ import annotations

import time

from graph.store import Store

MAX_HISTORY = 10000
RESTART_MESSAGE = "interrupted by restart"


def build_entry(queue_list: list, status_str: str, completed: bool, messages: list, outputs: dict) -> dict:
    """A history entry for a finished prompt; `status_str` "interrupted" is reported as "error"."""
    return {
        "prompt": queue_list,
        "outputs": outputs or {},
        "status": {
            "status_str": "success" if status_str == "success" else "error",
            "completed": bool(completed),
            "messages": messages or [],
        },
        "meta": {
            node_id: {"node_id": node_id, "display_node": node_id, "parent_node": None, "real_node_id": node_id}
            for node_id in (outputs or {})
        },
    }


def interrupted_by_restart_entry(queue_list: list) -> dict:
    """The entry for a prompt that was running when the server died."""
    prompt_id = queue_list[1]
    now = int(time.time() * 1000)
    messages = [
        ["execution_start", {"prompt_id": prompt_id, "timestamp": now}],
        ["execution_interrupted", {
            "prompt_id": prompt_id, "node_id": None, "node_type": None, "executed": [],
            "timestamp": now, "reason": RESTART_MESSAGE,
        }],
    ]
    return build_entry(queue_list, "interrupted", False, messages, {})


class History:
    """Finished prompts, oldest first, bounded to `max_items`."""

    def __init__(self, store: Store, max_items: int = MAX_HISTORY):
        self.store = store
        self.max_items = max_items

    def add(self, prompt_id: str, entry: dict) -> None:
        self.store.history_put(prompt_id, entry)
        self._trim()

    def finish(self, prompt_id: str, entry: dict) -> None:
        """Record the entry and drop the prompt from the persisted queue, atomically."""
        self.store.finish(prompt_id, entry)
        self._trim()

    def _trim(self) -> None:
        if self.store.history_count() > self.max_items:
            self.store.history_trim(self.max_items)

    def get(self, prompt_id: str) -> dict | None:
        return self.store.history_get(prompt_id)

    def items(self, max_items: int | None = None, offset: int | None = None) -> dict:
        """ComfyUI's paging: without an offset, the newest `max_items` entries (oldest first)."""
        count = self.store.history_count()
        if max_items is None:
            max_items = count
        if offset is None or offset < 0:
            offset = max(0, count - max_items)
        return dict(self.store.history_page(max_items, offset))

    def delete(self, prompt_ids: list[str]) -> None:
        self.store.history_delete(list(prompt_ids))

    def clear(self) -> None:
        self.store.history_clear()
