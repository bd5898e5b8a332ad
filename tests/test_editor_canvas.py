"""The canvas editor (web/editor/) driven by mouse and keyboard in headless chromium against a real server."""

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

from tests.tiny_models import save_single_file, tiny_sd_components

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("chromium is required for the editor tests in CI (./loom test installs it)")
    pytest.skip("chromium is not installed", allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("loom")
    (base / "models" / "checkpoints").mkdir(parents=True)
    save_single_file(tiny_sd_components("sd1"), base / "models" / "checkpoints" / "tiny.safetensors")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "server.py", "--port", str(port), "--base-directory", str(base), "--disable-custom-nodes"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "system_stats", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("server did not start:\n" + process.stdout.read())
    yield url
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Editor:
    """One harness page and the mouse/keyboard gestures the tests use."""

    def __init__(self, page, shots):
        self.page = page
        self.shots = shots

    def js(self, expression, arg=None):
        return self.page.evaluate(expression, arg)

    def shot(self, name):
        self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def saved(self):
        """The serialised workflow without the view position, nodes in id order (not drawing order)."""
        wf = self.js("editor.serialize()")
        wf.get("extra", {}).pop("ds", None)
        wf["nodes"].sort(key=lambda n: n["id"])
        for node in wf["nodes"]:
            node.pop("order", None)  # execution order among independent nodes follows drawing order
        return wf

    def slot(self, node_id, is_input, slot):
        """Client coordinates of a node's input/output slot."""
        return self.js("""([id, isInput, slot]) => {
            const node = editor.graph.getNodeById(id);
            const index = typeof slot === "number" ? slot
                : (isInput ? node.inputs : node.outputs).findIndex((s) => s.name === slot);
            const [x, y] = editor.canvas.ds.convertOffsetToCanvas(node.getConnectionPos(isInput, index));
            const r = editor.canvas.canvas.getBoundingClientRect();
            return [r.left + x, r.top + y];
        }""", [node_id, is_input, slot])

    def title(self, node_id):
        return self.js("""(id) => {
            const node = editor.graph.getNodeById(id);
            const [x, y] = editor.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] - 15]);
            return [x, y];
        }""", node_id)

    def widget_point(self, node_id, name, fraction=0.5):
        """Client coordinates inside a widget (fraction of its width)."""
        return self.js("""([id, name, f]) => {
            const node = editor.graph.getNodeById(id);
            const w = node.widgets.find((w) => w.name === name);
            const [x, y] = editor.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] * f, node.pos[1] + w.y + 10]);
            return [x, y];
        }""", [node_id, name, fraction])

    def dblclick(self, x, y):
        """Two clicks some ms apart: LiteGraph ignores a second click with the same timestamp."""
        self.page.wait_for_timeout(400)  # a new double-click, not the tail of the last one
        self.page.mouse.click(x, y)
        self.page.wait_for_timeout(40)
        self.page.mouse.click(x, y)

    def drag(self, start, end, steps=10):
        self.page.mouse.move(*start)
        self.page.mouse.down()
        self.page.mouse.move(*end, steps=steps)
        self.page.mouse.up()
        self.page.wait_for_timeout(50)

    def add_by_search(self, x, y, query, expected):
        """Double-click empty canvas at (x, y), type, press Enter; returns the new node's id."""
        before = self.js("editor.graph._nodes.map((n) => n.id)")
        self.dblclick(x, y)
        self.page.wait_for_selector(".loom-search input")
        self.page.keyboard.type(query)
        first = self.page.get_attribute(".loom-search li[aria-selected=true]", "data-name")
        assert first == expected, f"search {query!r} ranked {first} first"
        self.page.keyboard.press("Enter")
        new = [n for n in self.js("editor.graph._nodes.map((n) => n.id)") if n not in before]
        assert len(new) == 1
        assert self.js("(id) => editor.graph.getNodeById(id).type", new[0]) == expected
        return new[0]

    def connect(self, origin, output, target, input_name):
        self.drag(self.slot(origin, False, output), self.slot(target, True, input_name))


def open_editor(browser, server, shots, context=None):
    page = (context or browser).new_page(viewport={"width": 1280, "height": 720})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "editor/tests/harness.html")
    page.wait_for_function("window.editorReady === true", timeout=20000)
    page.errors = errors
    return Editor(page, shots)


@pytest.fixture
def editor(browser, server, tmp_path):
    ed = open_editor(browser, server, tmp_path)
    yield ed
    assert ed.page.errors == [], ed.page.errors
    ed.page.close()


def linkset(wf):
    """Links as (origin type, output name, target type, input name), independent of ids."""
    nodes = {n["id"]: n for n in wf["nodes"]}
    return sorted(
        (nodes[o]["type"], nodes[o]["outputs"][os_]["name"], nodes[t]["type"], nodes[t]["inputs"][ts]["name"])
        for _, o, os_, t, ts, _type in wf["links"]
    )


def by_type(wf, type_):
    return [n for n in wf["nodes"] if n["type"] == type_]


