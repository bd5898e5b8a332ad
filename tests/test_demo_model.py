"""The shipped demo model draws what it is asked (behaviour random weights cannot show).

It runs through the ordinary graph and loader, on the CPU in float32, with few
steps to stay fast; demo.classify reads the pictures back.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo.classify import read_image
from graph.executor import CacheConfig, PromptExecutor
from graph.validate import validate_prompt
from nodes.registry import NodeRegistry

REPO = Path(__file__).resolve().parent.parent
CHECKPOINT = REPO / "models" / "checkpoints" / "loom_demo_sd1.safetensors"
STEPS = 12


@pytest.fixture(scope="module")
def demo(tmp_path_factory, cpu_fp32):
    """A graph runner over a folder tree holding the shipped checkpoint and example inputs."""
    from engine import folders

    base = tmp_path_factory.mktemp("demo")
    (base / "models" / "checkpoints").mkdir(parents=True)
    (base / "models" / "checkpoints" / CHECKPOINT.name).symlink_to(CHECKPOINT)
    (base / "input").mkdir()
    for example in ("demo_shapes.png", "demo_inpaint.png"):
        shutil.copy(REPO / "input" / example, base / "input" / example)
    previous = folders._folders
    folders.configure(base_dir=base, output_dir=base / "output", input_dir=base / "input", temp_dir=base / "temp")
    registry = NodeRegistry(load_custom_nodes=False).load()
    executor = PromptExecutor(registry.classes, cache=CacheConfig())

    def run(prompt):
        checked = validate_prompt(prompt, registry.classes)
        result = executor.execute(checked.prompt, "demo", {}, checked.outputs)
        assert result.status_str == "success", result.error
        saved = result.outputs["9"]["images"][0]
        return Image.open(base / "temp" / saved["subfolder"] / saved["filename"]).convert("RGB")

    yield run
    folders._folders = previous


def workflow(name: str, **changes) -> dict:
    """A shipped workflow with PreviewImage instead of SaveImage and the given inputs changed."""
    prompt = json.loads((REPO / "workflows" / f"{name}.json").read_text())
    prompt["9"] = {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}}
    prompt["3"]["inputs"]["steps"] = STEPS
    for path, value in changes.items():
        node, name_ = path.split("__")
        prompt[node]["inputs"][name_] = value
    return prompt


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255


def test_the_shipped_checkpoint_is_a_small_ordinary_sd1_file():
    from safetensors import safe_open

    from engine import detect

    assert CHECKPOINT.stat().st_size < 25 * 1024 * 1024
    with safe_open(str(CHECKPOINT), "pt") as handle:
        state = {key: handle.get_tensor(key) for key in handle.keys()}
    assert detect.detect_checkpoint(state, CHECKPOINT.name).arch == "sd1"
    assert state["first_stage_model.encoder.conv_in.weight"].shape[1] == 3
    assert state["model.diffusion_model.input_blocks.0.0.weight"].shape[1] == 4  # 4 latent channels


def test_the_prompt_colour_appears(demo):
    colours = ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink"]
    read = []
    for seed, colour in enumerate(colours):
        text = f"a large {colour} circle in the centre on a white background"
        read.append(read_image(demo(workflow("demo_txt2img", **{"6__text": text, "3__seed": seed}))).colour)
    assert sum(a == b for a, b in zip(read, colours)) >= 7, list(zip(colours, read))


def test_prompts_differing_only_in_colour_give_different_dominant_colours(demo):
    readings = {}
    for colour in ("red", "blue"):
        text = f"a large {colour} square on the left on a gray background"
        readings[colour] = read_image(demo(workflow("demo_txt2img", **{"6__text": text, "3__seed": 7})))
    assert readings["red"].colour == "red" and readings["blue"].colour == "blue"


def test_the_shape_follows_the_prompt(demo):
    shapes = ["circle", "square", "triangle", "star", "diamond", "cross"]
    read = []
    for seed, shape in enumerate(shapes):
        text = f"a large green {shape} in the centre on a gray background"
        read.append(read_image(demo(workflow("demo_txt2img", **{"6__text": text, "3__seed": seed}))).shape)
    assert sum(a == b for a, b in zip(read, shapes)) >= 4, list(zip(shapes, read))


def test_img2img_keeps_more_of_the_input_at_low_denoise_and_follows_the_prompt_at_high_denoise(demo):
    source = pixels(Image.open(REPO / "input" / "demo_shapes.png").convert("RGB"))
    low = pixels(demo(workflow("demo_img2img", **{"3__denoise": 0.2})))
    high = demo(workflow("demo_img2img", **{"3__denoise": 0.9}))
    low_correlation = np.corrcoef(source.ravel(), low.ravel())[0, 1]
    high_correlation = np.corrcoef(source.ravel(), pixels(high).ravel())[0, 1]
    assert low_correlation > high_correlation + 0.1, (low_correlation, high_correlation)
    assert read_image(high).colour == "yellow"  # the prompt asks for a yellow star; the input is blue


def test_inpainting_repaints_the_masked_half_and_keeps_the_rest(demo):
    source = pixels(Image.open(REPO / "input" / "demo_inpaint.png").convert("RGB"))
    result = pixels(demo(workflow("demo_inpaint")))
    repainted, kept = slice(0, 56), slice(72, 128)  # the mask covers x < 64; leave the seam out
    kept_change = np.abs(result[:, kept] - source[:, kept]).mean()
    repainted_change = np.abs(result[:, repainted] - source[:, repainted]).mean()
    assert kept_change < 0.06  # what is left is the autoencoder's round trip
    assert repainted_change > 2 * kept_change, (repainted_change, kept_change)


def test_a_prompt_outside_the_vocabulary_still_gives_an_image(demo):
    image = demo(workflow("demo_txt2img", **{"6__text": "a photograph of a cat riding a bicycle, 4k, trending"}))
    assert image.size == (128, 128)


def test_the_default_workflow_runs_headless_with_the_shipped_model(tmp_path):
    """Out of the box: no --base-directory, so the repository's models/ folder is used."""
    out = tmp_path / "output"
    cmd = [sys.executable, "server.py", "run", "workflows/demo_txt2img.json", "--output-directory", str(out),
           "--disable-custom-nodes", "--no-progress", "--cpu", "--set", f"3.steps={STEPS}"]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    written = sorted(out.glob("loom_demo_*.png"))
    assert len(written) == 1
    reading = read_image(Image.open(written[0]).convert("RGB"))
    assert reading.colour == "red" and reading.shape == "star"
