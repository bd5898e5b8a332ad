"""What kind of ControlNet file a state dict is, and its ControlNetModel config from tensor shapes.

Kinds (`file_kind`):
- "original":   ControlNet 1.x layout (`input_blocks`, `zero_convs`, `input_hint_block`,
                `middle_block_out`), with or without the `control_model.` prefix;
                diff ControlNets add a `difference` key (weights relative to a base UNet)
- "diffusers":  diffusers ControlNetModel keys (`controlnet_cond_embedding...`)
- "control_lora":  Control-LoRA (`lora_controlnet` key), built on the sampling model (control_lora.py)
- "t2i_adapter", "union", "other_model": recognised and refused with a clear message

The config is read the way engine.detect reads UNets: channels, levels, layers,
transformer depths, context width and SDXL addition embeddings from shapes; head
counts follow engine.detect's rule (SD1 8 heads; SD2/SDXL 64-wide heads).
"""
from __future__ import annotations

import re

from engine import detect
from engine.errors import ModelError

ORIGINAL_PREFIX = "control_model."


def file_kind(state: dict) -> str:
    if "lora_controlnet" in state:
        return "control_lora"
    if "controlnet_cond_embedding.conv_in.weight" in state:
        return "union" if "control_add_embedding.linear_1.bias" in state else "diffusers"
    if f"{ORIGINAL_PREFIX}zero_convs.0.0.weight" in state or "zero_convs.0.0.weight" in state:
        return "original"
    if any(k.startswith(("body.", "adapter.", "backbone.")) for k in state) or "conv_in.weight" in state:
        return "t2i_adapter"
    if any(k.startswith(("controlnet_blocks.", "controlnet_x_embedder", "control_blocks.")) for k in state):
        return "other_model"
    return "unknown"


def strip_original_prefix(state: dict) -> dict:
    if any(key.startswith(ORIGINAL_PREFIX) for key in state):
        return detect.strip_prefix(state, ORIGINAL_PREFIX)
    return dict(state)


def hint_conv_indices(state: dict) -> list[int]:
    """Indices of the convolutions in `input_hint_block` (original layout), ascending."""
    pattern = re.compile(r"input_hint_block\.(\d+)\.weight")
    return sorted(int(m.group(1)) for m in (pattern.fullmatch(k) for k in state) if m)


def controlnet_config(state: dict, name: str = "") -> tuple[str, dict]:
    """(arch, ControlNetModel config) for an original-layout state dict without prefix."""
    if "input_blocks.0.0.weight" not in state or "input_hint_block.0.weight" not in state:
        raise ModelError(f"{name}: not a ControlNet (no input_blocks / input_hint_block weights)")
    arch = detect.detect_unet_arch(state, name)
    levels = detect._unet_levels(state)
    channels = [level["channels"] for level in levels]
    has_attention = [level["depth"] > 0 for level in levels]
    depths = [level["depth"] or 1 for level in levels]
    middle_depth = len(detect._transformer_indices(state, "middle_block.1."))
    if middle_depth and not has_attention[-1]:
        depths[-1] = middle_depth  # diffusers sizes the middle block from the last level
    context = detect._first(state, "attn2.to_k.weight")
    projection = detect._first(state, "proj_in.weight")
    hint = hint_conv_indices(state)
    blocks = hint[1:-1]
    config = {
        "in_channels": int(state["input_blocks.0.0.weight"].shape[1]),
        "conditioning_channels": int(state["input_hint_block.0.weight"].shape[1]),
        "block_out_channels": channels,
        "layers_per_block": levels[0]["resnets"],
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in has_attention],
        "transformer_layers_per_block": depths,
        "cross_attention_dim": int(context.shape[1]) if context is not None else 768,
        "use_linear_projection": bool(projection is not None and projection.ndim == 2),
        "attention_head_dim": 8 if arch == "sd1" else [detect.heads_for_width(c) for c in channels],
        "conditioning_embedding_out_channels": [int(state[f"input_hint_block.{hint[0]}.weight"].shape[0])]
        + [int(state[f"input_hint_block.{blocks[i]}.weight"].shape[0]) for i in range(1, len(blocks), 2)],
    }
    if "label_emb.0.0.weight" in state:
        adm_in = int(state["label_emb.0.0.weight"].shape[1])
        config["addition_embed_type"] = "text_time"
        config["projection_class_embeddings_input_dim"] = adm_in
        config["addition_time_embed_dim"] = detect._addition_time_dim(adm_in, arch, None, channels[-1])
    return arch, config


def arch_of_config(config) -> str:
    """Family of a diffusers ControlNetModel config (from a config.json)."""
    if getattr(config, "addition_embed_type", None) == "text_time":
        return "sdxl"
    return "sd2" if getattr(config, "use_linear_projection", False) else "sd1"
