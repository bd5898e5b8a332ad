"""GET /ws?clientId=...: the websocket that carries status and execution events."""

from __future__ import annotations

import json
import logging
import uuid

from aiohttp import WSMsgType, web

from api.hub import SERVER_FEATURES

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
            first = True
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    log.debug("websocket %s closed with %s", client_id, ws.exception())
                elif message.type == WSMsgType.TEXT and first:
                    await _feature_flags(ws, message.data, server)
                first = False
        finally:
            server.hub.remove(client_id, ws)
        return ws


async def _feature_flags(ws, text: str, server) -> None:
    """ComfyUI's handshake: a client's first message may be its feature flags; the server
    remembers them (preview format) and answers with its own."""
    try:
        data = json.loads(text)
    except ValueError:
        return
    if not isinstance(data, dict) or data.get("type") != "feature_flags" or not isinstance(data.get("data"), dict):
        return
    server.hub.feature_flags[ws] = data["data"]
    features = dict(SERVER_FEATURES, max_upload_size=int(server.max_upload_bytes))
    await ws.send_json({"type": "feature_flags", "data": features})
