"""The headless runner with UI workflows, embedded workflows, titles and seeds."""

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_cli_run import setup  # noqa: F401  (the text-node pack fixture)
from tests.tiny_models import save_single_file, tiny_sd_components
from tests.ui_workflows import inp, kitchen_sink, node, out

REPO = Path(__file__).resolve().parent.parent


def text_ui(text="abc", repeat=2, filename="result.txt"):
    return {"nodes": [node(1, "TextConst", title="Words", outputs=[out("STRING", "STRING", [1])],
                           widgets=[text, repeat]),
                      node(2, "SaveTextFile", inputs=[inp("text", "STRING", 1)], widgets=[filename])],
            "links": [[1, 1, 0, 2, 0, "STRING"]], "version": 0.4}


def test_ui_workflow_runs_with_overrides_by_title(setup):  # noqa: F811
    run, out_dir = setup
    result = run(text_ui(), "--set", "Words.text=xy", "--set", "2.filename=by_title.txt")
    assert result.returncode == 0, result.stderr
    assert (out_dir / "by_title.txt").read_text() == "xyxy"


@pytest.mark.parametrize("target, message", [
    ("Nope.text=1", "no node with id or title 'Nope'; titles are: 'SaveTextFile', 'Words'"),
    ("TextConst.text=1", None),
])
def test_set_by_title_or_class(setup, target, message):  # noqa: F811
    run, out_dir = setup
    result = run(text_ui(), "--set", target)
    if message:
        assert result.returncode == 2 and message in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert (out_dir / "result.txt").read_text() == "11"


def test_ambiguous_title_is_refused(setup):  # noqa: F811
    run, _ = setup
    workflow = text_ui()
    workflow["nodes"].append(node(3, "TextConst", title="Words", outputs=[out("STRING", "STRING")],
                                  widgets=["z", 1]))
    result = run(workflow, "--set", "Words.text=q")
    assert result.returncode == 2
    assert "2 nodes have the title 'Words' (ids 1, 3)" in result.stderr


def test_missing_node_types_are_listed_before_anything_runs(setup):  # noqa: F811
    run, out_dir = setup
    workflow = text_ui()
    workflow["nodes"] += [node(5, "FancyUpscaler", title="Big"), node(6, "FancyUpscaler")]
    result = run(workflow)
    assert result.returncode == 2
    assert "FancyUpscaler: used 2x at #5 'Big', #6 'FancyUpscaler'" in result.stderr
    assert "Traceback" not in result.stderr and not (out_dir / "result.txt").exists()


def _webp_with_workflow(path, workflow):
    exif = Image.Exif()
    exif[0x010F] = "workflow:" + json.dumps(workflow)
    exif[0x0110] = "prompt:{}"
    Image.new("RGB", (8, 8)).save(path, "WEBP", exif=exif)


def _flac_with_workflow(path, workflow):
    comments = [f"workflow={json.dumps(workflow)}".encode()]
    vendor = b"loom-test"
    block = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments))
    block += b"".join(struct.pack("<I", len(c)) + c for c in comments)
    streaminfo = bytes(34)
    data = b"fLaC" + bytes([0]) + len(streaminfo).to_bytes(3, "big") + streaminfo
    data += bytes([0x80 | 4]) + len(block).to_bytes(3, "big") + block
    path.write_bytes(data)


@pytest.mark.parametrize("kind", ["webp", "flac"])
def test_workflow_embedded_in_webp_and_flac_runs(setup, tmp_path, kind):  # noqa: F811
    run, out_dir = setup
    path = tmp_path / f"carrier.{kind}"
    (_webp_with_workflow if kind == "webp" else _flac_with_workflow)(path, text_ui(text="em", repeat=3))
    cmd_result = subprocess.run(
        [sys.executable, "server.py", "run", str(path), "--custom-nodes-directory", str(tmp_path / "custom_nodes"),
         "--base-directory", str(tmp_path), "--output-directory", str(out_dir), "--no-progress"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert cmd_result.returncode == 0, cmd_result.stderr
    assert (out_dir / "result.txt").read_text() == "ememem"


def test_a_file_without_a_workflow_is_a_clear_error(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(path)
    result = subprocess.run([sys.executable, "server.py", "run", str(path), "--base-directory", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "carries no embedded workflow" in result.stderr


def tiny_kitchen_sink():
    workflow = kitchen_sink()
    nodes = {n["id"]: n for n in workflow["nodes"]}
    nodes[4]["widgets_values"] = ["tiny.safetensors"]
    nodes[21]["widgets_values"] = [64, "fixed"]
    nodes[3]["widgets_values"] = [123, "fixed", 2, 7.5, "euler", "normal", 1.0]
    return workflow


def test_ui_workflow_renders_and_its_png_runs_again(tmp_path):
    """UI -> API -> run on a tiny checkpoint with --seed and --set by title; then the PNG
    it wrote runs as a workflow and gives the same picture."""
    (tmp_path / "models" / "checkpoints").mkdir(parents=True)
    save_single_file(tiny_sd_components("sd1"), tmp_path / "models" / "checkpoints" / "tiny.safetensors")
    workflow = tiny_kitchen_sink()
    source = tmp_path / "workflow.json"
    source.write_text(json.dumps(workflow))

    def run(path, prefix, *extra):
        cmd = [sys.executable, "server.py", "run", str(path), "--base-directory", str(tmp_path),
               "--disable-custom-nodes", "--no-progress", "--set", f"Save Image.filename_prefix={prefix}", *extra]
        result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result

    result = run(source, "first", "--seed", "increment", "--set", "Positive.text=a blue cat")
    assert "seed: #3 seed 123 -> 124" in result.stderr
    first = tmp_path / "output" / "first_00001_.png"
    image = Image.open(first)
    assert image.size == (64, 64)
    prompt = json.loads(image.text["prompt"])
    assert prompt["3"]["inputs"]["seed"] == 124 and prompt["6"]["inputs"]["text"] == "a blue cat"
    embedded = json.loads(image.text["workflow"])
    assert embedded["extra"].pop("loom")["node_packs"] == ["core"]
    nodes = {n["id"]: n for n in embedded["nodes"]}
    assert nodes[3]["widgets_values"][0] == 124, "the embedded workflow reproduces the run"
    assert nodes[9]["widgets_values"] == ["first"]
    assert nodes[20]["widgets_values"] == ["a blue cat"], "the primitive driving the text got it"
    assert [n["id"] for n in embedded["nodes"]] == [n["id"] for n in workflow["nodes"]]

    run(first, "again")
    again = tmp_path / "output" / "again_00001_.png"
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(image))
