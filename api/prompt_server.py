"""`PromptServer`: the running server object, ComfyUI-compatible for custom packs.

Custom packs do `from server import PromptServer` and then use
`PromptServer.instance.routes` (to add routes before start),
`PromptServer.instance.send_sync(event, data, sid)` (from any thread),
`.client_id`, `.last_node_id`, `.last_prompt_id`, `.app` and `.loop`.
`instance` is set when the server is made (before custom packs load).
"""

from __future__ import annotations

from aiohttp import web

from api.hub import WebSocketHub


class PromptServer:
    instance: "PromptServer | None" = None

    def __init__(self, args=None):
        self.args = args
        self.routes = web.RouteTableDef()
        self.hub = WebSocketHub()
        self.app: web.Application | None = None
        self.loop = None
        self.client_id: str | None = None  # the client whose prompt runs now
        self.last_node_id: str | None = None
        self.last_prompt_id: str | None = None
        self.prompt_queue = None  # graph.queue.PromptQueue, set by api.app
        self.history = None  # graph.history.History
        self.registry = None  # nodes.registry.NodeRegistry
        self.executor = None  # graph.executor.PromptExecutor
        self.worker = None  # api.worker.PromptWorker
        self.store = None  # graph.store.Store
        self.on_prompt_handlers = []
        # live previews unless a prompt says otherwise (--preview-method; none by default)
        self.preview_method = getattr(args, "preview_method", None) or "none"
        PromptServer.instance = self

    @property
    def sockets(self):
        return self.hub.sockets

    def send_sync(self, event, data, sid=None) -> None:
        """Send an event to one client (sid) or all; safe to call from any thread."""
        self.hub.send_sync(event, data, sid)

    async def send_json(self, event, data, sid=None) -> None:
        await self.hub.send(event, data, sid)

    async def send(self, event, data, sid=None) -> None:
        await self.hub.send(event, data, sid)

    def queue_status(self) -> dict:
        remaining = self.prompt_queue.remaining() if self.prompt_queue is not None else 0
        return {"exec_info": {"queue_remaining": remaining}}

    def queue_updated(self) -> None:
        """Tell every client the queue changed (called from any thread)."""
        self.send_sync("status", {"status": self.queue_status()})

    def add_on_prompt_handler(self, handler) -> None:
        """A pack's hook that may rewrite the POST /prompt body before validation."""
        self.on_prompt_handlers.append(handler)

    def trigger_on_prompt(self, json_data: dict) -> dict:
        for handler in self.on_prompt_handlers:
            json_data = handler(json_data)
        return json_data
