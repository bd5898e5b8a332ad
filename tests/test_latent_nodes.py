"""Latent nodes: shapes, values, batches, masks, .latent files; inputs never change."""

import json
import math

import pytest
import safetensors.torch
import torch
from safetensors import safe_open

from engine.images import bislerp
from nodes.latent import (
    EmptyLatentImage, LatentComposite, LatentFromBatch, LatentUpscale, LatentUpscaleBy,
    LoadLatent, RepeatLatentBatch, SaveLatent, SetLatentNoiseMask,
)


def _latent(batch=2, height=8, width=12, seed=0):
    return {"samples": torch.randn(batch, 4, height, width, generator=torch.Generator().manual_seed(seed))}


def _frozen(latent):
    return {key: value.clone() if isinstance(value, torch.Tensor) else list(value) for key, value in latent.items()}


def _assert_unchanged(latent, frozen):
    assert latent.keys() == frozen.keys()
    for key, value in frozen.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(latent[key], value), key
        else:
            assert latent[key] == value, key


def test_empty_latent_image_shape_and_schema():
    (latent,) = EmptyLatentImage().generate(64, 48, 3)
    assert latent["samples"].shape == (3, 4, 6, 8) and latent["samples"].abs().sum() == 0
    width = EmptyLatentImage.INPUT_TYPES()["required"]["width"][1]
    assert (width["default"], width["min"], width["max"], width["step"]) == (512, 16, 16384, 8)


