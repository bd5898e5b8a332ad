"""ComfyUI's own web frontend (comfyui-frontend-package) served by Loom, in headless Chromium.

It must load past its splash screen, list Loom's nodes and models, run a text-to-image
workflow on a tiny checkpoint with the running node and the queue shown, save, rename,
reopen and delete a workflow, and show log lines, with no unexpected 4xx/5xx answer.
"""

import importlib.util
import json
import urllib.request

import pytest

from tests.editor_support import CHROMIUM, make_checkpoint, require_browser, start_server

if importlib.util.find_spec("comfyui_frontend_package") is None:
    pytest.skip("comfyui-frontend-package is not installed (it is in requirements-test.txt)", allow_module_level=True)
sync_playwright = require_browser()

# Answers ComfyUI itself gives on a fresh install: files and folders that do not exist yet.
EXPECTED_MISSES = ("/api/userdata/comfy.templates.json", "/api/userdata?dir=subgraphs",
                   "/api/userdata?dir=workflows")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = make_checkpoint(tmp_path_factory.mktemp("comfy_frontend"))
    process, url = start_server(base, "--disable-custom-nodes", "--front-end", "comfyui")
    yield url.rstrip("/"), base
    process.kill()
    process.wait()


def test_comfyui_frontend_runs_against_loom(server, tmp_path):
    url, base = server
    failures = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("response", lambda r: failures.append((r.status, r.request.method, r.url[len(url):]))
                if r.status >= 400 else None)
        page_errors = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.goto(url + "/")
        page.wait_for_function("window.app && window.app.isGraphReady && !document.querySelector('#splash-loader')",
                               timeout=90000)

        # the node library and the model library see Loom's nodes and models
        registered = page.evaluate("Object.keys(LiteGraph.registered_node_types)")
        assert {"KSampler", "CheckpointLoaderSimple", "SaveImage", "CLIPTextEncode"} <= set(registered)
        models = page.evaluate("window.app.api.getModels('checkpoints')")
        assert [m["name"] for m in models] == ["tiny.safetensors"]

        # a text-to-image run: the running node is highlighted, the queue shows the job
        workflow = json.loads(urllib.request.urlopen(url + "/default_workflow").read())
        for node in workflow["nodes"]:
            if node["type"] == "EmptyLatentImage":
                node["widgets_values"][:2] = [64, 64]
            if node["type"] == "KSampler":
                node["widgets_values"][2] = 2
        page.evaluate("""async (workflow) => {
            window.__running = []; window.__done = null; window.__jobsSeen = [];
            const api = window.app.api;
            const seeRunning = () => setTimeout(() => window.__running.push(window.app.runningNodeId), 0);
            api.addEventListener('executing', seeRunning);
            api.addEventListener('progress_state', seeRunning);
            api.addEventListener('progress', async () => {
                const jobs = await (await fetch('/api/jobs?status=in_progress,pending')).json();
                window.__jobsSeen.push(...jobs.jobs.map(j => j.status));
            });
            api.addEventListener('execution_success', (e) => { window.__done = e.detail.prompt_id; });
            await window.app.loadGraphData(workflow);
            await window.app.queuePrompt(0, 1);
        }""", workflow)
        page.wait_for_function("window.__done", timeout=120000)
        prompt_id = page.evaluate("window.__done")
        running = page.evaluate("window.__running")
        assert "3" in [str(r) for r in running], running          # the KSampler was highlighted
        assert "in_progress" in page.evaluate("window.__jobsSeen")
        page.wait_for_function("Object.values(window.app.nodeOutputs).some(o => o.images && o.images.length)",
                               timeout=30000)
        jobs = json.loads(urllib.request.urlopen(url + "/api/jobs?status=completed").read())["jobs"]
        assert jobs[0]["id"] == prompt_id and jobs[0]["preview_output"]["filename"].endswith(".png")
        page.screenshot(path=str(tmp_path / "comfyui_frontend_after_run.png"))

        # save, rename, reopen and delete a workflow
        page.evaluate("""async () => {
            const store = window.app.extensionManager.workflow;
            const saved = store.saveAs(store.activeWorkflow, 'workflows/loom check.json');
            await store.openWorkflow(saved);
            await store.saveWorkflow(saved);
            await store.renameWorkflow(saved, 'workflows/loom renamed.json');
            await store.openWorkflow(store.getWorkflowByPath('workflows/loom renamed.json'));
        }""")
        folder = base / "user" / "default" / "workflows"
        assert [p.name for p in folder.iterdir()] == ["loom renamed.json"]
        reopened = json.loads((folder / "loom renamed.json").read_text())
        assert any(n["type"] == "KSampler" for n in reopened["nodes"])
        page.evaluate("""async () => {
            const store = window.app.extensionManager.workflow;
            await store.deleteWorkflow(store.getWorkflowByPath('workflows/loom renamed.json'));
        }""")
        assert list(folder.iterdir()) == []

        # the logs panel's data
        logs = page.evaluate("window.app.api.getRawLogs()")
        assert logs["entries"] and all("m" in entry for entry in logs["entries"])
        browser.close()

    unexpected = [f for f in failures if not f[2].startswith(EXPECTED_MISSES)]
    assert unexpected == [], unexpected
    assert page_errors == [], page_errors
