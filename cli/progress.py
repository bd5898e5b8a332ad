"""Shows a running prompt in the terminal: one tqdm bar per node that reports progress."""

from __future__ import annotations

import sys

from tqdm import tqdm


class TerminalProgress:
    """An EventBus subscriber that draws node and step progress with tqdm."""

    def __init__(self, prompt: dict, enabled: bool = True, stream=sys.stderr):
        self.prompt = prompt
        self.enabled = enabled
        self.stream = stream
        self.bar: tqdm | None = None
        self.bar_node = None

    def __call__(self, event: str, data, client_id=None) -> None:
        if not self.enabled or not isinstance(data, dict):
            return
        if event == "executing":
            self._close()
            node = data.get("node")
            if node is not None:
                self._say(f"#{node} {self._class_of(node)}")
        elif event == "execution_cached" and data.get("nodes"):
            self._say(f"cached: {', '.join('#' + str(n) for n in data['nodes'])}")
        elif event == "progress":
            node, value, total = data.get("node"), data.get("value", 0), data.get("max", 1)
            if self.bar is None or self.bar_node != node or self.bar.total != total:
                self._close()
                self.bar = tqdm(total=total, desc=f"#{node} {self._class_of(node)}", file=self.stream, leave=False)
                self.bar_node = node
            self.bar.update(value - self.bar.n)
        elif event in ("execution_success", "execution_error", "execution_interrupted"):
            self._close()

    def _class_of(self, node) -> str:
        return self.prompt.get(str(node), {}).get("class_type", "")

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
