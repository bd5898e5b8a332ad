"""Convert single-file (original LDM layout) state dicts to diffusers/transformers keys.

The UNet and VAE use diffusers' own converters (diffusers.loaders.single_file_utils);
the text encoders are converted here, because diffusers' OpenCLIP converter has
SD2's 24-layer layout written into it and scaled-down encoders would not fit.
"""
from __future__ import annotations

import re

import torch
from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

from engine.detect import UNET_PREFIX, is_diffusers_vae


def unet_to_diffusers(unet_state: dict, config: dict) -> dict:
    """LDM UNet keys (without 'model.diffusion_model.') -> UNet2DConditionModel keys."""
    prefixed = {UNET_PREFIX + key: value for key, value in unet_state.items()}
    return convert_ldm_unet_checkpoint(prefixed, config)


def vae_to_diffusers(vae_state: dict, config: dict) -> dict:
    """LDM VAE keys (without 'first_stage_model.') -> AutoencoderKL keys; diffusers keys pass through."""
    if is_diffusers_vae(vae_state):
        return dict(vae_state)
    return convert_ldm_vae_checkpoint(vae_state, config)


def clip_l_to_diffusers(text_state: dict) -> dict:
    """CLIP-L keys ('text_model.embeddings...' or 'embeddings...') -> transformers 5 CLIPTextModel keys."""
    converted = {}
    for key, value in text_state.items():
        key = key.removeprefix("text_model.")
        if key == "embeddings.position_ids":
            continue  # a buffer that older transformers saved; rebuilt by the model
        converted[key] = value
    return converted


_OPEN_CLIP_LAYER_NAMES = [
    ("attn.out_proj", "self_attn.out_proj"),
    ("ln_1", "layer_norm1"),
    ("ln_2", "layer_norm2"),
    ("mlp.c_fc", "mlp.fc1"),
    ("mlp.c_proj", "mlp.fc2"),
]


def open_clip_to_diffusers(text_state: dict, drop_last_layer: bool = False) -> dict:
    """OpenCLIP keys (without the 'cond_stage_model.model.' prefix) -> transformers keys.

    drop_last_layer: SD2 conditions on the penultimate layer of OpenCLIP-H, so,
    like diffusers, its text encoder is built without the unused last layer.
    The text projection is kept for SDXL (pooled output) and dropped for SD2.
    """
    layer_count = 1 + max(
        (int(key.split(".")[2]) for key in text_state if key.startswith("transformer.resblocks.")), default=-1)
    kept_layers = layer_count - 1 if drop_last_layer else layer_count
    converted = {}
    for key, value in text_state.items():
        if key == "token_embedding.weight":
            converted["embeddings.token_embedding.weight"] = value
        elif key == "positional_embedding":
            converted["embeddings.position_embedding.weight"] = value
        elif key.startswith("ln_final."):
            converted["final_layer_norm." + key.split(".")[-1]] = value
        elif key == "text_projection" and not drop_last_layer:
            converted["text_projection.weight"] = value.T.contiguous()
        elif key.startswith("transformer.resblocks."):
            parts = key.split(".")
            layer, tail = int(parts[2]), ".".join(parts[3:])
            if layer >= kept_layers:
                continue
            converted.update(_open_clip_layer(layer, tail, value))
    return converted


def _open_clip_layer(layer: int, tail: str, value: torch.Tensor) -> dict:
    base = f"encoder.layers.{layer}."
    if tail in ("attn.in_proj_weight", "attn.in_proj_bias"):
        leaf = "weight" if tail.endswith("weight") else "bias"
        query, key, val = value.chunk(3, dim=0)
        return {
            f"{base}self_attn.q_proj.{leaf}": query.contiguous(),
            f"{base}self_attn.k_proj.{leaf}": key.contiguous(),
            f"{base}self_attn.v_proj.{leaf}": val.contiguous(),
        }
    for ldm_name, diffusers_name in _OPEN_CLIP_LAYER_NAMES:
        if tail.startswith(ldm_name + "."):
            return {base + diffusers_name + tail[len(ldm_name):]: value}
    return {}


# ------------------------------------------------ module names, diffusers -> LDM (for LoRA keys)

_UNET_TOP_LEVEL_NAMES = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
_UNET_RESNET_NAMES = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}


def unet_module_name_to_ldm(name: str, config) -> str | None:
    """The original LDM name of a UNet2DConditionModel submodule (LoRA files use both)."""
    if name in _UNET_TOP_LEVEL_NAMES:
        return _UNET_TOP_LEVEL_NAMES[name]
    parts = name.split(".")
    per_level = config["layers_per_block"] + 1
    try:
        if parts[0] == "down_blocks":
            block, part = int(parts[1]), parts[2]
            if part == "downsamplers":
                return f"input_blocks.{1 + block * per_level + per_level - 1}.0.op"
            slot = 1 + block * per_level + int(parts[3])
            return _inner(f"input_blocks.{slot}", part, parts[4:])
        if parts[0] == "mid_block":
            part, index = parts[1], int(parts[2])
            if part == "resnets":
                return ".".join([f"middle_block.{2 * index}"] + _resnet_parts(parts[3:]))
            return ".".join(["middle_block.1"] + parts[3:])
        if parts[0] == "up_blocks":
            block, part = int(parts[1]), parts[2]
            if part == "upsamplers":
                slot = 2 if "CrossAttn" in config["up_block_types"][block] else 1
                return f"output_blocks.{block * per_level + per_level - 1}.{slot}.conv"
            return _inner(f"output_blocks.{block * per_level + int(parts[3])}", part, parts[4:])
    except (IndexError, ValueError):
        return None
    return None


def _inner(base: str, part: str, rest: list[str]) -> str:
    """Inside an LDM input/output block: slot 0 is the resnet, slot 1 the transformer."""
    if part == "resnets":
        return ".".join([f"{base}.0"] + _resnet_parts(rest))
    return ".".join([f"{base}.1"] + rest)


def _resnet_parts(rest: list[str]) -> list[str]:
    if rest and rest[0] in _UNET_RESNET_NAMES:
        return [_UNET_RESNET_NAMES[rest[0]]] + rest[1:]
    return rest


def diffusers_unet_to_ldm(state: dict) -> dict:
    """A UNet saved in diffusers layout without its config.json -> LDM keys.

    The layout facts the name mapping needs (layers per block, which up blocks have
    attention) are read from the keys; the usual LDM path then infers the config.
    """
    resnets = {int(k.split(".")[3]) for k in state if k.startswith("down_blocks.0.resnets.")}
    up_levels = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("up_blocks."))
    with_attention = {int(k.split(".")[1]) for k in state if re.match(r"up_blocks\.\d+\.attentions\.", k)}
    config = {
        "layers_per_block": len(resnets),
        "up_block_types": ["CrossAttnUpBlock2D" if i in with_attention else "UpBlock2D" for i in range(up_levels)],
    }
    converted = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        ldm = unet_module_name_to_ldm(module, config)
        if ldm is None:
            raise KeyError(key)
        converted[f"{ldm}.{leaf}"] = value
    return converted
