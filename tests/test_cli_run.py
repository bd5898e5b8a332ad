"""`python server.py run WORKFLOW.json`: the headless runner, as a real subprocess."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

PACK = """
import os
import folder_paths
from server import PromptServer


# ComfyUI packs register routes at import time; headless runs must allow it.
@PromptServer.instance.routes.get("/cli_test_pack/hello")
async def hello(request):
    return None


class TextConst:
    CATEGORY = "test"
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": "hello"}),
                             "repeat": ("INT", {"default": 1, "min": 1, "max": 5})}}
    def run(self, text, repeat):
        PromptServer.instance.send_sync("cli_test.custom", {"text": text})
        return (text * repeat,)


class SaveTextFile:
    CATEGORY = "test"
    OUTPUT_NODE = True
    RETURN_TYPES = ()
    FUNCTION = "save"
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"forceInput": True}),
                             "filename": ("STRING", {"default": "out.txt"})}}
    def save(self, text, filename):
        path = os.path.join(folder_paths.get_output_directory(), filename)
        with open(path, "w") as f:
            f.write(text)
        return {"ui": {"files": [{"filename": filename, "subfolder": "", "type": "output"}]}}


class Explode:
    CATEGORY = "test"
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"forceInput": True})}}
    def run(self, text):
        raise ValueError("text: cannot explode " + text)


NODE_CLASS_MAPPINGS = {"TextConst": TextConst, "SaveTextFile": SaveTextFile, "Explode": Explode}
"""


@pytest.fixture
def setup(tmp_path):
    pack_root = tmp_path / "custom_nodes"
    (pack_root / "cli_test_pack").mkdir(parents=True)
    (pack_root / "cli_test_pack" / "__init__.py").write_text(textwrap.dedent(PACK))
    out = tmp_path / "out"

    def run(workflow, *extra, progress=False):
        wf_path = tmp_path / "wf.json"
        wf_path.write_text(workflow if isinstance(workflow, str) else json.dumps(workflow))
        cmd = [
            sys.executable, "server.py", "run", str(wf_path),
            "--custom-nodes-directory", str(pack_root),
            "--base-directory", str(tmp_path),
            "--output-directory", str(out),
            *([] if progress else ["--no-progress"]), *extra,
        ]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)

    return run, out


WORKFLOW = {
    "1": {"class_type": "TextConst", "inputs": {"text": "abc", "repeat": 2}},
    "2": {"class_type": "SaveTextFile", "inputs": {"text": ["1", 0], "filename": "result.txt"}},
}


def test_runs_workflow_and_prints_outputs(setup):
    run, out = setup
    result = run(WORKFLOW)
    assert result.returncode == 0, result.stderr
    assert (out / "result.txt").read_text() == "abcabc"
    assert str(out / "result.txt") in result.stdout


def test_set_overrides_inputs(setup):
    run, out = setup
    result = run(WORKFLOW, "--set", "1.text=xy", "--set", "1.repeat=3")
    assert result.returncode == 0, result.stderr
    assert (out / "result.txt").read_text() == "xyxyxy"


def test_validation_error_names_node_and_input(setup):
    run, _ = setup
    result = run(WORKFLOW, "--set", "1.repeat=99")
    assert result.returncode == 2
    assert "#1 TextConst" in result.stderr and "'repeat'" in result.stderr


def test_unknown_node_in_set_is_refused(setup):
    run, _ = setup
    result = run(WORKFLOW, "--set", "7.text=x")
    assert result.returncode == 2 and "no node with id or title '7'" in result.stderr


@pytest.mark.parametrize("content, message", [("{not json", "not valid JSON"), ("[1, 2]", "")])
def test_malformed_workflow_file(setup, content, message):
    run, _ = setup
    result = run(content)
    assert result.returncode == 2
    assert "error:" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_workflow_file(tmp_path):
    result = subprocess.run(
        [sys.executable, "server.py", "run", str(tmp_path / "nope.json")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "not found" in result.stderr


def test_failing_node_exits_nonzero_with_readable_message(setup):
    run, out = setup
    workflow = {
        "1": {"class_type": "TextConst", "inputs": {"text": "abc", "repeat": 1}},
        "2": {"class_type": "Explode", "inputs": {"text": ["1", 0]}},
        "3": {"class_type": "SaveTextFile", "inputs": {"text": ["2", 0], "filename": "never.txt"}},
    }
    result = run(workflow)
    assert result.returncode == 1
    assert "Explode (#2)" in result.stderr and "cannot explode abc" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "never.txt").exists()


def test_progress_is_shown_per_node(setup):
    run, _ = setup
    quiet = run(WORKFLOW)
    loud = run(WORKFLOW, progress=True)
    assert loud.returncode == 0, loud.stderr
    assert "#1 TextConst" in loud.stderr and "#2 SaveTextFile" in loud.stderr
    assert "#2 SaveTextFile" not in quiet.stderr
