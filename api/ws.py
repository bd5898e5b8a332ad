"""GET /ws?clientId=...: the websocket that carries status and execution events."""

from __future__ import annotations

import logging
import uuid

from aiohttp import WSMsgType, web

log = logging.getLogger("loom.api.ws")


def add_routes(routes: web.RouteTableDef, server) -> None:
    @routes.get("/ws")
    async def websocket(request):
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=1024 * 1024)
        await ws.prepare(request)
        client_id = request.query.get("clientId") or uuid.uuid4().hex
        server.hub.add(client_id, ws)
        try:
            await ws.send_json({"type": "status", "data": {"status": server.queue_status(), "sid": client_id}})
            if server.client_id == client_id and server.last_node_id is not None:
                # A reconnect while this client's prompt runs: say where it is.
                await ws.send_json({"type": "executing", "data": {
                    "node": server.last_node_id, "display_node": server.last_node_id,
                    "prompt_id": server.last_prompt_id}})
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    log.debug("websocket %s closed with %s", client_id, ws.exception())
                # Client messages (feature flags and the like) need no answer.
        finally:
            server.hub.remove(client_id, ws)
        return ws