TXT2IMG_LINKS = sorted([
    ("CheckpointLoaderSimple", "MODEL", "KSampler", "model"),
    ("CheckpointLoaderSimple", "CLIP", "CLIPTextEncode", "clip"),
    ("CheckpointLoaderSimple", "CLIP", "CLIPTextEncode", "clip"),
    ("CheckpointLoaderSimple", "VAE", "VAEDecode", "vae"),
    ("CLIPTextEncode", "CONDITIONING", "KSampler", "positive"),
    ("CLIPTextEncode", "CONDITIONING", "KSampler", "negative"),
    ("EmptyLatentImage", "LATENT", "KSampler", "latent_image"),
    ("KSampler", "LATENT", "VAEDecode", "samples"),
    ("VAEDecode", "IMAGE", "SaveImage", "images"),
])


def build_txt2img(ed):
    """Build the txt2img graph from an empty canvas with the mouse and keyboard; returns the node ids."""
    ids = {
        "ckpt": ed.add_by_search(40, 120, "load checkpoint", "CheckpointLoaderSimple"),
        "pos": ed.add_by_search(300, 60, "clip text encode", "CLIPTextEncode"),
        "neg": ed.add_by_search(300, 300, "cliptextenc", "CLIPTextEncode"),
        "latent": ed.add_by_search(300, 520, "empty latent", "EmptyLatentImage"),
        "ks": ed.add_by_search(570, 60, "ksampler", "KSampler"),
        "vae": ed.add_by_search(820, 60, "vae decode", "VAEDecode"),
        "save": ed.add_by_search(1055, 60, "save image", "SaveImage"),
    }
    ed.connect(ids["ckpt"], "MODEL", ids["ks"], "model")
    ed.connect(ids["ckpt"], "CLIP", ids["pos"], "clip")
    ed.connect(ids["ckpt"], "CLIP", ids["neg"], "clip")
    ed.connect(ids["pos"], "CONDITIONING", ids["ks"], "positive")
    ed.connect(ids["neg"], "CONDITIONING", ids["ks"], "negative")
    ed.connect(ids["latent"], "LATENT", ids["ks"], "latent_image")
    ed.connect(ids["ks"], "LATENT", ids["vae"], "samples")
    ed.connect(ids["ckpt"], "VAE", ids["vae"], "vae")
    ed.connect(ids["vae"], "IMAGE", ids["save"], "images")
    # widgets: prompts in the text areas, a number through the value prompt, the seed's control combo
    ed.page.click(f'textarea[data-node="{ids["pos"]}"]')
    ed.page.keyboard.type("a photo of a cat")
    ed.page.click(f'textarea[data-node="{ids["neg"]}"]')
    ed.page.keyboard.type("blurry")
    ed.page.mouse.click(*ed.widget_point(ids["latent"], "width"))
    ed.page.wait_for_selector(".graphdialog input")
    ed.page.fill(".graphdialog input", "253")
    ed.page.keyboard.press("Enter")
    ed.page.mouse.click(*ed.widget_point(ids["ks"], "steps", 0.93))  # the right arrow: +1
    ed.page.mouse.click(*ed.widget_point(ids["ks"], "control_after_generate"))
    ed.page.click(".litecontextmenu .litemenu-entry:has-text('fixed')")
    ed.page.wait_for_timeout(400)
    return ids


def test_build_txt2img_by_mouse_and_keyboard(editor):
    assert editor.saved()["nodes"] == []
    ids = build_txt2img(editor)
    editor.shot("txt2img")
    wf = editor.saved()
    assert wf["version"] == 0.4
    assert sorted(n["type"] for n in wf["nodes"]) == sorted(
        ["CheckpointLoaderSimple", "CLIPTextEncode", "CLIPTextEncode", "EmptyLatentImage", "KSampler", "VAEDecode", "SaveImage"])
    assert linkset(wf) == TXT2IMG_LINKS
    nodes = {n["id"]: n for n in wf["nodes"]}
    assert nodes[ids["pos"]]["widgets_values"] == ["a photo of a cat"]
    assert nodes[ids["neg"]]["widgets_values"] == ["blurry"]
    assert nodes[ids["latent"]]["widgets_values"] == [256, 512, 1]  # rounded to a multiple of 8
    assert nodes[ids["ks"]]["widgets_values"] == [0, "fixed", 21, 8, "euler", "normal", 1]
    assert nodes[ids["ckpt"]]["widgets_values"] == ["tiny.safetensors"]
    assert nodes[ids["save"]]["widgets_values"] == ["ComfyUI"]
    ks = nodes[ids["ks"]]
    assert [i["name"] for i in ks["inputs"]] == [
        "model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative", "latent_image", "denoise"]
    assert ks["inputs"][1] == {"name": "seed", "type": "INT", "widget": {"name": "seed"}, "link": None}
    assert ks["properties"]["Node name for S&R"] == "KSampler"
    # every link's type is the output's type, and the slots agree with the links
    for link_id, origin, out_slot, target, in_slot, type_ in wf["links"]:
        assert nodes[origin]["outputs"][out_slot]["type"] == type_
        assert link_id in nodes[origin]["outputs"][out_slot]["links"]
        assert nodes[target]["inputs"][in_slot]["link"] == link_id
    assert editor.js("window.editorChanges") > 10


