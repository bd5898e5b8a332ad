"""Canvas editor benchmark: Loom's editor against bare LiteGraph on the same 500-node / 800-link graph.

Headless Chromium, pages served by a real Loom server. Prints, as ratios editor / bare LiteGraph
(medians over alternating runs): the time to load the workflow and draw it once (the first load in
a fresh page, and "warm": the median of five more loads in the same page), and the CPU time per
frame (CDP Performance.getMetrics TaskDuration / frames) while panning and zooming for 3 s.
Goals: load <= 1.5x, CPU per frame <= 1.2x.

    .venv/bin/python bench/bench_editor.py [--rounds 3] [--seconds 3]
"""

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

# Built inside the editor page (its node types come from /object_info): a grid of nodes, each
# input fed from a compatible output of an earlier column, until there are LINKS links.
GENERATE_JS = """async ([count, links]) => {
    const { LiteGraph } = await import("/vendor/litegraph.es.js");
    const types = ["CheckpointLoaderSimple", "CLIPTextEncode", "KSampler", "VAEDecode", "EmptyLatentImage", "SaveImage",
        "LoraLoader", "ConditioningCombine", "LatentComposite", "InpaintModelConditioning", "ImageBatch", "VAEEncode"];
    let seed = 1;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const nodes = [];
    for (let i = 0; i < count; i++) {
        const node = LiteGraph.createNode(types[Math.floor(rand() * types.length)]);
        node.pos = [(i % 25) * 320, Math.floor(i / 25) * 380];
        editor.graph.add(node);
        nodes.push(node);
    }
    let made = 0;
    for (let tries = 0; made < links && tries < links * 50; tries++) {
        const target = nodes[Math.floor(rand() * nodes.length)];
        const free = target.inputs.map((input, i) => [input, i]).filter(([input]) => input.link == null && !input.widget);
        if (!free.length) continue;
        const [input, slot] = free[Math.floor(rand() * free.length)];
        const sources = nodes.filter((n) => n.id < target.id && n.outputs.some((o) => o.type === input.type));
        if (!sources.length) continue;
        const source = sources[Math.floor(rand() * sources.length)];
        if (source.connect(source.outputs.findIndex((o) => o.type === input.type), target, slot)) made++;
    }
    const shapes = {};
    for (const node of nodes) {
        shapes[node.type] ??= {
            inputs: node.inputs.map((i) => ({ name: i.name, type: i.type, widget: i.widget })),
            outputs: node.outputs.map((o) => ({ name: o.name, type: o.type })),
            widgets: (node.widgets ?? []).map((w) => ({ type: w.type, name: w.name, value: w.value,
                options: w.type === "combo" ? { values: w.options.values } : w.type === "number" ? { ...w.options } : {} })),
        };
    }
    editor.checkpoint();
    return { workflow: editor.serialize(), shapes, links: made };
}"""

LOAD_JS = {
    "editor": """(wf) => { const t0 = performance.now(); editor.load(wf); editor.canvas.ds.scale = 0.7;
        editor.canvas.ds.offset = [0, 0]; editor.canvas.draw(true, true); return performance.now() - t0; }""",
    "bare": """([wf, shapes]) => { registerTypes(shapes); const t0 = performance.now(); bare.graph.configure(wf);
        bare.canvas.ds.scale = 0.7; bare.canvas.ds.offset = [0, 0]; bare.canvas.draw(true, true); return performance.now() - t0; }""",
}

# Pan and zoom for `seconds`: every animation frame moves the view; the canvas redraws itself.
ANIMATE_JS = """([name, seconds]) => new Promise((resolve) => {
    const c = name === "editor" ? editor.canvas : bare.canvas;
    let frames = 0;
    const drawn = c.draw.bind(c);
    c.draw = (...args) => { frames += 1; return drawn(...args); };
    const start = performance.now();
    const step = (now) => {
        const t = (now - start) / 1000;
        c.ds.offset[0] = -600 * Math.sin(t * 1.3);
        c.ds.offset[1] = -400 * Math.cos(t * 0.9);
        c.ds.scale = 0.75 + 0.2 * Math.sin(t * 2.1);
        c.setDirty(true, true);
        if (t < seconds) requestAnimationFrame(step); else { c.draw = drawn; resolve(frames); }
    };
    requestAnimationFrame(step);
})"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(base):
    port = free_port()
    process = subprocess.Popen([sys.executable, "server.py", "--port", str(port), "--base-directory", str(base),
                                "--disable-custom-nodes"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "system_stats", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


def open_page(browser, url, name):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url + ("editor/tests/harness.html" if name == "editor" else "editor/tests/bare.html"))
    page.wait_for_function("window.editorReady === true", timeout=30000)
    return page


def measure(browser, url, name, data, seconds):
    page = open_page(browser, url, name)
    arg = data["workflow"] if name == "editor" else [data["workflow"], data["shapes"]]
    load_ms = page.evaluate(LOAD_JS[name], arg)  # cold: the first load in a fresh page
    if name == "bare":
        arg = [data["workflow"], {}]  # the types are registered already
    warm_ms = statistics.median(page.evaluate(LOAD_JS[name], arg) for _ in range(5))  # e.g. switching tabs
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    task = lambda: {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}["TaskDuration"]
    before = task()
    frames = page.evaluate(ANIMATE_JS, [name, seconds])
    cpu_ms = (task() - before) * 1000 / max(frames, 1)
    page.close()
    return load_ms, warm_ms, cpu_ms, frames


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--links", type=int, default=800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base:
        process, url = start_server(base)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = open_page(browser, url, "editor")
                data = page.evaluate(GENERATE_JS, [args.nodes, args.links])
                page.close()
                print(f"graph: {len(data['workflow']['nodes'])} nodes, {len(data['workflow']['links'])} links")
                results = {"editor": [], "bare": []}
                for _ in range(args.rounds):
                    for name in ("editor", "bare"):
                        results[name].append(measure(browser, url, name, data, args.seconds))
                browser.close()
        finally:
            process.kill()
            process.wait()
    med = {name: [statistics.median(r[i] for r in runs) for i in range(4)] for name, runs in results.items()}
    for name, (load, warm, cpu, frames) in med.items():
        print(f"{name:7s} load {load:7.1f} ms (warm {warm:6.1f} ms)   cpu/frame {cpu:6.2f} ms   "
              f"frames in {args.seconds:g} s: {frames:.0f}")
    print(f"load ratio      {med['editor'][0] / med['bare'][0]:.2f}x  (goal <= 1.5x), "
          f"warm {med['editor'][1] / med['bare'][1]:.2f}x")
    print(f"cpu/frame ratio {med['editor'][2] / med['bare'][2]:.2f}x  (goal <= 1.2x)")


if __name__ == "__main__":
    main()
