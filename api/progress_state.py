"""ComfyUI's `progress_state` websocket event: every started node of the running prompt
with its state (running, finished) and progress, sent after each change. ComfyUI's
newer frontend highlights the running node and draws its progress bar from it.
"""

from __future__ import annotations


class ProgressState:
    """Follows one prompt's events and says what `progress_state` to send next."""

    def __init__(self, send):
        self.send = send          # send(event, data, client_id)
        self.prompt_id = None
        self.nodes: dict[str, dict] = {}
        self.running = None

    def observe(self, event: str, data, client_id) -> None:
        if not isinstance(data, dict):
            return
        if event == "execution_start":
            self.prompt_id, self.nodes, self.running = data.get("prompt_id"), {}, None
            return
        if data.get("prompt_id") != self.prompt_id:
            return
        if event == "executing":
            self._finish_running()
            node = data.get("node")
            if node is not None:
                self.running = str(node)
                self.nodes[self.running] = self._entry(self.running, "running", 0.0, 1.0)
        elif event == "progress" and data.get("node") is not None:
            node = str(data["node"])
            self.nodes[node] = self._entry(node, "running", float(data.get("value", 0)), float(data.get("max", 1)))
        elif event == "execution_error" and data.get("node_id") is not None:
            node = str(data["node_id"])
            previous = self.nodes.get(node, {})
            self.nodes[node] = self._entry(node, "error", previous.get("value", 0.0), previous.get("max", 1.0))
            self.running = None
        else:
            return
        self.send("progress_state", {"prompt_id": self.prompt_id, "nodes": dict(self.nodes)}, client_id)

    def _finish_running(self) -> None:
        if self.running is not None and self.running in self.nodes:
            entry = self.nodes[self.running]
            self.nodes[self.running] = self._entry(self.running, "finished", entry["max"], entry["max"])
        self.running = None

    def _entry(self, node_id: str, state: str, value: float, maximum: float) -> dict:
        return {"value": value, "max": maximum, "state": state, "node_id": node_id, "prompt_id": self.prompt_id,
                "display_node_id": node_id, "parent_node_id": None, "real_node_id": node_id}
