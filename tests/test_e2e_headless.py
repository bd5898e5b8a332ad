"""The shipped default workflow, run headless on a tiny checkpoint end to end."""

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.tiny_models import save_single_file, tiny_sd_components

REPO = Path(__file__).resolve().parent.parent


def test_default_workflow_runs_headless_on_a_tiny_checkpoint(tmp_path):
    checkpoints = tmp_path / "models" / "checkpoints"
    checkpoints.mkdir(parents=True)
    save_single_file(tiny_sd_components("sd1"), checkpoints / "tiny_sd1.safetensors")
    out = tmp_path / "output"
    cmd = [
        sys.executable, "server.py", "run", "workflows/txt2img_sd15.json",
        "--base-directory", str(tmp_path), "--output-directory", str(out),
        "--disable-custom-nodes", "--no-progress",
        "--set", "4.ckpt_name=tiny_sd1.safetensors",
        "--set", "5.width=64", "--set", "5.height=64",
        "--set", "3.steps=3", "--set", "3.seed=42",
        "--set", "9.filename_prefix=tiny/run",
    ]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    written = out / "tiny" / "run_00001_.png"
    assert written.is_file()
    assert str(written) in result.stdout

    image = Image.open(written)
    assert image.size == (64, 64)
    embedded = json.loads(image.text["prompt"])
    assert embedded["3"]["inputs"]["seed"] == 42
    assert embedded["4"]["inputs"]["ckpt_name"] == "tiny_sd1.safetensors"


def test_missing_checkpoint_is_a_validation_error_naming_the_node(tmp_path):
    cmd = [
        sys.executable, "server.py", "run", "workflows/txt2img_sd15.json",
        "--base-directory", str(tmp_path), "--disable-custom-nodes", "--no-progress",
        "--set", "4.ckpt_name=does_not_exist.safetensors",
    ]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "#4 CheckpointLoaderSimple" in result.stderr and "ckpt_name" in result.stderr
    assert "Traceback" not in result.stderr
