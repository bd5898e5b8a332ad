"""Mistakes a person makes in a diffusion graph come back as clear errors naming the node,
and LoRA branches do not leak into each other."""

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from engine import model_cache
from graph.executor import CacheConfig, PromptExecutor
from graph.validate import validate_prompt
from nodes.registry import NodeRegistry
from tests.tiny_models import save_single_file, tiny_sd_components

Q_KEY = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"


pytestmark = pytest.mark.usefixtures("cpu_fp32")  # the diffusers references run on CPU, fp32


@pytest.fixture
def base(tmp_folders, tmp_path, monkeypatch):
    tmp_folders.ensure_io_dirs()
    monkeypatch.setattr(model_cache, "_cache", model_cache.ModelCache())
    for name in ("checkpoints", "loras"):
        (tmp_path / "models" / name).mkdir(parents=True)
    save_single_file(tiny_sd_components("sd1"), tmp_path / "models" / "checkpoints" / "tiny.safetensors")
    return tmp_path


@pytest.fixture(scope="module")
def registry():
    return NodeRegistry(load_custom_nodes=False).load()


def txt2img(seed=1, latent_width=64, model=("4", 0), save="9"):
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": latent_width, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red house", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": 3, "cfg": 5.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
            "model": list(model), "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        save: {"class_type": "SaveImage", "inputs": {"filename_prefix": f"out{save}", "images": ["8", 0]}},
    }


def run(registry, prompt):
    checked = validate_prompt(prompt, registry.classes)
    assert checked.ok, checked.node_errors or checked.error
    return PromptExecutor(registry.classes, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "p", {}, checked.outputs)


def saved_pixels(base, result, node_id):
    entry = result.outputs[node_id]["images"][0]
    return np.asarray(Image.open(base / "output" / entry["subfolder"] / entry["filename"]))


def write_lora(path, keys_prefix=Q_KEY, rank=4, width=32):
    generator = torch.Generator().manual_seed(3)
    save_file({
        f"{keys_prefix}.lora_up.weight": torch.randn(width, rank, generator=generator),
        f"{keys_prefix}.lora_down.weight": torch.randn(rank, width, generator=generator),
        f"{keys_prefix}.alpha": torch.tensor(float(rank)),
    }, str(path))


def test_size_not_divisible_by_8_fails_validation_naming_node_and_input(base, registry):
    result = validate_prompt(txt2img(latent_width=100), registry.classes)
    assert not result.ok
    errors = result.node_errors["5"]["errors"]
    assert result.node_errors["5"]["class_type"] == "EmptyLatentImage"
    assert any("width: 100 is not a multiple of 8" in e["details"] for e in errors)


def test_corrupt_checkpoint_is_an_error_naming_node_and_file(base, registry):
    (base / "models" / "checkpoints" / "tiny.safetensors").write_bytes(b"this is not a safetensors file")
    result = run(registry, txt2img())
    assert result.status_str == "error"
    assert (result.error["node_id"], result.error["node_type"]) == ("4", "CheckpointLoaderSimple")
    assert "tiny.safetensors" in result.error["exception_message"]


def test_lora_for_another_architecture_is_an_error_naming_node_and_file(base, registry):
    write_lora(base / "models" / "loras" / "other.safetensors", keys_prefix="lora_unet_no_such_block_proj")
    prompt = txt2img(model=("10", 0))
    prompt["10"] = {"class_type": "LoraLoaderModelOnly",
                    "inputs": {"model": ["4", 0], "lora_name": "other.safetensors", "strength_model": 1.0}}
    result = run(registry, prompt)
    assert result.status_str == "error"
    assert (result.error["node_id"], result.error["node_type"]) == ("10", "LoraLoaderModelOnly")
    assert "other.safetensors" in result.error["exception_message"]


def test_file_that_is_not_an_image_is_an_error_naming_node_and_input(base, registry):
    (base / "input" / "notes.png").write_text("not an image")
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "notes.png"}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    result = run(registry, prompt)
    assert result.status_str == "error"
    assert (result.error["node_id"], result.error["node_type"]) == ("1", "LoadImage")
    assert "image: 'notes.png' is not a readable image" in result.error["exception_message"]


def test_lora_branch_and_plain_branch_in_one_graph_equal_each_run_alone(base, registry):
    write_lora(base / "models" / "loras" / "style.safetensors")
    lora_node = {"class_type": "LoraLoaderModelOnly",
                 "inputs": {"model": ["4", 0], "lora_name": "style.safetensors", "strength_model": 1.0}}

    plain_alone = saved_pixels(base, run(registry, txt2img()), "9")
    with_lora = txt2img(model=("10", 0), save="19")
    with_lora["10"] = lora_node
    lora_alone = saved_pixels(base, run(registry, with_lora), "19")
    assert np.abs(lora_alone.astype(int) - plain_alone.astype(int)).max() > 0, "the LoRA must change the image"

    both = txt2img()
    both.update({
        "10": lora_node,
        "13": {**both["3"], "inputs": {**both["3"]["inputs"], "model": ["10", 0]}},
        "18": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0], "vae": ["4", 2]}},
        "19": {"class_type": "SaveImage", "inputs": {"filename_prefix": "both19", "images": ["18", 0]}},
    })
    result = run(registry, both)
    assert result.status_str == "success", result.error
    assert np.array_equal(saved_pixels(base, result, "9"), plain_alone)
    assert np.array_equal(saved_pixels(base, result, "19"), lora_alone)


def test_old_inpainting_prompt_without_grow_mask_by_names_the_input_and_the_node_title():
    """ComfyUI refuses a VAEEncodeForInpaint without grow_mask_by; so does Loom, and says where."""
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry

    classes = NodeRegistry(load_custom_nodes=False).load().classes
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "2": {"class_type": "VAEEncodeForInpaint", "inputs": {"pixels": ["1", 0], "vae": ["1", 0], "mask": ["1", 0]},
              "_meta": {"title": "Inpaint encode"}},
        "3": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
        "4": {"class_type": "SaveLatent", "inputs": {"samples": ["2", 0], "filename_prefix": "x"}},
    }
    result = validate_prompt(prompt, classes)
    errors = [e for e in result.node_errors["2"]["errors"] if e["type"] == "required_input_missing"]
    assert errors[0]["extra_info"]["input_name"] == "grow_mask_by"
    assert errors[0]["details"] == "grow_mask_by (node #2 'Inpaint encode')"
