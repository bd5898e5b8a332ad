"""Shared pieces of the editor page tests: a real Loom server with a tiny checkpoint
and a tiny front-end extension pack, and Debian's headless chromium via Playwright."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 720}

# A front-end extension written as for ComfyUI: it imports the app through the shim
# and records which hooks ran on window.extensionLog.
EXTENSION_JS = """
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
const log = (window.extensionLog ??= []);
app.registerExtension({
  name: "test.recorder",
  async init() {
    log.push("init");
    app.ui.settings.addSetting({id: "Recorder.Flag", name: "Recorder flag", type: "boolean", defaultValue: true,
                                onChange: (value) => log.push("flag:" + value)});
  },
  async setup(appArg) { log.push(appArg === app && app.graph ? "setup:graph" : "setup"); },
  async beforeRegisterNodeDef(nodeType, nodeDef) {
    if (nodeDef.name === "KSampler") log.push("beforeRegisterNodeDef:KSampler");
  },
  nodeCreated(node) { log.push("nodeCreated:" + (node.type ?? node.comfyClass)); },
  beforeConfigureGraph(workflow) { log.push("beforeConfigureGraph:" + workflow.nodes.length); },
  loadedGraphNode(node) { log.push("loadedGraphNode:" + node.type); },
  afterConfigureGraph(missing) { log.push("afterConfigureGraph:" + missing.length); },
});
api.addEventListener("executed", (event) => log.push("executed:" + event.detail.node));
"""


# Two tiny output nodes: one shows a text, one fails while running.
PACK_PY = """
class ShowText:
    CATEGORY = "test"
    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "show"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": "hello from a node"})}}

    def show(self, text):
        return {"ui": {"text": [text]}}


class FailWhenRun:
    CATEGORY = "test"
    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "fail"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"amount": ("INT", {"default": 3})}}

    def fail(self, amount):
        raise ValueError(f"amount: {amount} is not a good amount")


class SlowCount:
    # counts slowly with progress, so that a test can interrupt it while it runs
    CATEGORY = "test"
    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "count"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"steps": ("INT", {"default": 3000})}}

    def count(self, steps):
        import time
        import comfy.utils

        bar = comfy.utils.ProgressBar(steps)
        for _ in range(steps):
            time.sleep(0.01)
            bar.update(1)
        return {"ui": {"text": ["counted"]}}


NODE_CLASS_MAPPINGS = {"ShowText": ShowText, "FailWhenRun": FailWhenRun, "SlowCount": SlowCount}
WEB_DIRECTORY = "./web"
"""


def require_browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError("chromium is required for the editor tests in CI (./loom test installs it)")
        pytest.skip("chromium is not installed", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api").sync_playwright


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_checkpoint(base: Path) -> Path:
    """base/models/checkpoints/tiny.safetensors: a tiny SD1 checkpoint with random weights."""
    from tests.tiny_models import save_single_file, tiny_sd_components

    (base / "models" / "checkpoints").mkdir(parents=True)
    save_single_file(tiny_sd_components("sd1"), base / "models" / "checkpoints" / "tiny.safetensors")
    return base


def make_base(base: Path) -> Path:
    make_checkpoint(base)
    pack = base / "custom_nodes" / "recorder_pack"
    (pack / "web").mkdir(parents=True)
    (pack / "__init__.py").write_text(PACK_PY)
    (pack / "web" / "recorder.js").write_text(EXTENSION_JS)
    return base


def start_server(base: Path, *flags: str):
    """A real `server.py` on a free port over `base`; returns (process, url ending in /).
    Without flags it loads the custom packs under base/custom_nodes."""
    port = free_port()
    flags = flags or ("--custom-nodes-directory", str(base / "custom_nodes"))
    process = subprocess.Popen(
        [sys.executable, "server.py", "--port", str(port), "--base-directory", str(base), *flags],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "system_stats", timeout=1)
            return process, url
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    pytest.fail("server did not start:\n" + process.stdout.read())


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


class PageErrors(list):
    def attach(self, page):
        page.on("pageerror", lambda error: self.append(str(error)))
        return page


def open_editor(context, url: str, errors: PageErrors):
    page = errors.attach(context.new_page())
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    return page


def open_panel(page, panel: str) -> None:
    """Open a side panel and wait until it has slid in."""
    page.click(f"#{panel}-panel-button")
    page.wait_for_function("() => getComputedStyle(document.getElementById('panels')).transform === 'none'")


def node_of_type(page, node_type: str) -> dict:
    """The first node of `node_type` in the live graph: {id, widgets: {name: value}, isMissing}."""
    return page.evaluate(
        """type => {
            const node = loom.editor.graph._nodes.find(n => n.type === type);
            if (!node) return null;
            const widgets = Object.fromEntries((node.widgets ?? []).map(w => [w.name, w.value]));
            return {id: node.id, widgets, isMissing: Boolean(node.isMissing)};
        }""",
        node_type,
    )


def set_widgets(page, node_type: str, values: dict) -> None:
    """Change widget values as a user would, then tell the page the graph changed."""
    page.evaluate(
        """([type, values]) => {
            const node = loom.editor.graph._nodes.find(n => n.type === type);
            for (const [name, value] of Object.entries(values)) {
                const widget = node.widgets.find(w => w.name === name);
                widget.value = value;
                widget.callback?.(value, loom.editor.canvas, node);
            }
            loom.editor.graph.change?.();
        }""",
        [node_type, values],
    )


def serialized(page) -> dict:
    """The live workflow without the view position (not an edit)."""
    return page.evaluate("() => { const w = JSON.parse(JSON.stringify(loom.editor.serialize())); if (w.extra) delete w.extra.ds; return w; }")
