"""The browser page, driven in Debian's headless chromium against a real server."""

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
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

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


@pytest.fixture
def page(server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server)
        page.wait_for_selector("#node-3")
        yield page
        assert errors == [], errors
        browser.close()


def test_default_workflow_is_shown_with_its_widgets(page):
    assert "KSampler" in page.inner_text("#node-3 h2")
    assert page.input_value('[name="4.ckpt_name"]') == "tiny.safetensors"
    options = page.eval_on_selector('[name="3.sampler_name"]', "s => [...s.options].map(o => o.value)")
    assert "euler" in options and "dpmpp_2m" in options
    assert page.input_value('[name="6.text"]').startswith("beautiful scenery")


def test_queue_runs_and_shows_the_image(page):
    for name, value in {"5.width": "64", "5.height": "64", "3.steps": "2", "3.seed": "3"}.items():
        page.fill(f'[name="{name}"]', value)
        page.dispatch_event(f'[name="{name}"]', "change")
    page.click("#queue")
    image = page.wait_for_selector("#results img", timeout=60_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image)
    assert image.evaluate("img => img.naturalWidth") == 64
    assert page.inner_text("#message") == ""


def test_invalid_value_marks_the_node(page):
    page.fill('[name="3.steps"]', "0")
    page.dispatch_event('[name="3.steps"]', "change")
    page.click("#queue")
    page.wait_for_selector("#node-3.failed")
    assert "steps" in page.inner_text("#node-3 .errors")
