"""Weight files (missing, corrupt, pickles), the model cache, extra_model_paths.yaml and devices."""
from __future__ import annotations

import os

import pytest
import torch

from engine import checkpoints, devices, extra_model_paths, folders, model_cache, safe_load
from engine.errors import ModelError
from tests.tiny_models import ldm_state_dict, save_single_file, tiny_sd_components


class Payload:
    """An arbitrary class: unpickling it would import and run code of the file's choosing."""


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(model_cache, "_cache", model_cache.ModelCache())


@pytest.fixture(scope="module")
def sd1_components():
    return tiny_sd_components("sd1")


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        checkpoints.load_checkpoint(tmp_path / "absent.safetensors")
    with pytest.raises(ModelError, match="not found"):
        safe_load.load_state_dict(tmp_path / "absent.safetensors")


def test_corrupt_safetensors_names_the_file(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(os.urandom(64))
    with pytest.raises(ModelError, match="broken.safetensors"):
        checkpoints.load_checkpoint(path)


def test_truncated_safetensors(tmp_path, sd1_components):
    path = save_single_file(sd1_components, tmp_path / "cut.safetensors")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelError, match="cut.safetensors"):
        checkpoints.load_checkpoint(path)


def test_ckpt_refused_without_the_flag_and_loaded_with_it(tmp_path, sd1_components, monkeypatch):
    path = tmp_path / "old.ckpt"
    torch.save({"state_dict": ldm_state_dict(sd1_components)}, str(path))
    with pytest.raises(ModelError, match="old.ckpt.*refused"):
        checkpoints.load_checkpoint(path)

    model, _clip, _vae = checkpoints.load_checkpoint(path, allow_pickle=True)
    expected = sd1_components["unet"].state_dict()
    assert all(torch.equal(value, expected[key]) for key, value in model.unet.state_dict().items())

    monkeypatch.setattr(devices, "_settings", devices.DeviceSettings(allow_pickle=True))
    state = safe_load.load_state_dict(path)
    assert "model.diffusion_model.input_blocks.0.0.weight" in state


def test_pickle_with_code_is_refused_even_with_the_flag(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(1), "payload": Payload()}, str(path))
    with pytest.raises(ModelError, match="evil.pt"):
        safe_load.load_state_dict(path, allow_pickle=True)


def test_unknown_extension(tmp_path):
    path = tmp_path / "weights.npz"
    path.write_bytes(b"x")
    with pytest.raises(ModelError, match="weights.npz"):
        safe_load.load_state_dict(path)


# ------------------------------------------------------------------ cache

def test_cache_returns_the_same_objects_until_the_file_changes(tmp_path, sd1_components):
    path = save_single_file(sd1_components, tmp_path / "m.safetensors")
    first = checkpoints.load_checkpoint(path)
    assert checkpoints.load_checkpoint(path) is first
    assert checkpoints.load_vae(path) is not first[2]  # a different kind is a different entry
    stamp = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(stamp, stamp))
    again = checkpoints.load_checkpoint(path)
    assert again is not first
    assert again[0].unet is not first[0].unet


def test_cache_evicts_least_recently_used_beyond_budget(tmp_path, sd1_components, monkeypatch):
    one = save_single_file(sd1_components, tmp_path / "one.safetensors")
    two = save_single_file(sd1_components, tmp_path / "two.safetensors")
    three = save_single_file(sd1_components, tmp_path / "three.safetensors")
    vae_bytes = model_cache.weights_bytes(checkpoints.load_vae(one))
    assert vae_bytes == sum(p.numel() * 4 for p in sd1_components["vae"].parameters()) + \
        sum(b.numel() * b.element_size() for b in sd1_components["vae"].buffers())

    cache = model_cache.ModelCache(budget_bytes=int(vae_bytes * 2.5))
    monkeypatch.setattr(model_cache, "_cache", cache)
    vae_one = checkpoints.load_vae(one)
    vae_two = checkpoints.load_vae(two)
    assert checkpoints.load_vae(one) is vae_one  # one is now the most recently used
    checkpoints.load_vae(three)  # over budget: two is dropped, not one
    assert len(cache) == 2
    assert checkpoints.load_vae(one) is vae_one
    assert checkpoints.load_vae(two) is not vae_two


