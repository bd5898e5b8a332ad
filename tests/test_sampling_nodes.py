"""KSampler / KSamplerAdvanced schemas match ComfyUI's, import without torch, run on a tiny model."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.sampling import names
from nodes.sampling import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, KSampler, KSamplerAdvanced

REPO = Path(__file__).resolve().parent.parent


def test_node_modules_and_names_import_without_torch():
    code = ("import sys, nodes.sampling, engine.sampling.names; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_ksampler_inputs_match_comfyui():
    required = KSampler.INPUT_TYPES()["required"]
    assert list(required) == ["model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive",
                              "negative", "latent_image", "denoise"]
    assert required["seed"][1]["max"] == 0xFFFFFFFFFFFFFFFF and required["seed"][1]["default"] == 0
    assert {k: v for k, v in required["steps"][1].items() if k != "tooltip"} == {"default": 20, "min": 1, "max": 10000}
    assert required["cfg"][1]["default"] == 8.0 and required["cfg"][1]["max"] == 100.0
    assert required["denoise"][1]["default"] == 1.0
    assert required["sampler_name"][0][:3] == ["euler", "euler_cfg_pp", "euler_ancestral"]
    assert required["scheduler"][0][:3] == ["normal", "karras", "exponential"]
    assert KSampler.RETURN_TYPES == ("LATENT",) and KSampler.FUNCTION == "sample"
    assert NODE_DISPLAY_NAME_MAPPINGS["KSamplerAdvanced"] == "KSampler (Advanced)"
    assert set(NODE_CLASS_MAPPINGS) == {"KSampler", "KSamplerAdvanced"}


def test_ksampler_advanced_inputs_match_comfyui():
    required = KSamplerAdvanced.INPUT_TYPES()["required"]
    assert list(required) == ["model", "add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler",
                              "positive", "negative", "latent_image", "start_at_step", "end_at_step",
                              "return_with_leftover_noise"]
    assert required["add_noise"][0] == ["enable", "disable"]
    assert required["return_with_leftover_noise"][0] == ["disable", "enable"]
    assert required["end_at_step"][1]["default"] == 10000


def test_supported_names_keep_comfyui_order():
    order = [names.COMFY_SAMPLER_NAMES.index(n) for n in names.SAMPLER_NAMES]
    assert order == sorted(order)
    assert {"euler", "dpmpp_2m", "uni_pc", "ddim", "lcm", "deis"} <= set(names.SAMPLER_NAMES)
    assert names.SCHEDULER_NAMES == ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform",
                                     "beta", "linear_quadratic", "kl_optimal"]


def test_validate_inputs_lists_the_supported_names():
    assert KSampler.VALIDATE_INPUTS(sampler_name="euler", scheduler="karras") is True
    message = KSamplerAdvanced.VALIDATE_INPUTS(sampler_name="res_multistep", scheduler="bong_tangent")
    assert "sampler_name: 'res_multistep' is not supported" in message
    assert "scheduler: 'bong_tangent' is not supported" in message
    assert ", ".join(names.SAMPLER_NAMES) in message


def test_advanced_node_runs_both_stages():
    from engine.model import DiffusionModel
    from tests.tiny_models import tiny_unet

    model = DiffusionModel(tiny_unet("sd1"), "sd1")
    cond = [[torch.randn(1, 77, 32, generator=torch.Generator().manual_seed(1)), {}]]
    empty = {"samples": torch.zeros(1, 4, 8, 8)}
    (full,) = KSampler().sample(model, 3, 4, 4.0, "heun", "normal", cond, cond, empty)
    node = KSamplerAdvanced()
    (half,) = node.sample(model, "enable", 3, 4, 4.0, "heun", "normal", cond, cond, empty, 0, 2, "enable")
    (done,) = node.sample(model, "disable", 3, 4, 4.0, "heun", "normal", cond, cond, half, 2, 10000, "disable")
    assert torch.allclose(done["samples"], full["samples"], atol=1e-4)


def test_preview_is_a_small_jpeg():
    from engine.sampling.preview import latent_to_jpeg, latent_to_pil

    latent = torch.zeros(1, 4, 8, 8)
    latent[:, 0] = 2.0  # channel 0 is mostly brightness in SD latents
    image = latent_to_pil(latent)
    assert image.size == (64, 64)
    assert sum(image.getpixel((3, 3))) > sum(latent_to_pil(torch.zeros(1, 4, 8, 8)).getpixel((3, 3)))
    assert latent_to_jpeg(latent, "sdxl")[:2] == b"\xff\xd8"
