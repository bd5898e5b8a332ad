"""The editor page's pure logic (web/app/*.js) under `node --test`, and its modules' size."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "web"


@pytest.mark.parametrize("name", sorted(p.name for p in (WEB / "app" / "tests").glob("*.test.mjs")))
def test_app_logic(name):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run([node, "--test", f"web/app/tests/{name}"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_page_modules_stay_small():
    paths = [*(WEB / "app").glob("*.js"), *(WEB / "scripts").glob("*.js"), WEB / "main.js"]
    assert len(paths) > 10
    for path in paths:
        assert len(path.read_text().splitlines()) <= 300, f"{path.relative_to(REPO)} is over 300 lines"