# ------------------------------------------------------------------ extra_model_paths.yaml

def test_extra_model_paths_yaml(tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    webui = tmp_path / "webui"
    (webui / "models" / "Stable-diffusion").mkdir(parents=True)
    (webui / "models" / "Stable-diffusion" / "a1111.safetensors").write_bytes(b"")
    (webui / "models" / "Lora").mkdir(parents=True)
    (webui / "models" / "LyCORIS").mkdir(parents=True)
    (webui / "models" / "LyCORIS" / "locon.safetensors").write_bytes(b"")
    yaml_path = config_dir / "extra_model_paths.yaml"
    yaml_path.write_text(
        "a111:\n"
        "    base_path: ../webui\n"
        "    checkpoints: models/Stable-diffusion\n"
        "    loras: |\n"
        "        models/Lora\n"
        "        models/LyCORIS\n"
        "    vae: models/VAE\n"
        "comfy:\n"
        f"    base_path: {tmp_path / 'comfy'}\n"
        "    is_default: true\n"
        "    clip: models/clip/\n"
        "empty:\n"
    )
    target = folders.Folders.default(tmp_path / "loom")
    entries = extra_model_paths.apply(yaml_path, target)
    assert len(entries) == 5
    assert target.dirs("checkpoints")[-1].resolve() == (webui / "models" / "Stable-diffusion").resolve()
    assert [p.resolve() for p in target.dirs("loras")[-2:]] == \
        [(webui / "models" / "Lora").resolve(), (webui / "models" / "LyCORIS").resolve()]
    assert target.dirs("text_encoders")[0] == tmp_path / "comfy" / "models" / "clip"  # is_default: first
    assert target.list_files("checkpoints") == ["a1111.safetensors"]
    assert target.list_files("loras") == ["locon.safetensors"]


def test_extra_model_paths_errors_name_the_file(tmp_path):
    bad = tmp_path / "extra_model_paths.yaml"
    bad.write_text("a: [unclosed\n")
    with pytest.raises(ModelError, match="extra_model_paths.yaml"):
        extra_model_paths.parse(bad)
    bad.write_text("a:\n  checkpoints: 5\n")
    with pytest.raises(ModelError, match="a.checkpoints"):
        extra_model_paths.parse(bad)


# ------------------------------------------------------------------ devices

def test_devices_cpu_defaults(monkeypatch):
    monkeypatch.setattr(devices, "_settings", None)
    devices.configure(cpu=True)
    assert devices.torch_device() == torch.device("cpu")
    assert devices.unet_dtype() == torch.float32
    assert devices.vae_dtype() == torch.float32
    devices.configure(cpu=True, bf16=True)
    assert devices.unet_dtype() == torch.bfloat16
    devices.configure(cpu=True, force_fp16=True)
    assert devices.unet_dtype() == torch.float32  # never fp16 on the CPU
    monkeypatch.setattr(devices, "_settings", None)


def test_loaded_objects_report_their_weight_size(tmp_path, sd1_components):
    from graph.cache import estimate_nbytes

    def size(module):
        return sum(t.numel() * t.element_size() for t in list(module.parameters()) + list(module.buffers()))

    model, clip, vae = checkpoints.load_checkpoint(save_single_file(sd1_components, tmp_path / "m.safetensors"))
    assert model.nbytes == size(model.unet)
    assert clip.nbytes == sum(size(encoder) for encoder in clip.text_encoders)
    assert vae.nbytes == size(vae.autoencoder)
    assert model_cache.weights_bytes((model, clip, vae)) == model.nbytes + clip.nbytes + vae.nbytes
    # the graph's output cache reads the same numbers without walking tokenizers or modules
    assert estimate_nbytes((model, clip, vae)) == model.nbytes + clip.nbytes + vae.nbytes
