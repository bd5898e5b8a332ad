"""workflows/text_to_video.json runs on a tiny text-to-video folder and writes an animated WebP
that carries the workflow (read back by Loom's own workflow reader)."""
import json

import pytest
import torch
from PIL import Image

pytestmark = pytest.mark.usefixtures("cpu_fp32")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread avoids waiting on a second one that a busy CPU rarely runs."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_text_to_video_workflow_runs_on_a_tiny_model(tmp_folders, tmp_path):
    from cli.workflow_file import read_workflow_file
    from engine import model_cache
    from engine.folders import REPO_ROOT
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_video import save_video_folder, tiny_video_components

    model_cache.configure()
    prompt = json.loads((REPO_ROOT / "workflows" / "text_to_video.json").read_text())
    loader, latent = prompt["4"]["inputs"], prompt["5"]["inputs"]
    assert loader["ckpt_name"] == "text-to-video-ms-1.7b" and prompt["9"]["class_type"] == "SaveAnimatedWEBP"
    assert (latent["width"], latent["height"], latent["length"]) == (256, 256, 16)
    save_video_folder(tiny_video_components(), tmp_path / "models" / "checkpoints" / "text-to-video-ms-1.7b")
    latent.update(width=64, height=48, length=3)
    prompt["3"]["inputs"]["steps"] = 3
    classes = NodeRegistry(load_custom_nodes=False).load().classes
    checked = validate_prompt(prompt, classes)
    assert checked.ok, checked.node_errors or checked.error
    ui_workflow = {"nodes": [], "links": [], "version": 0.4, "extra": {"note": "text to video"}}
    result = PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "p", {"extra_pnginfo": {"workflow": ui_workflow}}, checked.outputs)
    assert result.status_str == "success", result.error
    output = result.outputs["9"]
    assert list(output["animated"]) == [True]
    [saved] = output["images"]
    path = tmp_path / "output" / saved["subfolder"] / saved["filename"]
    assert saved["subfolder"] == "video" and path.suffix == ".webp"
    with Image.open(path) as image:
        assert (image.n_frames, image.size) == (3, (64, 48))
        image.seek(1)
        image.load()
        assert image.info["duration"] == 125  # 8 fps
    assert read_workflow_file(str(path)) == ui_workflow
    with Image.open(path) as image:
        assert json.loads(image.getexif()[0x0110].removeprefix("prompt:")) == checked.prompt