BUILD_TXT2IMG_JS = """() => {
    const LiteGraph = window.LiteGraphForTests;
    const add = (type, x, y) => { const n = LiteGraph.createNode(type); n.pos = [x, y]; editor.graph.add(n); return n; };
    const ckpt = add("CheckpointLoaderSimple", 40, 120), pos = add("CLIPTextEncode", 300, 40),
        neg = add("CLIPTextEncode", 300, 280), latent = add("EmptyLatentImage", 300, 500),
        ks = add("KSampler", 600, 60), vae = add("VAEDecode", 860, 60), save = add("SaveImage", 860, 300);
    const link = (a, out, b, input) => a.connect(out, b, b.inputs.findIndex((i) => i.name === input));
    link(ckpt, 0, ks, "model"); link(ckpt, 1, pos, "clip"); link(ckpt, 1, neg, "clip");
    link(pos, 0, ks, "positive"); link(neg, 0, ks, "negative"); link(latent, 0, ks, "latent_image");
    link(ks, 0, vae, "samples"); link(ckpt, 2, vae, "vae"); link(vae, 0, save, "images");
    pos.widgets[0].value = "a cat";
    const wf = editor.serialize();
    editor.load(wf);
    return Object.fromEntries([["ckpt", ckpt], ["pos", pos], ["neg", neg], ["latent", latent], ["ks", ks], ["vae", vae], ["save", save]]
        .map(([k, n]) => [k, n.id]));
}"""


def load_txt2img(ed):
    ed.js("async () => { window.LiteGraphForTests = (await import('/vendor/litegraph.es.js')).LiteGraph; }")
    return ed.js(BUILD_TXT2IMG_JS)


def node_of(wf, node_id):
    return next(n for n in wf["nodes"] if n["id"] == node_id)


def test_undo_redo_a_series_of_edits(editor):
    ids = load_txt2img(editor)
    assert editor.js("editor.canUndo()") is False
    states = [editor.saved()]
    page = editor.page
    # 1: move a node by its title
    x, y = editor.title(ids["ks"])
    editor.drag((x, y), (x + 60, y + 40))
    page.wait_for_timeout(100)
    states.append(editor.saved())
    assert node_of(states[1], ids["ks"])["pos"] != node_of(states[0], ids["ks"])["pos"]
    # 2: type into a prompt (one undo step after a pause)
    page.click(f'textarea[data-node="{ids["pos"]}"]')
    page.keyboard.insert_text(" on a sofa")  # one input event: typing slowly may make several undo steps
    page.wait_for_timeout(500)
    states.append(editor.saved())
    assert node_of(states[2], ids["pos"])["widgets_values"] == ["a cat on a sofa"]
    # 3: mute a node with Ctrl+M
    page.mouse.click(*editor.title(ids["latent"]))
    page.keyboard.press("Control+KeyM")
    states.append(editor.saved())
    assert node_of(states[3], ids["latent"])["mode"] == 2
    # 4: delete a node with Delete
    page.mouse.click(*editor.title(ids["vae"]))
    page.keyboard.press("Delete")
    page.wait_for_timeout(100)
    states.append(editor.saved())
    assert ids["vae"] not in [n["id"] for n in states[4]["nodes"]]
    assert len(states[4]["links"]) == len(states[3]["links"]) - 3
    # 5: add a node by search
    editor.add_by_search(1000, 560, "preview image", "PreviewImage")
    page.wait_for_timeout(100)
    states.append(editor.saved())
    # back through every state, then forward again with both redo keys
    page.mouse.click(640, 700)
    for expected in reversed(states[:-1]):
        page.keyboard.press("Control+KeyZ")
        assert editor.saved() == expected
    assert editor.js("editor.canUndo()") is False
    for i, expected in enumerate(states[1:]):
        page.keyboard.press("Control+Shift+KeyZ" if i % 2 else "Control+KeyY")
        assert editor.saved() == expected
    assert editor.js("editor.canRedo()") is False
    # a shortcut is found by its physical key: a Cyrillic layout's Ctrl+Я is still undo
    editor.js("""() => document.body.dispatchEvent(new KeyboardEvent("keydown",
        { key: "я", code: "KeyZ", ctrlKey: true, bubbles: true }))""")
    assert editor.saved() == states[-2]
    # Ctrl+Z inside a text box undoes the text, not the graph
    page.click(f'textarea[data-node="{ids["neg"]}"]')
    page.keyboard.type("xyz")
    page.wait_for_timeout(500)
    assert node_of(editor.saved(), ids["neg"])["widgets_values"] == ["xyz"]
    page.keyboard.press("Control+KeyZ")
    page.wait_for_timeout(500)
    assert editor.saved() == states[-2]
