"""Tiny Stable Diffusion components with seeded random weights, for tests.

Every builder returns a real diffusers/transformers module with a small config
(CLIP hidden 32, UNet channels 32/64, 4-level VAE at 32/32/64/64), so a 64 px
image runs in milliseconds. Nothing is downloaded.

The savers write the components as a diffusers folder or as one single-file
checkpoint in the original LDM key layout (what people download from model
sites). The diffusers -> LDM key conversion below is test-support code: it is
the inverse of what engine.ldm_to_diffusers does, written independently so the
round trip checks the loader.

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


# ------------------------------------------------ diffusers -> LDM (test support)

_UNET_RESNET_NAMES = [
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
]

_UNET_TOP_LEVEL = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}


def unet_to_ldm(state: dict, config) -> dict:
    per_level = config["layers_per_block"] + 1
    has_attention = {i: "CrossAttn" in t for i, t in enumerate(config["up_block_types"])}
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        module = ".".join(parts[:-1])
        leaf = parts[-1]
        if module in _UNET_TOP_LEVEL:
            out[f"{_UNET_TOP_LEVEL[module]}.{leaf}"] = value
            continue
        kind, rest = parts[0], parts[1:]
        if kind == "down_blocks":
            block, part, index = int(rest[0]), rest[1], int(rest[2])
            tail = ".".join(rest[3:])
            if part == "resnets":
                out[f"input_blocks.{1 + block * per_level + index}.0.{_resnet_name(tail)}"] = value
            elif part == "attentions":
                out[f"input_blocks.{1 + block * per_level + index}.1.{tail}"] = value
            else:  # downsamplers.0.conv.*
                out[f"input_blocks.{1 + block * per_level + per_level - 1}.0.op.{rest[-1]}"] = value
        elif kind == "mid_block":
            part, index, tail = rest[0], int(rest[1]), ".".join(rest[2:])
            if part == "resnets":
                out[f"middle_block.{2 * index}.{_resnet_name(tail)}"] = value
            else:
                out[f"middle_block.1.{tail}"] = value
        elif kind == "up_blocks":
            block, part, index = int(rest[0]), rest[1], int(rest[2])
            tail = ".".join(rest[3:])
            if part == "resnets":
                out[f"output_blocks.{block * per_level + index}.0.{_resnet_name(tail)}"] = value
            elif part == "attentions":
                out[f"output_blocks.{block * per_level + index}.1.{tail}"] = value
            else:  # upsamplers.0.conv.*
                slot = 2 if has_attention[block] else 1
                out[f"output_blocks.{block * per_level + per_level - 1}.{slot}.conv.{rest[-1]}"] = value
        else:
            raise KeyError(f"unexpected UNet key {key}")
    return out


def _resnet_name(tail: str) -> str:
    first, _, leaf = tail.partition(".")
    for diffusers_name, ldm_name in _UNET_RESNET_NAMES:
        if first == diffusers_name:
            return f"{ldm_name}.{leaf}"
    raise KeyError(f"unexpected resnet key {tail}")


_VAE_ATTENTION_NAMES = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def vae_to_ldm(state: dict, levels: int) -> dict:
    out = {}
    for key, value in state.items():
        ldm = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        parts = ldm.split(".")
        side = parts[0]
        if len(parts) > 2 and parts[1] == "down_blocks":
            level, part = parts[2], parts[3]
            if part == "resnets":
                ldm = f"{side}.down.{level}.block.{'.'.join(parts[4:])}"
            else:
                ldm = f"{side}.down.{level}.downsample.{'.'.join(parts[5:])}"
        elif len(parts) > 2 and parts[1] == "up_blocks":
            level, part = levels - 1 - int(parts[2]), parts[3]
            if part == "resnets":
                ldm = f"{side}.up.{level}.block.{'.'.join(parts[4:])}"
            else:
                ldm = f"{side}.up.{level}.upsample.{'.'.join(parts[5:])}"
        elif len(parts) > 2 and parts[1] == "mid_block":
            if parts[2] == "resnets":
                ldm = f"{side}.mid.block_{int(parts[3]) + 1}.{'.'.join(parts[4:])}"
            else:
                tail = ".".join(parts[4:])
                name, _, leaf = tail.rpartition(".")
                ldm = f"{side}.mid.attn_1.{_VAE_ATTENTION_NAMES[name]}.{leaf}"
                if leaf == "weight" and value.ndim == 2:
                    value = value[:, :, None, None]  # the LDM VAE uses 1x1 convolutions here
        out[ldm] = value
    return out


def clip_l_to_ldm(state: dict) -> dict:
    """transformers 5 CLIPTextModel keys -> the original 'text_model.'-prefixed keys."""
    return {"text_model." + key: value for key, value in _without_text_model_prefix(state).items()}


def _without_text_model_prefix(state: dict) -> dict:
    """CLIPTextModel keys lack 'text_model.' in transformers 5; WithProjection keeps it."""
    return {key.removeprefix("text_model."): value for key, value in state.items()}


_OPEN_CLIP_LAYER_NAMES = [
    ("self_attn.out_proj", "attn.out_proj"),
    ("layer_norm1", "ln_1"),
    ("layer_norm2", "ln_2"),
    ("mlp.fc1", "mlp.c_fc"),
    ("mlp.fc2", "mlp.c_proj"),
]


def open_clip_to_ldm(state: dict) -> dict:
    out = {}
    fused: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in _without_text_model_prefix(state).items():
        if key == "embeddings.token_embedding.weight":
            out["token_embedding.weight"] = value
        elif key == "embeddings.position_embedding.weight":
            out["positional_embedding"] = value
        elif key.startswith("final_layer_norm."):
            out["ln_final." + key.split(".")[-1]] = value
        elif key == "text_projection.weight":
            out["text_projection"] = value.T.contiguous()
        elif key.startswith("encoder.layers."):
            parts = key.split(".")
            layer, tail = parts[2], ".".join(parts[3:])
            base = f"transformer.resblocks.{layer}."
            if tail.startswith("self_attn.") and tail.split(".")[1] in ("q_proj", "k_proj", "v_proj"):
                leaf = tail.split(".")[-1]
                fused.setdefault(f"{base}attn.in_proj_{leaf}", {})[tail.split(".")[1]] = value
                continue
            for diffusers_name, ldm_name in _OPEN_CLIP_LAYER_NAMES:
                if tail.startswith(diffusers_name + "."):
                    tail = ldm_name + tail[len(diffusers_name):]
                    break
            out[base + tail] = value
        else:
            raise KeyError(f"unexpected text encoder key {key}")
    for key, pieces in fused.items():
        out[key] = torch.cat([pieces["q_proj"], pieces["k_proj"], pieces["v_proj"]], dim=0)
    return out
