"""LatentCrop and LatentBlend (ComfyUI's schemas and results) and the two-pass hires-fix workflow."""
import json

import pytest
import torch

from nodes.latent_transform import LatentBlend, LatentCrop


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread avoids waiting on a second one that a busy CPU rarely runs."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _latent(batch=1, height=16, width=24, seed=0):
    return {"samples": torch.randn(batch, 4, height, width, generator=torch.Generator().manual_seed(seed))}


def test_schemas_match_comfyui():
    crop = LatentCrop.INPUT_TYPES()["required"]
    assert list(crop) == ["samples", "width", "height", "x", "y"]
    for name, default, low in (("width", 512, 64), ("height", 512, 64), ("x", 0, 0), ("y", 0, 0)):
        spec = crop[name][1]
        assert (crop[name][0], spec["default"], spec["min"], spec["max"], spec["step"]) == \
            ("INT", default, low, 16384, 8), name
    blend = LatentBlend.INPUT_TYPES()["required"]
    assert list(blend) == ["samples1", "samples2", "blend_factor"]
    spec = blend["blend_factor"][1]
    assert (spec["default"], spec["min"], spec["max"], spec["step"]) == (0.5, 0, 1, 0.01)
    assert LatentCrop.CATEGORY == "latent/transform" and LatentBlend.CATEGORY == "_for_testing"


def test_crop_cuts_the_region_in_latent_units():
    latent = _latent()
    source = latent["samples"].clone()
    (out,) = LatentCrop().crop(latent, 64, 72, 16, 8)
    assert torch.equal(out["samples"], source[:, :, 1:10, 2:10])
    assert torch.equal(latent["samples"], source)  # input unchanged


def test_crop_keeps_the_corner_64px_inside_and_stops_at_the_edge():
    latent = _latent(height=16, width=24)
    (out,) = LatentCrop().crop(latent, 512, 512, 4000, 4000)
    assert torch.equal(out["samples"], latent["samples"][:, :, 8:, 16:])  # corner moved to 8 latent px inside
    (small,) = LatentCrop().crop(_latent(height=4, width=4), 64, 64, 64, 64)
    assert small["samples"].shape == (1, 4, 4, 4)  # a latent under 64 px: the corner stays at 0


def test_crop_cuts_a_pixel_sized_noise_mask_at_the_same_place():
    latent = _latent(height=16, width=24)
    mask = torch.rand(1, 1, 128, 192, generator=torch.Generator().manual_seed(3))
    latent["noise_mask"] = mask
    (out,) = LatentCrop().crop(latent, 64, 64, 8, 16)
    assert torch.equal(out["noise_mask"], mask[..., 16:80, 8:72])


def test_blend_weights_and_resizes_the_second():
    a, b = _latent(seed=1), _latent(seed=2)
    (out,) = LatentBlend().blend(a, b, 0.25)
    assert torch.allclose(out["samples"], a["samples"] * 0.25 + b["samples"] * 0.75)
    (same,) = LatentBlend().blend(a, b, 1.0)
    assert torch.equal(same["samples"], a["samples"])
    big = _latent(height=32, width=32, seed=4)  # other size and aspect: bicubic after a centre crop
    (resized,) = LatentBlend().blend(a, big, 0.5)
    expected = torch.nn.functional.interpolate(big["samples"][:, :, 5:27, :], size=(16, 24), mode="bicubic")
    assert resized["samples"].shape == a["samples"].shape
    assert torch.allclose(resized["samples"], a["samples"] * 0.5 + expected * 0.5, atol=1e-6)


def test_blend_refuses_other_channel_counts_naming_the_input():
    sdxl_like = {"samples": torch.zeros(1, 16, 16, 24)}
    with pytest.raises(ValueError, match="samples2: has 16 channels"):
        LatentBlend().blend(_latent(), sdxl_like, 0.5)
    with pytest.raises(ValueError, match="samples1: expected a LATENT"):
        LatentBlend().blend(torch.zeros(1), _latent(), 0.5)


def test_hires_fix_workflow_runs_on_a_tiny_checkpoint(tmp_folders, tmp_path):
    """workflows/hires_fix.json: 64 px first pass, latent x1.5, denoise-0.5 second pass -> a 96 px image."""
    from PIL import Image

    from engine import model_cache
    from engine.folders import REPO_ROOT
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_models import save_single_file, tiny_sd_components

    model_cache.configure()
    save_single_file(tiny_sd_components("sd1"), tmp_path / "models" / "checkpoints" / "tiny.safetensors")
    prompt = json.loads((REPO_ROOT / "workflows" / "hires_fix.json").read_text())
    assert prompt["4"]["inputs"]["ckpt_name"] == "v1-5-pruned-emaonly.safetensors"
    assert prompt["10"]["inputs"]["scale_by"] == 1.5 and prompt["11"]["inputs"]["denoise"] == 0.5
    prompt["4"]["inputs"]["ckpt_name"] = "tiny.safetensors"
    prompt["5"]["inputs"].update(width=64, height=64)
    prompt["3"]["inputs"]["steps"] = 3
    prompt["11"]["inputs"]["steps"] = 4
    classes = NodeRegistry(load_custom_nodes=False).load().classes
    checked = validate_prompt(prompt, classes)
    assert checked.ok, checked.node_errors or checked.error
    result = PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(checked.prompt, "p", {}, checked.outputs)
    assert result.status_str == "success", result.error
    saved = result.outputs["9"]["images"][0]
    image = Image.open(tmp_path / "output" / saved["subfolder"] / saved["filename"])
    assert image.size == (96, 96)
