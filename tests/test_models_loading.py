"""Loading tiny SD1/SD2/SDXL checkpoints (single file and diffusers folder) gives the same modules."""
from __future__ import annotations

import pytest
import torch

from engine import checkpoints, detect, folders, model_cache
from engine.errors import ModelError
from tests.tiny_models import ldm_state_dict, save_diffusers_folder, save_single_file, tiny_sd_components, tiny_unet

TOLERANCE = 1e-5
ARCHES = ["sd1", "sd2", "sdxl"]


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(model_cache, "_cache", model_cache.ModelCache())


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Per arch: the original components, a single file and a diffusers folder."""
    root = tmp_path_factory.mktemp("checkpoints")
    result = {}
    for arch in ARCHES:
        components = tiny_sd_components(arch)
        extra = {"v_pred": torch.tensor([])} if arch == "sd2" else None
        prediction = "v_prediction" if arch == "sd2" else "epsilon"
        result[arch] = dict(
            components=components,
            single=save_single_file(components, root / f"tiny_{arch}.safetensors", extra_keys=extra),
            folder=save_diffusers_folder(components, root / f"tiny_{arch}", prediction_type=prediction),
        )
    return result


def _unet_inputs(unet):
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(2, unet.config.in_channels, 8, 8, generator=generator)
    context = torch.randn(2, 77, unet.config.cross_attention_dim, generator=generator)
    kwargs = {}
    if unet.config.addition_embed_type == "text_time":
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        kwargs["added_cond_kwargs"] = {"text_embeds": torch.randn(2, pooled, generator=generator),
                                       "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]] * 2)}
    return sample, torch.tensor([10, 500]), context, kwargs


def assert_same_unet(original, loaded):
    sample, timesteps, context, kwargs = _unet_inputs(original)
    with torch.no_grad():
        expected = original(sample, timesteps, context, **kwargs).sample
        actual = loaded(sample, timesteps, context, **kwargs).sample
    assert (expected - actual).abs().max().item() < TOLERANCE


def assert_same_vae(original, loaded):
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = original.decode(latents).sample
        actual = loaded.autoencoder.decode(latents).sample
    assert expected.shape == (1, 3, 64, 64)
    assert (expected - actual).abs().max().item() < TOLERANCE


def assert_same_text(original, loaded):
    ids = torch.tensor([[49406, 320, 1125, 539, 320, 2368, 49407] + [49407] * 70])
    with torch.no_grad():
        expected = original(ids, output_hidden_states=True)
        actual = loaded(ids, output_hidden_states=True)
    assert len(expected.hidden_states) == len(actual.hidden_states)
    for want, got in zip(expected.hidden_states, actual.hidden_states):
        assert (want - got).abs().max().item() < TOLERANCE
    if hasattr(expected, "text_embeds"):
        assert (expected.text_embeds - actual.text_embeds).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("layout", ["single", "folder"])
def test_loaded_checkpoint_matches_original(saved, arch, layout):
    entry = saved[arch]
    components = entry["components"]
    model, clip, vae = checkpoints.load_checkpoint(entry[layout])
    assert model.arch == arch
    assert model.prediction_type == ("v_prediction" if arch == "sd2" else "epsilon")
    assert_same_unet(components["unet"], model.unet)
    assert_same_vae(components["vae"], vae)
    assert len(clip.text_encoders) == (2 if arch == "sdxl" else 1)
    assert_same_text(components["text_encoder"], clip.text_encoders[0])
    if arch == "sdxl":
        assert_same_text(components["text_encoder_2"], clip.text_encoders[1])
        assert vae.scaling_factor == pytest.approx(0.13025)
    else:
        assert vae.scaling_factor == pytest.approx(0.18215)


def test_checkpoint_loader_node_returns_the_loaded_models(saved, tmp_path, monkeypatch):
    from nodes.loaders import CheckpointLoaderSimple

    monkeypatch.setattr(folders, "_folders", folders.Folders.default(tmp_path))
    target = tmp_path / "models" / "checkpoints" / "sub"
    target.mkdir(parents=True)
    (target / "tiny.safetensors").write_bytes(saved["sd1"]["single"].read_bytes())
    assert "sub/tiny.safetensors" in CheckpointLoaderSimple.INPUT_TYPES()["required"]["ckpt_name"][0]

    model, clip, vae = CheckpointLoaderSimple().load_checkpoint("sub/tiny.safetensors")
    components = saved["sd1"]["components"]
    assert_same_unet(components["unet"], model.unet)
    assert_same_vae(components["vae"], vae)
    assert_same_text(components["text_encoder"], clip.text_encoders[0])
    cond, pooled = clip.encode("a photo of a cat")
    assert cond.shape == (1, 77, 32)

    with pytest.raises(ValueError, match="ckpt_name: file 'missing.safetensors' not found"):
        CheckpointLoaderSimple().load_checkpoint("missing.safetensors")


def test_unet_vae_and_clip_loaders(saved, tmp_path, monkeypatch):
    from nodes.loaders import CLIPLoader, DualCLIPLoader, UNETLoader, VAELoader

    monkeypatch.setattr(folders, "_folders", folders.Folders.default(tmp_path))
    models = tmp_path / "models"
    for name in ("diffusion_models", "vae", "text_encoders"):
        (models / name).mkdir(parents=True)
    from safetensors.torch import save_file

    state = ldm_state_dict(saved["sdxl"]["components"])
    unet_part = {k: v for k, v in state.items() if k.startswith("model.diffusion_model.")}
    save_file(unet_part, str(models / "diffusion_models" / "xl_unet.safetensors"))
    vae_part = {k[len("first_stage_model."):]: v for k, v in state.items() if k.startswith("first_stage_model.")}
    save_file(vae_part, str(models / "vae" / "tiny_xl_vae.safetensors"))
    clip_l = {k: v for k, v in state.items() if k.startswith("conditioner.embedders.0.")}
    clip_g = {k[len("conditioner.embedders.1.model."):]: v for k, v in state.items()
              if k.startswith("conditioner.embedders.1.")}
    save_file(clip_l, str(models / "text_encoders" / "clip_l.safetensors"))
    save_file(clip_g, str(models / "text_encoders" / "clip_g.safetensors"))
    components = saved["sdxl"]["components"]

    (model,) = UNETLoader().load_unet("xl_unet.safetensors", "fp8_e4m3fn")
    assert model.arch == "sdxl"
    assert_same_unet(components["unet"], model.unet)

    (vae,) = VAELoader().load_vae("tiny_xl_vae.safetensors")
    assert_same_vae(components["vae"], vae)
    assert vae.scaling_factor == pytest.approx(0.13025)

    (clip,) = DualCLIPLoader().load_clip("clip_l.safetensors", "clip_g.safetensors", "sdxl")
    assert_same_text(components["text_encoder"], clip.text_encoders[0])
    assert_same_text(components["text_encoder_2"], clip.text_encoders[1])

    sd1 = {k: v for k, v in ldm_state_dict(saved["sd1"]["components"]).items()
           if k.startswith("cond_stage_model.")}
    save_file(sd1, str(models / "text_encoders" / "sd1_clip.safetensors"))
    (clip,) = CLIPLoader().load_clip("sd1_clip.safetensors", "stable_diffusion")
    assert clip.arch == "sd1"
    assert_same_text(saved["sd1"]["components"]["text_encoder"], clip.text_encoders[0])
    with pytest.raises(ValueError, match="type: 'sd3'"):
        CLIPLoader().load_clip("sd1_clip.safetensors", "sd3")


# ------------------------------------------------------------------ detection

@pytest.mark.parametrize("arch", ARCHES)
def test_detects_each_family(saved, arch):
    state = ldm_state_dict(saved[arch]["components"])
    info = detect.detect_checkpoint(state, f"tiny_{arch}.safetensors")
    assert (info.arch, info.in_channels, info.prediction_type) == (arch, 4, "epsilon")
    unet_only = detect.strip_prefix(state, detect.UNET_PREFIX)
    assert detect.detect_unet_arch(unet_only) == arch


@pytest.mark.parametrize("arch,channels", [("sd1", 9), ("sd2", 9), ("sd2", 5)])
def test_detects_inpainting_and_depth_input_channels(tmp_path, arch, channels):
    components = tiny_sd_components(arch)
    components["unet"] = tiny_unet(arch, in_channels=channels)
    info = detect.detect_checkpoint(ldm_state_dict(components))
    assert (info.arch, info.in_channels) == (arch, channels)
    if channels == 9 and arch == "sd1":
        path = save_single_file(components, tmp_path / "inpaint.safetensors")
        model, _clip, _vae = checkpoints.load_checkpoint(path)
        assert model.in_channels == 9
        assert_same_unet(components["unet"], model.unet)


def test_prediction_type_rule(saved):
    state = ldm_state_dict(saved["sd2"]["components"])
    assert detect.detect_checkpoint(state, "v2-1_512-ema.safetensors").prediction_type == "epsilon"
    assert detect.detect_checkpoint(state, "v2-1_768-ema-pruned.safetensors").prediction_type == "v_prediction"
    assert detect.detect_checkpoint(dict(state, v_pred=torch.tensor([]))).prediction_type == "v_prediction"
    metadata = {"modelspec.prediction_type": "epsilon"}
    assert detect.detect_checkpoint(state, "x_768.safetensors", metadata).prediction_type == "epsilon"
    assert detect.detect_checkpoint(state, prediction_type="v").prediction_type == "v_prediction"
    sd1_state = ldm_state_dict(saved["sd1"]["components"])
    assert detect.detect_checkpoint(sd1_state, "model_768.safetensors").prediction_type == "epsilon"


def test_explicit_prediction_type_overrides_the_file(saved):
    model, _clip, _vae = checkpoints.load_checkpoint(saved["sd2"]["single"], prediction_type="epsilon")
    assert model.prediction_type == "epsilon"


def test_not_a_stable_diffusion_file(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"layer.weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(ModelError, match="other.safetensors"):
        checkpoints.load_checkpoint(path)


def test_sdxl_refiner_layout_loads(tmp_path):
    """Refiner files hold only OpenCLIP-bigG (embedders.0) and 5 time ids in label_emb."""
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file

    from tests.tiny_models import (_prefixed, _seeded, open_clip_to_ldm, tiny_clip_text, tiny_vae, unet_config,
                                   unet_to_ldm, vae_to_ldm)

    config = dict(unet_config("sdxl"), cross_attention_dim=32, projection_class_embeddings_input_dim=64 + 5 * 8)
    with _seeded(5):
        unet = UNet2DConditionModel(**config).eval()
    encoder = tiny_clip_text(projection_dim=64, hidden_act="gelu", seed=4)
    vae = tiny_vae(scaling_factor=0.13025)
    state = {}
    state.update(_prefixed("model.diffusion_model.", unet_to_ldm(unet.state_dict(), unet.config)))
    state.update(_prefixed("first_stage_model.", vae_to_ldm(vae.state_dict(), 4)))
    state.update(_prefixed("conditioner.embedders.0.model.", open_clip_to_ldm(encoder.state_dict())))
    path = tmp_path / "tiny_refiner.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))

    model, clip, loaded_vae = checkpoints.load_checkpoint(path)
    assert model.arch == "sdxl_refiner" and clip.arch == "sdxl_refiner"
    assert model.unet.config.addition_time_embed_dim == 8
    sample, timesteps, context, _ = _unet_inputs(unet)
    time_ids = torch.tensor([[64.0, 64, 0, 0, 6.0]] * 2)
    kwargs = {"added_cond_kwargs": {"text_embeds": torch.randn(2, 64), "time_ids": time_ids}}
    with torch.no_grad():
        assert torch.allclose(unet(sample, timesteps, context, **kwargs).sample,
                              model.unet(sample, timesteps, context, **kwargs).sample, atol=TOLERANCE)
    assert_same_text(encoder, clip.text_encoders[0])
    assert_same_vae(vae, loaded_vae)


@pytest.mark.parametrize("arch", ["sd1", "sdxl"])
def test_unet_file_in_diffusers_layout_without_config(saved, tmp_path, arch):
    from safetensors.torch import save_file

    original = saved[arch]["components"]["unet"]
    path = tmp_path / "diffusion_pytorch_model.safetensors"
    save_file({k: v.contiguous() for k, v in original.state_dict().items()}, str(path))
    model = checkpoints.load_unet(path)
    assert model.arch == arch
    assert_same_unet(original, model.unet)
