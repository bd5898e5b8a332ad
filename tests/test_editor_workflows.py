"""The editor page's workflows: user storage, tabs across reloads, missing nodes,
API-format files, settings, extensions and layout, in headless chromium."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest

from tests.editor_support import (
    CHROMIUM, CHROMIUM_FLAGS, REPO, VIEWPORT, PageErrors, get_json, make_base, node_of_type, open_editor,
    require_browser, serialized, set_widgets, start_server,
)

sync_playwright = require_browser()


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
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def errors():
    errors = PageErrors()
    yield errors
    assert list(errors) == [], errors


def answer(page, text):
    page.wait_for_selector("#ask-dialog input")
    page.fill("#ask-dialog input", text)
    page.keyboard.press("Enter")
    page.wait_for_selector("#ask-dialog", state="detached")


def userdata(server, path):
    return get_json(server + "userdata/" + urllib.parse.quote(path, safe=""))


def test_save_reload_and_reopen_gives_the_same_graph(server, context, errors):
    page = open_editor(context, server, errors)
    set_widgets(page, "KSampler", {"steps": 7, "cfg": 5.5})
    page.wait_for_selector("#tabs .tab.active.dirty")
    assert page.title() == "*Unsaved Workflow - Loom"
    page.locator("#graph-canvas").focus()
    page.keyboard.press("Control+S")
    answer(page, "my flow")
    page.wait_for_selector("#tabs .tab.active:not(.dirty)")
    assert page.locator("#tabs .tab.active .tab-name").inner_text() == "my flow"
    assert page.title() == "my flow - Loom"
    saved = serialized(page)
    on_disk = userdata(server, "workflows/my flow.json")
    on_disk.get("extra", {}).pop("ds", None)
    assert on_disk == saved and on_disk["version"] == 0.4

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#tabs .tab.active .tab-name").inner_text() == "my flow"
    page.locator("#tabs .tab.active .tab-close").click()
    page.locator("#graph-canvas").focus()
    page.keyboard.press("Control+O")
    page.wait_for_selector("#workflows-panel:not([hidden])")
    item = page.locator('.workflow-item[data-path="workflows/my flow.json"]')
    page.fill("#workflow-filter", "other")
    item.wait_for(state="hidden")
    page.fill("#workflow-filter", "FLOW my")
    item.wait_for(state="visible")
    page.fill("#workflow-filter", "")
    page.click('.workflow-item[data-path="workflows/my flow.json"] .open-workflow')
    page.wait_for_function("() => document.querySelector('#tabs .tab.active .tab-name')?.textContent === 'my flow'")
    assert serialized(page) == saved
    assert node_of_type(page, "KSampler")["widgets"]["steps"] == 7

    # rename, then delete, from the panel
    page.click('.workflow-item[data-path="workflows/my flow.json"] button:has-text("Rename")')
    answer(page, "renamed")
    page.wait_for_selector('.workflow-item[data-path="workflows/renamed.json"]')
    assert page.locator('.workflow-item[data-path="workflows/my flow.json"]').count() == 0
    assert page.locator("#tabs .tab.active .tab-name").inner_text() == "renamed"
    page.click('.workflow-item[data-path="workflows/renamed.json"] button:has-text("Delete")')
    page.click("#confirm-dialog button.primary")
    page.wait_for_selector('.workflow-item[data-path="workflows/renamed.json"]', state="detached")
    assert get_json(server + "userdata?dir=workflows") == []


def test_tabs_and_their_unsaved_marker_come_back_after_a_reload(server, context, errors):
    page = open_editor(context, server, errors)
    page.click("#tabs .tab-new")
    page.wait_for_function("() => document.querySelectorAll('#tabs .tab').length === 2")
    assert serialized(page)["nodes"] == []
    page.locator("#tabs .tab").first.locator(".tab-label").click()
    set_widgets(page, "KSampler", {"steps": 3})
    page.wait_for_selector("#tabs .tab.active.dirty .dirty-marker")
    assert page.locator("#tabs .tab.dirty").count() == 1
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#tabs .tab").count() == 2
    first = page.locator("#tabs .tab").first
    assert "active" in first.get_attribute("class") and "dirty" in first.get_attribute("class")
    assert node_of_type(page, "KSampler")["widgets"]["steps"] == 3
    page.locator("#tabs .tab").nth(1).locator(".tab-label").click()
    assert serialized(page)["nodes"] == []
    # keyboard: Left goes back to the first tab, F2 renames the unsaved one
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("#tabs .tab:first-child.active")
    assert page.evaluate("() => document.activeElement.closest('.tab') === document.querySelector('#tabs .tab')")
    page.keyboard.press("F2")
    answer(page, "first")
    assert page.locator("#tabs .tab").first.locator(".tab-name").inner_text() == "first"
    page.locator("#tabs .tab").nth(1).locator(".tab-label").click()
    # closing the tab with unsaved changes asks first
    page.locator("#tabs .tab").first.locator(".tab-close").click()
    page.click("#confirm-dialog button:has-text('Cancel')")
    assert page.locator("#tabs .tab").count() == 2
    page.locator("#tabs .tab").first.locator(".tab-close").click()
    page.click("#confirm-dialog button.primary")
    page.wait_for_function("() => document.querySelectorAll('#tabs .tab').length === 1")


def test_missing_node_types_are_placeholders_and_listed(server, context, errors, tmp_path):
    workflow = {
        "last_node_id": 42, "last_link_id": 1, "version": 0.4, "groups": [], "config": {}, "extra": {},
        "custom_key": {"kept": True},
        "nodes": [
            {"id": 42, "type": "NoSuchNode", "pos": [100, 100], "size": [200, 80], "flags": {}, "order": 0,
             "mode": 0, "inputs": [], "outputs": [], "properties": {}, "widgets_values": [1, "x"]},
            {"id": 7, "type": "NoSuchNode", "pos": [100, 300], "size": [200, 80], "flags": {}, "order": 1,
             "mode": 0, "inputs": [], "outputs": [], "properties": {}, "widgets_values": []},
        ],
        "links": [[1, 42, 0, 99, 0, "INT"]],  # node 99 does not exist: the link is dropped and reported
    }
    path = tmp_path / "missing.json"
    path.write_text(json.dumps(workflow))
    page = open_editor(context, server, errors)
    page.set_input_files("#import-file", str(path))
    dialog = page.wait_for_selector("#missing-dialog")
    text = dialog.inner_text()
    assert "NoSuchNode" in text and "#42" in text and "#7" in text
    assert node_of_type(page, "NoSuchNode")["isMissing"]
    repaired = page.locator(".toast.warning").inner_text()
    assert repaired.startswith("Repaired while loading:") and "99" in repaired
    page.screenshot(path=str(tmp_path / "missing.png"))
    page.click("#missing-dialog button.primary")
    assert serialized(page)["custom_key"] == {"kept": True}
    page.click("#queue-button")
    assert "#42" in page.wait_for_selector("#missing-dialog").inner_text()


def test_api_format_files_open_and_the_graph_exports_in_api_format(server, context, errors):
    page = open_editor(context, server, errors)
    page.set_input_files("#import-file", str(REPO / "workflows" / "txt2img_sd15.json"))
    page.wait_for_function("() => document.querySelector('#tabs .tab.active .tab-name')?.textContent === 'txt2img_sd15'")
    assert sorted(n["type"] for n in serialized(page)["nodes"]) == sorted(
        n["class_type"] for n in json.loads((REPO / "workflows" / "txt2img_sd15.json").read_text()).values())
    page.click("#workflows-panel-button")
    with page.expect_download() as download:
        page.click("#export-api")
    prompt = json.loads(Path(download.value.path()).read_text())
    assert {node["class_type"] for node in prompt.values()} >= {"KSampler", "SaveImage"}


def test_settings_are_stored_on_the_server_and_applied(server, context, errors, tmp_path):
    page = open_editor(context, server, errors)
    assert page.get_attribute("html", "data-theme") == "dark"
    page.click("#settings-panel-button")
    page.select_option("#setting-Loom\\.Theme", "light")
    page.wait_for_selector("html[data-theme=light]")
    page.select_option("#setting-Loom\\.LinkRenderMode", "straight")
    with page.expect_response(lambda r: "/settings/Loom.SnapToGrid" in r.url and r.request.method == "POST"):
        page.check("#setting-Loom\\.SnapToGrid")
    stored = get_json(server + "settings")
    assert stored["Loom.Theme"] == "light" and stored["Loom.LinkRenderMode"] == "straight"
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("html", "data-theme") == "light"
    assert page.evaluate("() => loom.settings.editorSettings()")["linkRenderMode"] == "straight"
    assert page.evaluate("() => loom.editor.canvas.links_render_mode") == 0  # litegraph's STRAIGHT_LINK
    page.screenshot(path=str(tmp_path / "light.png"))
    page.click("#settings-panel-button")
    page.select_option("#setting-Loom\\.Theme", "dark")
    with page.expect_response(lambda r: "/settings/Loom.SnapToGrid" in r.url and r.request.method == "POST"):
        page.uncheck("#setting-Loom\\.SnapToGrid")
    assert get_json(server + "settings")["Loom.SnapToGrid"] is False


def test_extensions_load_through_the_comfyui_shims_and_their_hooks_run(server, context, errors):
    page = open_editor(context, server, errors)
    log = page.evaluate("() => window.extensionLog")
    assert log[0] == "init"
    assert "beforeRegisterNodeDef:KSampler" in log and "nodeCreated:KSampler" in log
    assert log.index("setup:graph") > log.index("nodeCreated:KSampler")
    # opening a workflow: beforeConfigureGraph, the nodes created, each loaded, then afterConfigureGraph
    nodes = len(serialized(page)["nodes"])
    opening = log[log.index(f"beforeConfigureGraph:{nodes}"):log.index("afterConfigureGraph:0") + 1]
    assert opening.index("nodeCreated:KSampler") < opening.index("loadedGraphNode:KSampler")
    assert sum(entry.startswith("loadedGraphNode:") for entry in opening) == nodes
    # a setting added with app.ui.settings.addSetting: shown, applied at once, stored on the server
    assert "flag:true" in log
    page.click("#settings-panel-button")
    page.wait_for_selector("label[for='setting-Recorder.Flag']:has-text('Recorder flag')")
    with page.expect_response(lambda r: "/settings/Recorder.Flag" in r.url and r.request.method == "POST"):
        page.uncheck("#setting-Recorder\\.Flag")
    assert page.evaluate("() => window.extensionLog").count("flag:false") == 1
    assert get_json(server + "settings")["Recorder.Flag"] is False
    assert page.evaluate("() => loom.app.ui.settings.getSettingValue('Recorder.Flag')") is False


@pytest.mark.parametrize("size, scale", [(VIEWPORT, 1), ({"width": 1024, "height": 576}, 1.25)], ids=["1280x720", "zoom125"])
def test_the_page_fits_the_window_and_shows_focus(browser, server, errors, tmp_path, size, scale):
    # 1280x720 at 125 % zoom is a 1024x576 CSS viewport on 1.25 device pixels per CSS pixel
    context = browser.new_context(viewport=size, device_scale_factor=scale)
    page = open_editor(context, server, errors)
    fits = page.evaluate("""() => {
        const inside = id => { const r = document.getElementById(id).getBoundingClientRect();
                               return r.width > 0 && r.right <= innerWidth && r.bottom <= innerHeight; };
        return {scroll: document.documentElement.scrollWidth <= innerWidth,
                controls: ['queue-button', 'batch-count', 'interrupt-button', 'status', 'save-button'].every(inside),
                canvas: document.getElementById('graph-canvas').getBoundingClientRect().height > innerHeight * 0.7};
    }""")
    assert fits == {"scroll": True, "controls": True, "canvas": True}
    page.locator("#save-button").focus()
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.click("#workflows-panel-button")
    page.wait_for_function("() => getComputedStyle(document.getElementById('panels')).transform === 'none'")
    width = page.evaluate("() => document.getElementById('panels').getBoundingClientRect().width")
    assert page.evaluate("() => document.getElementById('graph-canvas').getBoundingClientRect().width") > width
    page.screenshot(path=str(tmp_path / f"page_{size['width']}.png"))
    context.close()


@pytest.mark.parametrize("kind", ["webp_exif_workflow", "png_prompt_only"])
def test_images_carrying_a_workflow_open_from_the_file_picker(server, context, errors, tmp_path, kind):
    from PIL import Image, PngImagePlugin

    workflow = get_json(server + "default_workflow")
    prompt = get_json(server + "default_workflow?format=api")
    image = Image.new("RGB", (16, 16), (200, 40, 40))
    if kind == "webp_exif_workflow":  # as ComfyUI's SaveAnimatedWEBP writes it
        path = tmp_path / "carrier.webp"
        exif = image.getexif()
        exif[0x010F] = "workflow:" + json.dumps(workflow)
        exif[0x0110] = "prompt:" + json.dumps(prompt)
        image.save(path, exif=exif)
    else:  # an API client's PNG: only the prompt, which the server converts
        path = tmp_path / "carrier.png"
        info = PngImagePlugin.PngInfo()
        info.add_text("prompt", json.dumps(prompt))
        image.save(path, pnginfo=info)
    page = open_editor(context, server, errors)
    page.set_input_files("#import-file", str(path))
    page.wait_for_function("() => document.querySelector('#tabs .tab.active .tab-name')?.textContent === 'carrier'")
    opened = serialized(page)
    assert sorted(n["type"] for n in opened["nodes"]) == sorted(n["type"] for n in workflow["nodes"])
    if kind == "webp_exif_workflow":
        assert [n["id"] for n in opened["nodes"]] == [n["id"] for n in workflow["nodes"]]


def test_undo_and_redo_buttons_follow_the_editor_and_the_unsaved_marker(server, context, errors):
    page = open_editor(context, server, errors)
    assert page.is_disabled("#undo-button") and page.is_disabled("#redo-button")
    steps = node_of_type(page, "KSampler")["widgets"]["steps"]
    set_widgets(page, "KSampler", {"steps": steps + 5})
    page.wait_for_selector("#tabs .tab.active.dirty")
    page.wait_for_selector("#undo-button:not([disabled])")
    page.click("#undo-button")
    assert node_of_type(page, "KSampler")["widgets"]["steps"] == steps
    page.wait_for_selector("#tabs .tab.active:not(.dirty)")
    page.click("#redo-button")
    assert node_of_type(page, "KSampler")["widgets"]["steps"] == steps + 5
    page.wait_for_selector("#tabs .tab.active.dirty")


def test_a_file_that_is_not_a_workflow_is_refused_and_the_open_tab_stays(server, context, errors, tmp_path):
    page = open_editor(context, server, errors)
    before = serialized(page)
    for name, text in [("notes.json", '{"hello": 1}'), ("broken.json", '{"nodes": [null, 7], "links": {}}'),
                       ("half.json", '{"nodes": [')]:
        (tmp_path / name).write_text(text)
        page.set_input_files("#import-file", str(tmp_path / name))
        toast = page.wait_for_selector(f'.toast.error:has-text("{name}")')
        assert toast.inner_text().startswith(f"Could not open {name}")
        assert page.locator("#tabs .tab").count() == 1
        assert serialized(page) == before
