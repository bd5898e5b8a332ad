"""Tiny Stable Diffusion components with seeded random weights, for tests.

Every builder returns a real diffusers/transformers module with a small config
(CLIP hidden 32, UNet channels 32/64, 4-level VAE at 32/32/64/64), so a 64 px
image runs in milliseconds. Nothing is downloaded.

The savers write the components as a diffusers folder or as one single-file
checkpoint in the original LDM key layout (what people download from model
sites), using engine.ldm_export: the inverse of engine.ldm_to_diffusers,
written independently so the round trip checks the loader.

Attention heads are not visible in weight shapes, so the tiny UNets follow the
loader's rule (engine/detect.py): SD1 uses 8 heads per block; SD2 and SDXL use
64-channel heads, 8-channel heads below 64 channels (so 4 heads at 32, 1 at 64).
Text encoders likewise: 64-wide heads, 8-wide below 64 (4 heads at hidden 32).
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch

# The diffusers -> LDM key conversion lives in engine.ldm_export (the demo trainer
# uses it too); it is written independently of engine.ldm_to_diffusers, so the
# round trip still checks the loader.
from engine.ldm_export import clip_l_to_ldm, open_clip_to_ldm, unet_to_ldm, vae_to_ldm  # noqa: F401

CLIP_VOCAB_SIZE = 49408
CLIP_HIDDEN = 32


@contextlib.contextmanager
def _seeded(seed: int):
    """Build modules with a fixed seed without disturbing the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def unet_config(arch: str = "sd1", in_channels: int = 4) -> dict:
    """The tiny UNet2DConditionModel config for one family."""
    common = dict(
        sample_size=8,
        in_channels=in_channels,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        norm_num_groups=32,
    )
    if arch == "sd1":
        return dict(
            common,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=CLIP_HIDDEN,
            attention_head_dim=8,
        )
    if arch == "sd2":
        return dict(
            common,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=CLIP_HIDDEN,
            attention_head_dim=(4, 1),
            use_linear_projection=True,
        )
    if arch == "sdxl":
        return dict(
            common,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=2 * CLIP_HIDDEN,
            attention_head_dim=(4, 1),
            use_linear_projection=True,
            transformer_layers_per_block=(1, 2),
            addition_embed_type="text_time",
            addition_time_embed_dim=8,
            # pooled width (64, the last block's channels, as in real SDXL) + 6 time ids x 8
            projection_class_embeddings_input_dim=64 + 6 * 8,
        )
    raise ValueError(f"arch: expected 'sd1', 'sd2' or 'sdxl', got {arch!r}")


def tiny_unet(arch: str = "sd1", in_channels: int = 4, seed: int = 0):
    from diffusers import UNet2DConditionModel

    with _seeded(seed):
        return UNet2DConditionModel(**unet_config(arch, in_channels)).eval()


def tiny_vae(seed: int = 1, scaling_factor: float = 0.18215):
    """4-level AutoencoderKL (64 px -> 8x8 latents); SDXL's scale is 0.13025."""
    from diffusers import AutoencoderKL

    with _seeded(seed):
        return AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(32, 32, 64, 64),
            layers_per_block=1,
            latent_channels=4,
            norm_num_groups=32,
            sample_size=64,
            scaling_factor=scaling_factor,
        ).eval()


