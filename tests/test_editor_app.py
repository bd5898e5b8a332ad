"""The editor page against a real server (tiny checkpoint) in headless chromium:
queueing, live feedback, the gallery, history, errors, images carrying workflows."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.editor_support import (
    VIEWPORT, PageErrors, get_json, make_base, node_of_type, open_editor, open_panel, require_browser, serialized,
    set_widgets, start_server, CHROMIUM, CHROMIUM_FLAGS,
)

sync_playwright = require_browser()

REPO = Path(__file__).resolve().parent.parent

SMALL = {"EmptyLatentImage": {"width": 64, "height": 64}, "KSampler": {"steps": 2, "seed": 3}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process, url = start_server(make_base(tmp_path_factory.mktemp("loom")))
    yield url
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()


@pytest.fixture
def errors():
    errors = PageErrors()
    yield errors
    assert list(errors) == [], errors


# Puts the node at (100, 100) on the canvas and counts the distinct colours in the
# 48x48 square just under it, where the editor draws a node's output images.
COLOURS_UNDER_NODE = """id => {
    const {graph, canvas} = loom.editor;
    const node = graph.getNodeById(id);
    canvas.ds.scale = 1;
    canvas.ds.offset = [100 - node.pos[0], 100 - node.pos[1]];
    canvas.draw(true, true);
    const data = canvas.canvas.getContext("2d").getImageData(108, 100 + node.size[1] + 12, 48, 48).data;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return colours.size;
}"""


def make_small(page):
    for node_type, values in SMALL.items():
        set_widgets(page, node_type, values)


def queue_and_wait_for_image(page):
    """Queue with the button; wait for the image to reach the gallery; -> the executed spy calls."""
    page.evaluate("""() => {
        window.calls = [];
        for (const name of ["setNodeOutput", "setRunning", "setProgress", "setPreview"]) {
            const original = loom.editor[name].bind(loom.editor);
            loom.editor[name] = (...args) => { calls.push([name, ...args]); return original(...args); };
        }
    }""")
    page.click("#queue-button")
    page.wait_for_function("() => calls.some(([name]) => name === 'setNodeOutput')", timeout=60_000)
    return page.evaluate("() => calls.filter(([name]) => name === 'setNodeOutput').map(([, id, output]) => [String(id), output])")


def test_default_workflow_runs_and_shows_its_image_on_the_node_and_in_the_gallery(server, context, errors, tmp_path):
    page = open_editor(context, server, errors)
    checkpoint = node_of_type(page, "CheckpointLoaderSimple")
    assert checkpoint["widgets"]["ckpt_name"] == "tiny.safetensors"
    sampler = node_of_type(page, "KSampler")
    assert sampler["widgets"]["sampler_name"] == "euler"
    choices = page.evaluate(f"() => loom.editor.graph.getNodeById({sampler['id']}).widgets"
                            ".find(w => w.name === 'sampler_name').options.values")
    assert "euler" in choices and "dpmpp_2m" in choices
    default_texts = {node["inputs"]["text"] for node in json.loads(
        (REPO / "workflows" / "demo_txt2img.json").read_text()).values() if node["class_type"] == "CLIPTextEncode"}
    assert node_of_type(page, "CLIPTextEncode")["widgets"]["text"] in default_texts
    assert page.locator("#tabs .tab.active").inner_text().startswith("Unsaved Workflow")
    make_small(page)
    save = node_of_type(page, "SaveImage")
    assert page.evaluate(f"() => ({COLOURS_UNDER_NODE})({save['id']})") < 50
    page.evaluate("""() => {
        const bar = document.getElementById('progress-bar');
        window.progressSeen = [];
        new MutationObserver(() => progressSeen.push(bar.getAttribute('aria-valuenow'))).observe(bar, {attributes: true});
    }""")
    outputs = queue_and_wait_for_image(page)
    assert outputs[0][0] == str(save["id"])
    image = outputs[0][1]["images"][0]
    assert image["type"] == "output" and image["filename"].endswith(".png")
    # the image is drawn on the canvas under the Save node: many distinct colours where there was background
    page.wait_for_function(f"() => ({COLOURS_UNDER_NODE})({save['id']}) > 200", timeout=10_000)
    page.screenshot(path=str(tmp_path / "after_run.png"))
    # live feedback on the graph: the sampler ran with progress and a preview, then nothing runs
    page.wait_for_function("() => calls.some(([name, id]) => name === 'setRunning' && id === null)")
    calls = page.evaluate("() => calls.map(([name, id, ...rest]) => [name, id === null ? null : String(id), ...rest])")
    sampler_id = str(node_of_type(page, "KSampler")["id"])
    assert ["setRunning", sampler_id] in calls
    assert ["setProgress", sampler_id, 2, 2] in calls
    previews = [c for c in calls if c[0] == "setPreview"]
    assert previews and previews[-1][1] == sampler_id and previews[-1][2].startswith("blob:")
    assert calls[-1] == ["setRunning", None]
    # the bar under the top bar followed the sampler's steps, then emptied
    seen = page.evaluate("() => progressSeen")
    assert "50" in seen and "100" in seen and seen[-1] == "0"
    open_panel(page, "gallery")
    thumb = f'.gallery-item[data-filename="{image["filename"]}"] img'
    page.wait_for_function("s => { const img = document.querySelector(s); return img?.complete && img.naturalWidth === 64; }",
                           arg=thumb)
    page.screenshot(path=str(tmp_path / "gallery.png"))
    # an output image opens full size, and its embedded workflow opens in a new tab
    queued_ids = [n["id"] for n in serialized(page)["nodes"]]
    page.locator(thumb).first.click()
    page.click("#image-dialog button:has-text('Open its workflow')")
    page.wait_for_function("() => document.querySelectorAll('#tabs .tab').length === 2")
    assert [n["id"] for n in serialized(page)["nodes"]] == queued_ids
    # the status line follows the queue and the seed control ran after queueing ("randomize" by default)
    page.wait_for_function("() => document.querySelector('#status').textContent === 'Queue: 0'")


def test_history_reopens_a_past_run_and_ctrl_enter_queues(server, context, errors):
    page = open_editor(context, server, errors)
    make_small(page)
    set_widgets(page, "CLIPTextEncode", {"text": "a run to find again"})
    queued = serialized(page)
    # previews switched off in the settings: none reach the graph
    page.evaluate("""() => {
        loom.settings.set("Loom.Preview", false);
        window.previews = 0;
        const original = loom.editor.setPreview.bind(loom.editor);
        loom.editor.setPreview = (...args) => { previews += 1; return original(...args); };
    }""")
    page.click("#queue-panel-button")
    page.locator("#graph-canvas").focus()
    with page.expect_response(lambda r: r.url.endswith("/prompt") and r.request.method == "POST") as response:
        page.keyboard.press("Control+Enter")
    prompt_id = response.value.json()["prompt_id"]
    assert response.value.request.post_data_json["extra_data"]["preview_method"] == "none"
    # the open panel follows the queue over the websocket: pending or running, then done
    done = page.locator(f'.history-list .queue-item.done[data-prompt-id="{prompt_id}"]')
    done.wait_for(timeout=60_000)
    assert page.evaluate("() => previews") == 0
    page.evaluate("() => loom.settings.set('Loom.Preview', true)")
    tabs_before = page.locator("#tabs .tab").count()
    done.locator("button.open-run").click()
    page.wait_for_function(f"() => document.querySelectorAll('#tabs .tab').length === {tabs_before + 1}")
    reopened = serialized(page)
    texts = [n["widgets_values"][0] for n in reopened["nodes"] if n["type"] == "CLIPTextEncode"]
    assert "a run to find again" in texts
    assert sorted(n["id"] for n in reopened["nodes"]) == sorted(n["id"] for n in queued["nodes"])


def test_unlinked_required_input_is_reported_on_its_node(server, context, errors, tmp_path):
    page = open_editor(context, server, errors)
    sampler = node_of_type(page, "KSampler")
    page.evaluate("""id => {
        const node = loom.editor.graph.getNodeById(id);
        node.disconnectInput(node.inputs.findIndex(i => i.name === "model"));
    }""", sampler["id"])
    page.evaluate("""() => {
        window.marked = [];
        const original = loom.editor.setErrors.bind(loom.editor);
        loom.editor.setErrors = errors => { marked.push(errors); return original(errors); };
    }""")
    page.click("#queue-button")
    toast = page.wait_for_selector(".toast.error")
    assert f"KSampler #{sampler['id']}, input model: Required input is missing" in toast.inner_text()
    marked = page.evaluate("() => marked")
    assert list(marked[0]) == [str(sampler["id"])]
    assert [e["extra_info"]["input_name"] for e in marked[0][str(sampler["id"])]["errors"]] == ["model"]
    # "Show #3" centres the canvas on the node and selects it
    page.evaluate("() => { loom.editor.canvas.ds.offset = [5000, 5000]; }")
    toast.query_selector("button.toast-action").click()
    placed = page.evaluate("""id => {
        const {canvas, graph} = loom.editor;
        const node = graph.getNodeById(id);
        const [x, y] = canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] + node.size[1] / 2]);
        const box = canvas.canvas.getBoundingClientRect();
        return {inside: x > 0 && y > 0 && x < box.width && y < box.height, selected: Boolean(node.selected)};
    }""", sampler["id"])
    assert placed == {"inside": True, "selected": True}
    page.screenshot(path=str(tmp_path / "validation_error.png"))


def test_dropping_a_png_from_loom_opens_its_workflow(server, context, errors):
    page = open_editor(context, server, errors)
    make_small(page)
    set_widgets(page, "CLIPTextEncode", {"text": "carried inside the png"})
    queued = serialized(page)
    outputs = queue_and_wait_for_image(page)
    image = outputs[0][1]["images"][0]
    tabs_before = page.locator("#tabs .tab").count()
    page.evaluate("""async image => {
        const query = new URLSearchParams(image);
        const blob = await (await fetch('/view?' + query)).blob();
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], image.filename, {type: 'image/png'}));
        const target = document.querySelector('#graph-canvas');
        target.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true, cancelable: true}));
        target.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""", image)
    page.wait_for_function(f"() => document.querySelectorAll('#tabs .tab').length === {tabs_before + 1}")
    assert page.locator("#tabs .tab.active").inner_text().startswith(image["filename"].removesuffix(".png"))
    dropped = serialized(page)
    assert [n["id"] for n in dropped["nodes"]] == [n["id"] for n in queued["nodes"]]
    texts = [n["widgets_values"][0] for n in dropped["nodes"] if n["type"] == "CLIPTextEncode"]
    assert "carried inside the png" in texts


def test_interrupt_shortcut_and_button_post_interrupt(server, context, errors):
    page = open_editor(context, server, errors)
    with page.expect_request(lambda r: r.url.endswith("/interrupt") and r.method == "POST"):
        page.keyboard.press("Control+Alt+Enter")
    with page.expect_request(lambda r: r.url.endswith("/interrupt") and r.method == "POST"):
        page.click("#interrupt-button")


def test_batch_count_queues_several_prompts_and_front_jumps_the_queue(server, context, errors):
    page = open_editor(context, server, errors)
    page.route("**/prompt", lambda route: route.fulfill(json={"prompt_id": "fake", "number": 1, "node_errors": {}}))
    bodies = []

    def nth_post(n):
        def predicate(request):
            if request.url.endswith("/prompt") and request.method == "POST":
                bodies.append(request.post_data_json)
            return len(bodies) == n
        return predicate

    page.fill("#batch-count", "3")
    with page.expect_request(nth_post(3)):
        page.click("#queue-button")
    with page.expect_request(nth_post(6)):
        page.click("#queue-front-button")
    assert [body.get("front", False) for body in bodies] == [False] * 3 + [True] * 3
    workflow = bodies[0]["prompt"]
    assert workflow["version"] == 0.4 and bodies[0]["extra_data"]["extra_pnginfo"]["workflow"] == workflow
    assert bodies[0]["extra_data"]["preview_method"] == "auto"
    assert bodies[0]["client_id"] == page.evaluate("() => loom.api.clientId")


def test_the_socket_reconnects(server, context, errors):
    page = open_editor(context, server, errors)
    page.wait_for_selector("#status[data-connected=true]")
    page.evaluate("() => loom.socket.ws.close()")
    page.wait_for_selector("#status[data-connected=false]")
    page.wait_for_selector("#status[data-connected=true]")
    assert page.inner_text("#status") == "Queue: 0"


def one_node_workflow(node_type, widgets_values):
    node = {"id": 1, "type": node_type, "pos": [200, 150], "size": [320, 120], "flags": {}, "order": 0, "mode": 0,
            "inputs": [], "outputs": [], "properties": {}, "widgets_values": widgets_values}
    return {"last_node_id": 1, "last_link_id": 0, "nodes": [node], "links": [], "groups": [], "config": {},
            "extra": {}, "version": 0.4}


def test_text_outputs_reach_the_node_and_the_gallery(server, context, errors):
    page = open_editor(context, server, errors)
    page.evaluate("wf => loom.workflows.openData(wf, {name: 'text'})", one_node_workflow("ShowText", ["words out"]))
    outputs = queue_and_wait_for_image(page)
    assert outputs == [["1", {"text": ["words out"]}]]
    page.click("#gallery-panel-button")
    page.wait_for_selector(".gallery-item.text pre")
    assert page.locator(".gallery-item.text pre").all_inner_texts().count("words out") == 1
    # after a reload the gallery shows recent runs from the history
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.click("#gallery-panel-button")
    page.wait_for_selector(".gallery-item.text pre")
    assert page.locator(".gallery-item.text pre").all_inner_texts().count("words out") == 1


def test_an_execution_error_is_shown_on_its_node_and_in_the_history(server, context, errors, tmp_path):
    page = open_editor(context, server, errors)
    page.evaluate("wf => loom.workflows.openData(wf, {name: 'failing'})", one_node_workflow("FailWhenRun", [5]))
    page.evaluate("""() => {
        window.marked = [];
        const original = loom.editor.setErrors.bind(loom.editor);
        loom.editor.setErrors = errors => { marked.push(errors); return original(errors); };
    }""")
    open_panel(page, "queue")
    page.click("#queue-button")
    toast = page.wait_for_selector(".toast.error", timeout=60_000)
    assert "FailWhenRun (#1) failed: amount: 5 is not a good amount" in toast.inner_text()
    marked = page.evaluate("() => marked")
    assert marked[-1]["1"]["errors"][0]["message"] == "amount: 5 is not a good amount"
    failed = page.wait_for_selector(".history-list .queue-item.failed")
    assert "amount: 5 is not a good amount" in failed.inner_text()
    page.screenshot(path=str(tmp_path / "execution_error.png"))


def test_dropping_a_plain_image_uploads_it_into_a_load_image_node(server, context, errors):
    page = open_editor(context, server, errors)
    count = page.evaluate("() => loom.editor.graph._nodes.length")
    page.evaluate("""async () => {
        const source = document.createElement('canvas');
        source.width = source.height = 24;
        source.getContext('2d').fillRect(0, 0, 12, 12);
        const blob = await new Promise(resolve => source.toBlob(resolve, 'image/png'));
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], 'plain drop.png', {type: 'image/png'}));
        const target = document.querySelector('#graph-canvas');
        const box = target.getBoundingClientRect();
        target.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true,
                                                    clientX: box.left + box.width - 150, clientY: box.top + box.height - 100}));
    }""")
    page.wait_for_function(f"() => loom.editor.graph._nodes.length === {count + 1}")
    node = node_of_type(page, "LoadImage")
    assert node["widgets"]["image"] == "plain drop.png"
    assert page.locator("#tabs .tab").count() == 1
    with urllib.request.urlopen(server + "view?filename=plain%20drop.png&type=input") as response:
        assert response.read()[:4] == b"\x89PNG"


def post_json(url, data):
    request = urllib.request.Request(url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def test_the_queue_panel_cancels_pending_prompts_and_deletes_history(server, context, errors):
    page = open_editor(context, server, errors)
    page.evaluate("wf => loom.workflows.openData(wf, {name: 'text'})", one_node_workflow("ShowText", ["keep me"]))
    page.click("#queue-panel-button")
    post_json(server + "queue/pause", {})
    try:
        with page.expect_response(lambda r: r.url.endswith("/prompt") and r.request.method == "POST") as response:
            page.click("#queue-button")
        prompt_id = response.value.json()["prompt_id"]
        pending = page.wait_for_selector(f'.pending-list .queue-item[data-prompt-id="{prompt_id}"]')
        pending.query_selector("button:has-text('Cancel')").click()
        page.wait_for_selector(f'.pending-list .queue-item[data-prompt-id="{prompt_id}"]', state="detached")
        assert get_json(server + "queue")["queue_pending"] == []
    finally:
        post_json(server + "queue/resume", {})
    with page.expect_response(lambda r: r.url.endswith("/prompt") and r.request.method == "POST") as response:
        page.click("#queue-button")
    prompt_id = response.value.json()["prompt_id"]
    done = page.wait_for_selector(f'.history-list .queue-item.done[data-prompt-id="{prompt_id}"]', timeout=60_000)
    done.query_selector("button:has-text('Delete')").click()
    page.wait_for_selector(f'.history-list .queue-item[data-prompt-id="{prompt_id}"]', state="detached")
    assert get_json(server + f"history/{prompt_id}") == {}


def test_the_running_prompt_is_interrupted_from_the_queue_panel(server, context, errors):
    page = open_editor(context, server, errors)
    page.evaluate("wf => loom.workflows.openData(wf, {name: 'slow'})", one_node_workflow("SlowCount", [3000]))
    page.click("#queue-panel-button")
    with page.expect_response(lambda r: r.url.endswith("/prompt") and r.request.method == "POST") as response:
        page.click("#queue-button")
    prompt_id = response.value.json()["prompt_id"]
    page.wait_for_function("() => /^\\[\\d+%\\]/.test(document.title)", timeout=60_000)  # sampling has begun
    with page.expect_request(lambda r: r.url.endswith("/interrupt") and r.post_data_json == {"prompt_id": prompt_id}):
        page.click(f'.running-list .queue-item[data-prompt-id="{prompt_id}"] button:has-text("Interrupt")')
    page.wait_for_selector(f'.history-list .queue-item.interrupted[data-prompt-id="{prompt_id}"]', timeout=60_000)
    assert page.wait_for_selector(".toast.warning .toast-text").inner_text() == "Execution interrupted"