@pytest.mark.parametrize("method", ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"])
def test_latent_upscale_methods(method):
    latent = _latent()
    frozen = _frozen(latent)
    (out,) = LatentUpscale().upscale(latent, method, 192, 128, "disabled")
    assert out["samples"].shape == (2, 4, 16, 24)
    _assert_unchanged(latent, frozen)
    flat = {"samples": torch.full((1, 4, 8, 8), 0.3)}
    (scaled,) = LatentUpscale().upscale(flat, method, 128, 128, "disabled")
    torch.testing.assert_close(scaled["samples"], torch.full((1, 4, 16, 16), 0.3))


def test_latent_upscale_zero_side_keeps_aspect_and_keeps_other_keys():
    latent = _latent(height=8, width=12)
    latent["noise_mask"] = torch.ones(1, 1, 64, 96)
    (out,) = LatentUpscale().upscale(latent, "bilinear", 0, 128, "disabled")
    assert out["samples"].shape == (2, 4, 16, 24)
    assert out["noise_mask"] is latent["noise_mask"]
    (same,) = LatentUpscale().upscale(latent, "bilinear", 0, 0, "disabled")
    assert same["samples"] is latent["samples"]


def test_latent_upscale_by():
    (out,) = LatentUpscaleBy().upscale(_latent(height=8, width=12), "nearest-exact", 1.5)
    assert out["samples"].shape == (2, 4, 12, 18)


def test_bislerp_keeps_vector_length_between_opposite_directions():
    # two unit vectors at right angles: slerp keeps unit length, lerp would shrink it
    samples = torch.zeros(1, 2, 1, 2)
    samples[0, 0, 0, 0] = 1.0
    samples[0, 1, 0, 1] = 1.0
    out = bislerp(samples, 4, 1)
    lengths = out[0, :, 0, :].norm(dim=0)
    torch.testing.assert_close(lengths, torch.ones(4), atol=1e-5, rtol=0)
    middle = out[0, :, 0, 1]  # position 0.25 between the two vectors
    angle = math.atan2(middle[1].item(), middle[0].item())
    assert angle == pytest.approx(0.25 * math.pi / 2, abs=1e-4)


def test_latent_composite_pastes_at_pixel_offsets():
    to = {"samples": torch.zeros(1, 4, 8, 8)}
    frm = {"samples": torch.ones(1, 4, 4, 4)}
    frozen_to, frozen_from = _frozen(to), _frozen(frm)
    (out,) = LatentComposite().composite(to, frm, 16, 8, feather=0)
    expected = torch.zeros(1, 4, 8, 8)
    expected[:, :, 1:5, 2:6] = 1
    assert torch.equal(out["samples"], expected)
    _assert_unchanged(to, frozen_to)
    _assert_unchanged(frm, frozen_from)


def test_latent_composite_clips_at_the_edge_and_feathers_inner_edges():
    to = {"samples": torch.zeros(1, 4, 8, 8)}
    frm = {"samples": torch.ones(1, 4, 8, 8)}
    (clipped,) = LatentComposite().composite(to, frm, 48, 48)
    assert clipped["samples"][:, :, 6:, 6:].eq(1).all() and clipped["samples"][:, :, :6].eq(0).all()
    (feathered,) = LatentComposite().composite(to, {"samples": torch.ones(1, 4, 4, 4)}, 16, 16, feather=16)
    row = feathered["samples"][0, 0, 3, 2:6]  # a middle row of the pasted 4x4 block
    torch.testing.assert_close(row, torch.tensor([0.5, 1.0, 1.0, 0.5]))


def test_latent_from_batch_selects_and_records_indices():
    latent = _latent(batch=4)
    latent["noise_mask"] = torch.rand(2, 1, 64, 96)
    frozen = _frozen(latent)
    (out,) = LatentFromBatch().frombatch(latent, 1, 2)
    assert torch.equal(out["samples"], latent["samples"][1:3])
    assert out["batch_index"] == [1, 2]
    # masks repeat over the batch before slicing: items 1, 2 -> masks 1, 0
    assert torch.equal(out["noise_mask"][0], latent["noise_mask"][1])
    assert torch.equal(out["noise_mask"][1], latent["noise_mask"][0])
    _assert_unchanged(latent, frozen)
    (tail,) = LatentFromBatch().frombatch(latent, 10, 5)
    assert tail["batch_index"] == [3] and tail["samples"].shape[0] == 1
    (again,) = LatentFromBatch().frombatch(out, 1, 1)
    assert again["batch_index"] == [2]


def test_repeat_latent_batch():
    latent = _latent(batch=2)
    latent["batch_index"] = [4, 5]
    frozen = _frozen(latent)
    (out,) = RepeatLatentBatch().repeat(latent, 3)
    assert out["samples"].shape == (6, 4, 8, 12)
    assert torch.equal(out["samples"][4:], latent["samples"])
    assert out["batch_index"] == [4, 5, 6, 7, 8, 9]
    _assert_unchanged(latent, frozen)


def test_set_latent_noise_mask_reshapes_and_copies():
    latent = _latent()
    mask = torch.rand(2, 64, 96)
    (out,) = SetLatentNoiseMask().set_mask(latent, mask)
    assert out["noise_mask"].shape == (2, 1, 64, 96)
    assert "noise_mask" not in latent and out["samples"] is latent["samples"]


def test_save_latent_writes_comfyui_format_and_load_latent_reads_it_back(tmp_folders):
    latent = _latent()
    prompt = {"1": {"class_type": "EmptyLatentImage", "inputs": {}}}
    result = SaveLatent().save(latent, "latents/test", prompt=prompt, extra_pnginfo={"workflow": {"n": 1}})
    entry = result["ui"]["latents"][0]
    assert entry == {"filename": "test_00001_.latent", "subfolder": "latents", "type": "output"}
    path = tmp_folders.output_dir / "latents" / "test_00001_.latent"
    with safe_open(str(path), "pt") as handle:
        assert set(handle.keys()) == {"latent_tensor", "latent_format_version_0"}
        metadata = handle.metadata()
    assert json.loads(metadata["prompt"]) == prompt and json.loads(metadata["workflow"]) == {"n": 1}

    tmp_folders.input_dir.mkdir(parents=True)
    (tmp_folders.input_dir / "copy.latent").write_bytes(path.read_bytes())
    assert LoadLatent.INPUT_TYPES()["required"]["latent"][0] == ["copy.latent"]
    (loaded,) = LoadLatent().load("copy.latent")
    assert torch.equal(loaded["samples"], latent["samples"])
    assert LoadLatent.VALIDATE_INPUTS("copy.latent") is True
    assert LoadLatent.VALIDATE_INPUTS("nope.latent") == "Invalid latent file: nope.latent"


def test_old_latent_files_without_the_marker_are_rescaled(tmp_folders):
    tmp_folders.input_dir.mkdir(parents=True)
    raw = torch.ones(1, 4, 2, 2)
    safetensors.torch.save_file({"latent_tensor": raw}, str(tmp_folders.input_dir / "old.latent"))
    (loaded,) = LoadLatent().load("old.latent")
    torch.testing.assert_close(loaded["samples"], raw / 0.18215)


def test_load_latent_rejects_a_file_that_is_not_a_latent(tmp_folders):
    tmp_folders.input_dir.mkdir(parents=True)
    (tmp_folders.input_dir / "bad.latent").write_text("garbage")
    with pytest.raises(ValueError, match="latent: 'bad.latent' is not a readable"):
        LoadLatent().load("bad.latent")


def test_latent_composite_feather_wider_than_the_pasted_region_does_not_fail():
    """ComfyUI clamps (its slices run past the region); Loom used to raise IndexError."""
    import torch

    from nodes.latent import LatentComposite

    target = {"samples": torch.zeros(1, 4, 8, 8)}
    source = {"samples": torch.ones(1, 4, 2, 2)}
    result = LatentComposite().composite(target, source, 16, 16, feather=40)[0]["samples"]
    pasted = result[:, :, 2:4, 2:4]
    assert result.shape == (1, 4, 8, 8) and 0 < float(pasted.min()) <= float(pasted.max()) < 1
    assert float(result[:, :, :2].abs().sum()) == 0.0, "nothing outside the region changes"
