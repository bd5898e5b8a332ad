"""Helpers for the server tests: a tiny custom node pack, a real server on a real socket.

`running_server(tmp_path, **flags)` starts `api.app.create_app` on 127.0.0.1
(port 0) in a background thread and yields a `ServerHandle` with its base URL.
Tests talk to it over HTTP and websockets with aiohttp's client, inside
`asyncio.run(...)`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import textwrap
import threading
from pathlib import Path

import aiohttp

TEST_PACK = textwrap.dedent('''
    """Pure-Python nodes for the server tests (no torch)."""
    import time

    from graph import context


    class LoomTestSlow:
        """Ticks progress `steps` times, sleeping `delay` seconds between ticks."""
        CATEGORY = "loom_test"
        RETURN_TYPES = ("STRING",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {
                "text": ("STRING", {"default": "hello"}),
                "steps": ("INT", {"default": 3, "min": 1, "max": 10000}),
                "delay": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 60.0}),
            }}

        def run(self, text, steps, delay):
            ctx = context.current()
            for step in range(1, steps + 1):
                if delay:
                    time.sleep(delay)
                ctx.progress(step, steps)
            return (f"{text} x{steps}",)


    class LoomTestPreview:
        """Sends one PNG preview, then passes its text on."""
        CATEGORY = "loom_test"
        RETURN_TYPES = ("STRING",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"text": ("STRING", {"default": ""})}}

        def run(self, text):
            context.current().preview("PNG", PNG_BYTES)
            return (text,)


    class LoomTestSave:
        """Output node: writes the text to a PNG's tEXt chunk in the output dir."""
        CATEGORY = "loom_test"
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "save"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"text": ("STRING", {"default": ""}),
                                 "filename": ("STRING", {"default": "loom_test.png"})}}

        def save(self, text, filename):
            from engine import folders

            path = folders.get().output_dir / filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(PNG_BYTES)
            return {"ui": {"images": [{"filename": filename, "subfolder": "", "type": "output"}],
                           "text": [text]}}


    class LoomTestFail:
        """Output node that always raises a person-caused error."""
        CATEGORY = "loom_test"
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"text": ("STRING", {"default": ""})}}

        def run(self, text):
            raise ValueError("text: LoomTestFail always fails")


    def _png_bytes():
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format="PNG")
        return buffer.getvalue()


    PNG_BYTES = _png_bytes()

    NODE_CLASS_MAPPINGS = {
        "LoomTestSlow": LoomTestSlow,
        "LoomTestPreview": LoomTestPreview,
        "LoomTestSave": LoomTestSave,
        "LoomTestFail": LoomTestFail,
    }
    WEB_DIRECTORY = "./js"

    from aiohttp import web
    from server import PromptServer


    @PromptServer.instance.routes.get("/loom_test/hello")
    async def hello(request):
        return web.json_response({"hello": "from a pack"})


    @PromptServer.instance.routes.get("/loom_test/bug")
    async def bug(request):
        raise RuntimeError("a real bug with a secret path /home/someone")
''')


def write_test_pack(custom_dir: Path) -> Path:
    pack = custom_dir / "loom_test_pack"
    (pack / "js").mkdir(parents=True, exist_ok=True)
    (pack / "__init__.py").write_text(TEST_PACK, encoding="utf-8")
    (pack / "js" / "hello.js").write_text("console.log('loom test pack');\n", encoding="utf-8")
    return pack


def make_args(tmp_path: Path, **overrides) -> argparse.Namespace:
    custom_dir = tmp_path / "custom_nodes"
    write_test_pack(custom_dir)
    values = {
        "listen": "127.0.0.1",
        "port": 0,
        "output_directory": str(tmp_path / "output"),
        "input_directory": str(tmp_path / "input"),
        "temp_directory": str(tmp_path / "temp"),
        "user_directory": str(tmp_path / "user"),
        "custom_nodes_directory": str(custom_dir),
        "cache": "lru",
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def slow_prompt(text="hello", steps=3, delay=0.0, filename="loom_test.png") -> dict:
    return {
        "1": {"class_type": "LoomTestSlow", "inputs": {"text": text, "steps": steps, "delay": delay}},
        "2": {"class_type": "LoomTestSave", "inputs": {"text": ["1", 0], "filename": filename}},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerHandle:
    """A server running on its own event loop in a background thread."""

    def __init__(self, args, bind_host: str = "127.0.0.1"):
        self.args = args
        self.bind_host = bind_host
        self.url = None
        self.server = None
        self.error = None
        self._ready = threading.Event()
        self._loop = None
        self._stop = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.run(self._main())

    async def _main(self):
        from aiohttp import web

        try:
            from api.app import SERVER_KEY, create_app

            app = create_app(self.args)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, self.bind_host, 0).start()
        except BaseException as error:  # reported to the test thread
            self.error = error
            self._ready.set()
            return
        self.server = app[SERVER_KEY]
        self.url = f"http://{self.bind_host}:{runner.addresses[0][1]}"
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def start(self):
        self._thread.start()
        self._ready.wait(30)
        if self.error is not None:
            raise self.error
        return self

    def stop(self):
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    @property
    def ws_url(self):
        return self.url.replace("http://", "ws://") + "/ws"


@contextlib.contextmanager
def running_server(tmp_path: Path, bind_host: str = "127.0.0.1", **overrides):
    handle = ServerHandle(make_args(tmp_path, **overrides), bind_host).start()
    try:
        yield handle
    finally:
        handle.stop()


async def receive_json(ws, timeout: float = 10.0) -> dict:
    """The next JSON message (binary frames are returned as {'type': 'binary', 'data': bytes})."""
    message = await ws.receive(timeout=timeout)
    if message.type == aiohttp.WSMsgType.TEXT:
        return json.loads(message.data)
    if message.type == aiohttp.WSMsgType.BINARY:
        return {"type": "binary", "data": message.data}
    raise AssertionError(f"websocket closed or failed: {message.type} {message.data!r}")


async def events_until_done(ws, prompt_id: str, timeout: float = 20.0) -> list[dict]:
    """Collect messages until `executing` with node None for prompt_id."""
    events = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"prompt {prompt_id} did not finish; got {[e['type'] for e in events]}")
        event = await receive_json(ws, remaining)
        events.append(event)
        data = event.get("data")
        if (event["type"] == "executing" and isinstance(data, dict) and data.get("node") is None
                and data.get("prompt_id") == prompt_id):
            return events


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll an async predicate until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def post_prompt(session, url, prompt, client_id=None, **extra):
    body = {"prompt": prompt, **extra}
    if client_id is not None:
        body["client_id"] = client_id
    async with session.post(f"{url}/prompt", json=body) as response:
        return response.status, await response.json()
