"""Loom's own log lines, kept in a ring buffer for ComfyUI's logs panel.

GET /internal/logs (one text), GET /internal/logs/raw ({entries: [{t, m}], size}),
PATCH /internal/logs/subscribe {enabled, clientId}: new lines then go to that client
over the websocket as `{"type": "logs", "data": {"entries": [...], "size": ...}}`.
"""

from __future__ import annotations

import collections
import datetime
import logging
import threading

from aiohttp import web

from api.errors import BadRequest, json_response, read_json_object

TERMINAL_SIZE = {"cols": 120, "rows": 40}


class LogRing(logging.Handler):
    """Keeps the last `size` formatted records and forwards new ones to subscribers."""

    def __init__(self, size: int = 1000):
        super().__init__()
        self.entries = collections.deque(maxlen=size)
        self.subscribers: set[str] = set()
        self.send = None          # send(event, data, client_id), set when the server starts
        self._sending = threading.local()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._sending, "active", False):
            return   # a record logged while forwarding a record
        try:
            entry = {"t": datetime.datetime.fromtimestamp(record.created).isoformat(), "m": self.format(record) + "\n"}
        except Exception:
            return
        self.entries.append(entry)
        if self.send is None or not self.subscribers:
            return
        self._sending.active = True
        try:
            for client_id in list(self.subscribers):
                self.send("logs", {"entries": [entry], "size": TERMINAL_SIZE}, client_id)
        finally:
            self._sending.active = False


def install(server) -> LogRing:
    ring = LogRing()
    ring.send = server.send_sync
    logging.getLogger().addHandler(ring)
    if logging.getLogger().level > logging.INFO or logging.getLogger().level == logging.NOTSET:
        logging.getLogger().setLevel(logging.INFO)
    return ring


def add_routes(routes: web.RouteTableDef, server) -> None:
    @routes.get("/internal/logs")
    async def logs(request):
        return json_response("".join(f"{e['t']} - {e['m']}" for e in server.logs.entries))

    @routes.get("/internal/logs/raw")
    async def logs_raw(request):
        return json_response({"entries": list(server.logs.entries), "size": TERMINAL_SIZE})

    @routes.patch("/internal/logs/subscribe")
    async def subscribe(request):
        data = await read_json_object(request)
        client_id = data.get("clientId")
        if not isinstance(client_id, str) or not client_id:
            raise BadRequest("clientId: expected the websocket's client id")
        if data.get("enabled", True):
            server.logs.subscribers.add(client_id)
        else:
            server.logs.subscribers.discard(client_id)
        return web.Response(status=200)
