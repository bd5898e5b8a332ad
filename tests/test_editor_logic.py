"""The editor's pure logic (web/editor/*.js) under `node --test`, and the vendored LiteGraph's hash."""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENDORED = REPO / "web" / "vendor" / "litegraph.es.js"
# sha256 of dist/litegraph.es.js from @comfyorg/litegraph 0.17.2 (tools/vendor_litegraph.sh prints it)
LITEGRAPH_SHA256 = "cf179195f2613ab4ccad7718ca32c28eaf3df4118b9a2195dc422c67ffdf4d60"


def test_vendored_litegraph_is_the_checked_release():
    assert hashlib.sha256(VENDORED.read_bytes()).hexdigest() == LITEGRAPH_SHA256
    assert "MIT" in (REPO / "web" / "vendor" / "LICENSE").read_text()
    assert "@comfyorg/litegraph@0.17.2" in (REPO / "web" / "vendor" / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "web" / "editor" / "tests").glob("*.test.mjs")))
def test_editor_logic(name):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run([node, "--test", f"web/editor/tests/{name}"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_editor_modules_stay_small():
    for path in (REPO / "web" / "editor").glob("*.js"):
        assert len(path.read_text().splitlines()) <= 300, f"{path.name} is over 300 lines"
