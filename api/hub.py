"""The websocket hub: who is connected, and sending events to them in order.

Events come from any thread through `send_sync`; they are handed to the
aiohttp loop with call_soon_threadsafe and sent by one task, so each client
sees them in the order they were emitted. An event with a client id goes to
that client's sockets only (a reconnect with the same clientId picks them up);
without one it goes to everybody.
"""

from __future__ import annotations

import asyncio
import io
import logging
import struct

from aiohttp import web

from graph.json_policy import dumps_strict

log = logging.getLogger("loom.api.ws")

PREVIEW_IMAGE = 1  # binary event types, as in ComfyUI
PREVIEW_IMAGE_WITH_METADATA = 4
IMAGE_TYPES = {"JPEG": 1, "JPG": 1, "PNG": 2}
MIME_TYPES = {1: "image/jpeg", 2: "image/png"}

# What this server tells a client that sends its feature flags (ComfyUI's handshake).
SERVER_FEATURES = {"supports_preview_metadata": True, "max_upload_size": None}


def encode_preview(data, with_metadata: bool = False) -> bytes | None:
    """Binary frame for a preview: event type, image type, image bytes (big-endian u32s);
    or, for clients that support it, type 4: metadata length, metadata JSON, image bytes.

    Accepts the contract's dict {"format", "image", "node", "prompt_id"} and ComfyUI's tuple
    (format, image, max_size) where image is bytes or a PIL image.
    """
    if isinstance(data, dict):
        image_format, image = data.get("format"), data.get("image")
    elif isinstance(data, (tuple, list)) and len(data) >= 2:
        image_format, image = data[0], data[1]
    else:
        return None
    image_format = str(image_format or "JPEG").upper()
    if hasattr(image, "save"):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG" if IMAGE_TYPES.get(image_format) == 1 else "PNG", quality=95)
        image = buffer.getvalue()
    if not isinstance(image, (bytes, bytearray)):
        return None
    image_type = IMAGE_TYPES.get(image_format, 1)
    if with_metadata:
        node = data.get("node") if isinstance(data, dict) else None
        metadata = dumps_strict({
            "node_id": node, "prompt_id": data.get("prompt_id") if isinstance(data, dict) else None,
            "display_node_id": node, "parent_node_id": None, "real_node_id": node,
            "image_type": MIME_TYPES[image_type]}).encode("utf-8")
        return struct.pack(">II", PREVIEW_IMAGE_WITH_METADATA, len(metadata)) + metadata + bytes(image)
    return struct.pack(">II", PREVIEW_IMAGE, image_type) + bytes(image)


class WebSocketHub:
    def __init__(self):
        self.sockets: dict[str, set[web.WebSocketResponse]] = {}
        self.feature_flags: dict[web.WebSocketResponse, dict] = {}   # what each socket said it supports
        self.loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue | None = None
        self._sender: asyncio.Task | None = None

    # -- lifecycle (on the loop) ---------------------------------------------------

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._outbox = asyncio.Queue()
        self._sender = self.loop.create_task(self._send_forever())

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            try:
                await self._sender
            except (asyncio.CancelledError, Exception):
                pass
        for sockets in list(self.sockets.values()):
            for ws in list(sockets):
                await ws.close()
        self.sockets.clear()

    def add(self, client_id: str, ws: web.WebSocketResponse) -> bool:
        """Register a socket; True when this client id was seen connected before."""
        known = client_id in self.sockets
        self.sockets.setdefault(client_id, set()).add(ws)
        return known

    def remove(self, client_id: str, ws: web.WebSocketResponse) -> None:
        self.feature_flags.pop(ws, None)
        sockets = self.sockets.get(client_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self.sockets[client_id]

    # -- sending ---------------------------------------------------------------------

    def send_sync(self, event, data, client_id: str | None = None) -> None:
        """Queue an event from any thread; dropped when the loop is not running."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._outbox.put_nowait, (event, data, client_id))
        except RuntimeError:  # the loop closed meanwhile
            pass

    async def send(self, event, data, client_id: str | None = None) -> None:
        """Queue an event from the loop's own thread (keeps the order with send_sync)."""
        if self._outbox is not None:
            self._outbox.put_nowait((event, data, client_id))

    async def _send_forever(self) -> None:
        while True:
            event, data, client_id = await self._outbox.get()
            try:
                await self.deliver(event, data, client_id)
            except Exception:
                log.exception("could not send %r", event)

    async def deliver(self, event, data, client_id: str | None) -> None:
        preview = event in ("preview_image", PREVIEW_IMAGE)
        messages = {}
        if client_id is None:
            targets = [ws for sockets in self.sockets.values() for ws in sockets]
        else:
            targets = list(self.sockets.get(client_id, ()))
        for ws in targets:
            if ws.closed:
                continue
            kind = preview and bool(self.feature_flags.get(ws, {}).get("supports_preview_metadata"))
            if kind not in messages:
                messages[kind] = (encode_preview(data, kind) if preview
                                  else dumps_strict({"type": event, "data": data}, default=str))
            message = messages[kind]
            if message is None:
                continue
            try:
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_str(message)
            except (ConnectionError, RuntimeError):
                pass  # the client went away; its handler removes it
