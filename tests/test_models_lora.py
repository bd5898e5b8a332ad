"""LoRA files in kohya and diffusers/PEFT key styles patch the right weights by the right amount."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from engine import folders, model_cache
from engine.clip import CLIP
from engine.errors import ModelError
from engine.lora import lora_patches
from engine.model import DiffusionModel
from tests.tiny_models import tiny_clip_text, tiny_tokenizer, tiny_unet

Q_MODULE = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"
PROJ_IN_LDM = "input_blocks.1.1.proj_in"        # SD1 tiny: down_blocks.0.attentions.0.proj_in (1x1 conv)
PROJ_IN = "down_blocks.0.attentions.0.proj_in"
TEXT_Q = "encoder.layers.0.self_attn.q_proj"


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(model_cache, "_cache", model_cache.ModelCache())


@pytest.fixture(scope="module")
def sd1():
    model = DiffusionModel(tiny_unet("sd1"), "sd1")
    clip = CLIP([tiny_clip_text()], [tiny_tokenizer()], "sd1")
    return model, clip


def _random(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _unet_output(model):
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 4, 8, 8, generator=generator)
    context = torch.randn(1, 77, 32, generator=generator)
    with torch.no_grad(), model.patched() as unet:
        return unet(sample, torch.tensor([100]), context).sample


def _weight(module, name):
    return dict(module.named_parameters())[name].detach().clone()


def test_kohya_lora_adds_scaled_up_down_product(sd1):
    model, clip = sd1
    rank, alpha, strength = 4, 2.0, 0.7
    up, down = _random(32, rank, seed=1), _random(rank, 32, seed=2)
    conv_up, conv_down = _random(32, rank, 1, 1, seed=3), _random(rank, 32, 1, 1, seed=4)
    text_up, text_down = _random(32, rank, seed=5), _random(rank, 32, seed=6)
    state = {
        "lora_unet_" + Q_MODULE.replace(".", "_") + ".lora_up.weight": up,
        "lora_unet_" + Q_MODULE.replace(".", "_") + ".lora_down.weight": down,
        "lora_unet_" + Q_MODULE.replace(".", "_") + ".alpha": torch.tensor(alpha),
        "lora_unet_" + PROJ_IN_LDM.replace(".", "_") + ".lora_up.weight": conv_up,
        "lora_unet_" + PROJ_IN_LDM.replace(".", "_") + ".lora_down.weight": conv_down,
        "lora_te_text_model_" + TEXT_Q.replace(".", "_") + ".lora_up.weight": text_up,
        "lora_te_text_model_" + TEXT_Q.replace(".", "_") + ".lora_down.weight": text_down,
    }
    unet_patches, clip_patches = lora_patches(state, model, clip)
    assert set(unet_patches) == {Q_MODULE + ".weight", PROJ_IN + ".weight"}
    assert set(clip_patches[0]) == {TEXT_Q + ".weight"}

    patched = model.clone()
    patched.add_patches(unet_patches, strength)
    before_q = _weight(model.unet, Q_MODULE + ".weight")
    before_proj = _weight(model.unet, PROJ_IN + ".weight")
    with patched.patched() as unet:
        after_q = _weight(unet, Q_MODULE + ".weight")
        after_proj = _weight(unet, PROJ_IN + ".weight")
    expected_q = before_q + strength * (alpha / rank) * (up @ down)
    expected_proj = before_proj + strength * (conv_up[:, :, 0, 0] @ conv_down[:, :, 0, 0])[:, :, None, None]
    assert torch.allclose(after_q, expected_q, atol=1e-6)
    assert torch.allclose(after_proj, expected_proj, atol=1e-6)
    # leaving the context restores the shared weights
    assert torch.equal(_weight(model.unet, Q_MODULE + ".weight"), before_q)


def test_peft_style_keys_map_to_the_same_parameters(sd1):
    model, clip = sd1
    state = {
        f"unet.{Q_MODULE}.lora_A.weight": _random(2, 32, seed=7),
        f"unet.{Q_MODULE}.lora_B.weight": _random(32, 2, seed=8),
        f"unet.{PROJ_IN}.lora.down.weight": _random(2, 32, 1, 1, seed=9),
        f"unet.{PROJ_IN}.lora.up.weight": _random(32, 2, 1, 1, seed=10),
        "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.down.weight":
            _random(2, 32, seed=11),
        "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.up.weight":
            _random(32, 2, seed=12),
        f"text_encoder.text_model.{TEXT_Q}.lora_A.weight": _random(2, 32, seed=13),
        f"text_encoder.text_model.{TEXT_Q}.lora_B.weight": _random(32, 2, seed=14),
    }
    unet_patches, clip_patches = lora_patches(state, model, clip)
    assert set(unet_patches) == {Q_MODULE + ".weight", PROJ_IN + ".weight",
                                 "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.weight"}
    expected = state[f"unet.{Q_MODULE}.lora_B.weight"] @ state[f"unet.{Q_MODULE}.lora_A.weight"]
    assert torch.allclose(unet_patches[Q_MODULE + ".weight"].delta((32, 32)), expected)
    assert set(clip_patches[0]) == {TEXT_Q + ".weight"}


def test_zero_up_lora_changes_nothing_and_a_real_one_does(sd1):
    model, clip = sd1
    key = "lora_unet_" + Q_MODULE.replace(".", "_")
    zero = {key + ".lora_up.weight": torch.zeros(32, 4), key + ".lora_down.weight": _random(4, 32, seed=1)}
    real = {key + ".lora_up.weight": _random(32, 4, seed=2), key + ".lora_down.weight": _random(4, 32, seed=1)}
    baseline = _unet_output(model)
    for state, should_change in ((zero, False), (real, True)):
        patches, _ = lora_patches(state, model, None)
        clone = model.clone()
        clone.add_patches(patches, 1.0)
        changed = not torch.allclose(_unet_output(clone), baseline, atol=1e-6)
        assert changed == should_change


def test_lora_nodes_patch_clones_and_leave_inputs_alone(sd1, tmp_path, monkeypatch):
    from nodes.loaders import LoraLoader, LoraLoaderModelOnly

    model, clip = sd1
    monkeypatch.setattr(folders, "_folders", folders.Folders.default(tmp_path))
    loras = tmp_path / "models" / "loras"
    loras.mkdir(parents=True)
    key = "lora_unet_" + Q_MODULE.replace(".", "_")
    text_key = "lora_te_text_model_" + TEXT_Q.replace(".", "_")
    save_file({key + ".lora_up.weight": _random(32, 4, seed=2), key + ".lora_down.weight": _random(4, 32, seed=1),
               text_key + ".lora_up.weight": _random(32, 4, seed=3),
               text_key + ".lora_down.weight": _random(4, 32, seed=4)},
              str(loras / "style.safetensors"))

    baseline = _unet_output(model)
    base_cond, _ = clip.encode("a red apple")
    new_model, new_clip = LoraLoader().load_lora(model, clip, "style.safetensors", 1.0, 1.0)
    assert new_model is not model and new_clip is not clip
    assert model.patches == {} and clip.patches == [{}]
    assert not torch.allclose(_unet_output(new_model), baseline, atol=1e-6)
    lora_cond, _ = new_clip.encode("a red apple")
    assert not torch.allclose(lora_cond, base_cond, atol=1e-6)
    # the originals still give their own outputs
    assert torch.equal(_unet_output(model), baseline)
    assert torch.equal(clip.encode("a red apple")[0], base_cond)

    (only_model,) = LoraLoaderModelOnly().load_lora_model_only(model, "style.safetensors", 0.5)
    assert list(only_model.patches) == [Q_MODULE + ".weight"]
    assert LoraLoader().load_lora(model, clip, "style.safetensors", 0.0, 0.0) == (model, clip)
    with pytest.raises(ValueError, match="lora_name: file 'nope.safetensors' not found"):
        LoraLoader().load_lora(model, clip, "nope.safetensors", 1.0, 1.0)


def test_lora_for_another_architecture_is_refused(sd1):
    model, clip = sd1
    # An SDXL LoRA: LDM names that a 2-level SD1 UNet does not have.
    sdxl_key = "lora_unet_input_blocks_4_1_transformer_blocks_1_attn2_to_k"
    sdxl_state = {sdxl_key + ".lora_up.weight": _random(64, 4, seed=1),
                  sdxl_key + ".lora_down.weight": _random(4, 64, seed=2)}
    with pytest.raises(ModelError, match="xl_style.safetensors"):
        lora_patches(sdxl_state, model, clip, name="xl_style.safetensors")
    # Same layer names but another context width (SD2 LoRA on SD1): shapes do not fit.
    key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    wide = {key + ".lora_up.weight": _random(32, 4, seed=1), key + ".lora_down.weight": _random(4, 1024, seed=2)}
    with pytest.raises(ModelError, match="sd2_style.safetensors"):
        lora_patches(wide, model, None, name="sd2_style.safetensors")
    with pytest.raises(ModelError, match="not a LoRA"):
        lora_patches({"weight": torch.zeros(2)}, model, clip, name="x.safetensors")


def test_sdxl_kohya_lora_with_ldm_names_and_two_text_encoders():
    model = DiffusionModel(tiny_unet("sdxl"), "sdxl")
    clip = CLIP([tiny_clip_text(), tiny_clip_text(projection_dim=64, hidden_act="gelu", seed=3)],
                [tiny_tokenizer(), tiny_tokenizer("!")], "sdxl")
    # SDXL tiny: level 1 holds the attention; LDM input_blocks.3 = down_blocks.1 first layer.
    unet_key = "lora_unet_input_blocks_3_1_transformer_blocks_1_attn2_to_k"
    state = {unet_key + ".lora_up.weight": _random(64, 4, seed=1),
             unet_key + ".lora_down.weight": _random(4, 64, seed=2),
             "lora_te2_text_model_encoder_layers_1_mlp_fc1.lora_up.weight": _random(128, 4, seed=3),
             "lora_te2_text_model_encoder_layers_1_mlp_fc1.lora_down.weight": _random(4, 32, seed=4),
             "lora_te1_text_model_encoder_layers_0_mlp_fc2.lora_up.weight": _random(32, 4, seed=5),
             "lora_te1_text_model_encoder_layers_0_mlp_fc2.lora_down.weight": _random(4, 128, seed=6)}
    unet_patches, clip_patches = lora_patches(state, model, clip)
    assert set(unet_patches) == {"down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k.weight"}
    assert set(clip_patches[0]) == {"encoder.layers.0.mlp.fc2.weight"}
    assert set(clip_patches[1]) == {"text_model.encoder.layers.1.mlp.fc1.weight"}