def tiny_clip_text(hidden: int = CLIP_HIDDEN, projection_dim=None, hidden_act: str = "quick_gelu", seed: int = 2):
    """CLIPTextModel, or CLIPTextModelWithProjection when projection_dim is given."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=CLIP_VOCAB_SIZE,
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        hidden_act=hidden_act,
        projection_dim=projection_dim or hidden,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407 if hidden_act == "quick_gelu" else 0,
    )
    with _seeded(seed):
        cls = CLIPTextModelWithProjection if projection_dim else CLIPTextModel
        return cls(config).eval()


def tiny_tokenizer(pad_token: str | None = None):
    """The real CLIP BPE tokenizer (shipped by engine.text), 77 tokens.

    pad_token="!" gives the OpenCLIP (SD2, SDXL second encoder) variant.
    """
    from engine.text.tokenizer import clip_tokenizer, openclip_tokenizer

    return openclip_tokenizer() if pad_token == "!" else clip_tokenizer()


def tiny_sd_components(arch: str = "sd1", in_channels: int = 4) -> dict:
    """Components named as in the diffusers pipelines (StableDiffusion / XL)."""
    vae = tiny_vae(scaling_factor=0.13025 if arch == "sdxl" else 0.18215)
    components = dict(unet=tiny_unet(arch, in_channels), vae=vae)
    if arch == "sdxl":
        components["text_encoder"] = tiny_clip_text(seed=2)
        components["text_encoder_2"] = tiny_clip_text(projection_dim=64, hidden_act="gelu", seed=3)
    elif arch == "sd2":
        components["text_encoder"] = tiny_clip_text(hidden_act="gelu", seed=2)
    else:
        components["text_encoder"] = tiny_clip_text(seed=2)
    components["tokenizer"] = tiny_tokenizer("!" if arch == "sd2" else None)
    if arch == "sdxl":
        components["tokenizer_2"] = tiny_tokenizer("!")
    return components


# ---------------------------------------------------------------- savers

def save_diffusers_folder(components: dict, directory, prediction_type: str = "epsilon") -> Path:
    """Write a diffusers pipeline folder: model_index.json plus one subfolder each.

    The scheduler config carries the prediction type, as in real SD2-768 folders.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    is_xl = "text_encoder_2" in components
    index = {
        "_class_name": "StableDiffusionXLPipeline" if is_xl else "StableDiffusionPipeline",
        "_diffusers_version": "0.42.0",
    }
    for name, module in components.items():
        module.save_pretrained(directory / name)
        library = "diffusers" if name in ("unet", "vae") else "transformers"
        index[name] = [library, type(module).__name__]
    scheduler = {
        "_class_name": "EulerDiscreteScheduler",
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000,
        "prediction_type": prediction_type,
    }
    (directory / "scheduler").mkdir(exist_ok=True)
    (directory / "scheduler" / "scheduler_config.json").write_text(json.dumps(scheduler, indent=2))
    index["scheduler"] = ["diffusers", "EulerDiscreteScheduler"]
    (directory / "model_index.json").write_text(json.dumps(index, indent=2))
    return directory


def save_single_file(components: dict, path, extra_keys: dict | None = None) -> Path:
    """Write one .safetensors file in the original LDM key layout."""
    from safetensors.torch import save_file

    state = ldm_state_dict(components)
    if extra_keys:
        state.update(extra_keys)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def ldm_state_dict(components: dict) -> dict:
    """All components of a pipeline as one LDM-layout state dict."""
    state = {}
    unet = components["unet"]
    state.update(_prefixed("model.diffusion_model.", unet_to_ldm(unet.state_dict(), unet.config)))
    vae = components["vae"]
    state.update(_prefixed("first_stage_model.", vae_to_ldm(vae.state_dict(), len(vae.config.block_out_channels))))
    if "text_encoder_2" in components:
        state.update(_prefixed("conditioner.embedders.0.transformer.", clip_l_to_ldm(components["text_encoder"].state_dict())))
        state.update(_prefixed("conditioner.embedders.1.model.", open_clip_to_ldm(components["text_encoder_2"].state_dict())))
    elif components["text_encoder"].config.hidden_act == "gelu":
        # SD2 files hold all OpenCLIP-H layers; SD2 uses the penultimate one, so
        # diffusers keeps one layer fewer. Add that unused last layer here.
        text_state = components["text_encoder"].state_dict()
        state.update(_prefixed("cond_stage_model.model.", open_clip_to_ldm(_with_extra_layer(text_state))))
    else:
        state.update(_prefixed("cond_stage_model.transformer.", clip_l_to_ldm(components["text_encoder"].state_dict())))
    return state


def _prefixed(prefix: str, state: dict) -> dict:
    return {prefix + key: value for key, value in state.items()}


def _with_extra_layer(text_state: dict) -> dict:
    layers = {int(k.split(".")[2]) for k in text_state if k.startswith("encoder.layers.")}
    last = max(layers)
    state = dict(text_state)
    generator = torch.Generator().manual_seed(7)
    for key, value in text_state.items():
        prefix = f"encoder.layers.{last}."
        if key.startswith(prefix):
            state[f"encoder.layers.{last + 1}." + key[len(prefix):]] = torch.randn(value.shape, generator=generator)
    return state
