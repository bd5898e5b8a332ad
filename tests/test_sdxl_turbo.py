"""SDXL Turbo: workflows/sdxl_turbo.json (SamplerCustom + SDTurboScheduler, 1 step, cfg 1) runs on a
tiny SDXL checkpoint and equals diffusers' StableDiffusionXLPipeline with SDXL Turbo's scheduler;
KSampler gives the same one-step result; progress and interrupts work as for KSampler.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from graph.executor import CacheConfig, PromptExecutor
from graph.validate import validate_prompt
from nodes.registry import NodeRegistry
from tests.tiny_models import save_single_file, tiny_sd_components

WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "sdxl_turbo.json"
CKPT = "sd_xl_turbo_1.0_fp16.safetensors"
SD_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)

pytestmark = pytest.mark.usefixtures("cpu_fp32")  # the diffusers reference runs on CPU, fp32


@pytest.fixture(scope="module")
def components():
    return tiny_sd_components("sdxl")


@pytest.fixture
def base(tmp_folders, tmp_path, components):
    save_single_file(components, tmp_path / "models" / "checkpoints" / CKPT)
    return tmp_path


@pytest.fixture(scope="module")
def registry():
    return NodeRegistry(load_custom_nodes=False).load()


def _workflow(size=64):
    prompt = json.loads(WORKFLOW.read_text())
    prompt["5"]["inputs"].update(width=size, height=size)  # the file says 512; tiny tests use 64 px
    return prompt


def _run(registry, prompt, bus=None, executor=None):
    checked = validate_prompt(prompt, registry.classes)
    assert checked.ok, checked.node_errors or checked.error
    executor = executor or PromptExecutor(registry.classes, bus, CacheConfig(policy="none"))
    return executor.execute(checked.prompt, "turbo", {}, checked.outputs)


def _saved(base, result, node_id="27"):
    entry = result.outputs[node_id]["images"][0]
    path = base / entry["type"] / entry["subfolder"] / entry["filename"]
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def test_workflow_is_comfyuis_sdxl_turbo_example():
    prompt = json.loads(WORKFLOW.read_text())
    sampler = prompt["13"]
    assert sampler["class_type"] == "SamplerCustom" and sampler["inputs"]["cfg"] == 1.0
    assert prompt["22"]["class_type"] == "SDTurboScheduler" and prompt["22"]["inputs"]["steps"] == 1
    assert prompt["20"]["inputs"]["ckpt_name"] == CKPT
    assert (prompt["5"]["inputs"]["width"], prompt["5"]["inputs"]["height"]) == (512, 512)


def test_one_step_equals_sdxl_pipeline_with_turbo_scheduler(base, registry, components):
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionXLPipeline

    prompt = _workflow()
    result = _run(registry, prompt)
    assert result.status_str == "success", result.error
    ours = _saved(base, result)

    # SDXL Turbo's own scheduler: Euler ancestral, 'trailing' spacing -> timestep 999 for one step
    scheduler = EulerAncestralDiscreteScheduler(**SD_BETAS, timestep_spacing="trailing")
    pipe = StableDiffusionXLPipeline(**{k: components[k] for k in ("vae", "text_encoder", "text_encoder_2",
                                                                     "tokenizer", "tokenizer_2", "unet")},
                                     scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    seed = prompt["13"]["inputs"]["noise_seed"]
    noise = torch.randn((1, 4, 8, 8), generator=torch.Generator("cpu").manual_seed(seed))
    # 'trailing' scales the start by sigma_max; ComfyUI/Loom by sqrt(1 + sigma_max^2) (full denoise)
    scheduler.set_timesteps(1)
    assert scheduler.timesteps.tolist() == [999]
    sigma_max = float(scheduler.sigmas.max())
    with torch.no_grad():
        images = pipe(prompt["6"]["inputs"]["text"], guidance_scale=1.0, num_inference_steps=1,
                      latents=noise * (1 + sigma_max ** 2) ** 0.5 / sigma_max, height=64, width=64,
                      output_type="pt").images
    theirs = (images[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).astype(np.int16)  # ComfyUI truncates
    assert ours.shape == theirs.shape == (64, 64, 3)
    assert ours.std() > 2
    assert np.abs(ours - theirs).max() <= 2


def test_ksampler_one_step_equals_sampler_custom_and_more_steps_run(base, registry):
    """KSampler euler_ancestral/sgm_uniform at 1 step walks SDTurboScheduler's sigmas [sigma(999), 0]."""
    prompt = _workflow()
    prompt["30"] = {"class_type": "KSampler", "inputs": {
        "seed": 0, "steps": 1, "cfg": 1.0, "sampler_name": "euler_ancestral", "scheduler": "sgm_uniform",
        "denoise": 1.0, "model": ["20", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}}
    prompt["31"] = {"class_type": "VAEDecode", "inputs": {"samples": ["30", 0], "vae": ["20", 2]}}
    prompt["32"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "ks", "images": ["31", 0]}}
    result = _run(registry, prompt)
    assert result.status_str == "success", result.error
    assert np.array_equal(_saved(base, result, "27"), _saved(base, result, "32"))

    for steps in (2, 4):  # Turbo's 1-4 steps through both nodes
        prompt["22"]["inputs"]["steps"] = steps
        prompt["30"]["inputs"]["steps"] = steps
        result = _run(registry, prompt)
        assert result.status_str == "success", result.error
        for node_id in ("27", "32"):
            assert _saved(base, result, node_id).std() > 2


def test_sampler_custom_reports_progress_and_stops_on_interrupt(base, registry):
    from graph.events import EventBus

    prompt = _workflow()
    prompt["22"]["inputs"]["steps"] = 3
    bus = EventBus()
    events = []
    bus.subscribe(lambda event, data, client_id: events.append((event, data)))
    executor = PromptExecutor(registry.classes, bus, CacheConfig(policy="none"))
    result = _run(registry, prompt, executor=executor)
    assert result.status_str == "success", result.error
    progress = [(d["value"], d["max"]) for e, d in events if e == "progress" and d.get("node") == "13"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert any(e == "preview_image" for e, _ in events)

    def interrupt_at_first_step(event, data, client_id):
        if event == "progress" and data.get("node") == "13" and data["value"] == 1:
            executor.interrupt()

    bus.subscribe(interrupt_at_first_step)
    events.clear()
    result = _run(registry, prompt, executor=executor)
    assert result.status_str == "interrupted"
    assert [d["value"] for e, d in events if e == "progress" and d.get("node") == "13"] == [1]


def test_wrong_link_type_fails_validation(base, registry):
    prompt = _workflow()
    prompt["13"]["inputs"]["sigmas"] = ["14", 0]  # a SAMPLER where SIGMAS belong
    checked = validate_prompt(prompt, registry.classes)
    assert not checked.ok
    assert "sigmas" in json.dumps(checked.node_errors["13"])
