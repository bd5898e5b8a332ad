"""diffusers/transformers state dicts -> the original LDM single-file key layout.

The inverse of engine.ldm_to_diffusers, written separately so that a round trip
through both checks the loader. The demo trainer (demo/train.py) saves its
model with it, and the tests save their tiny checkpoints with it.
"""
from __future__ import annotations

import torch


def sd1_state_dict(unet, vae, text_encoder) -> dict:
    """An SD1.x pipeline's three modules as one LDM-layout state dict."""
    state = {}
    state.update(_prefixed("model.diffusion_model.", unet_to_ldm(unet.state_dict(), unet.config)))
    state.update(_prefixed("first_stage_model.", vae_to_ldm(vae.state_dict(), len(vae.config.block_out_channels))))
    state.update(_prefixed("cond_stage_model.transformer.", clip_l_to_ldm(text_encoder.state_dict())))
    return state


def _prefixed(prefix: str, state: dict) -> dict:
    return {prefix + key: value for key, value in state.items()}


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
