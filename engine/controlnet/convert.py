"""ControlNet key layouts: original (ControlNet 1.x, like LDM UNets) <-> diffusers ControlNetModel.

The UNet-shaped part uses diffusers' own converter; the hint encoder and SDXL's
label embedding are mapped here so that any number of hint convolutions works.
A diffusers-layout file without its config.json is first renamed to the original
layout, so both go through one config reader (engine.controlnet.detect).
"""
from __future__ import annotations

import re

from diffusers.loaders.single_file_utils import convert_controlnet_checkpoint

from engine.controlnet.detect import hint_conv_indices
from engine.errors import ModelError
from engine.ldm_to_diffusers import unet_module_name_to_ldm

_LABEL_EMB = {"label_emb.0.0": "add_embedding.linear_1", "label_emb.0.2": "add_embedding.linear_2"}


def original_to_diffusers(state: dict, config: dict) -> dict:
    """Original-layout keys (no `control_model.` prefix) -> ControlNetModel keys."""
    unet_part = {k: v for k, v in state.items() if not k.startswith(("input_hint_block.", "label_emb."))}
    converted = convert_controlnet_checkpoint(unet_part, {"layers_per_block": config["layers_per_block"]})
    converted = {k: v for k, v in converted.items() if v is not None and not k.startswith("controlnet_cond_embedding.")}
    hint = hint_conv_indices(state)
    names = ["conv_in"] + [f"blocks.{i}" for i in range(len(hint) - 2)] + ["conv_out"]
    for index, name in zip(hint, names):
        for leaf in ("weight", "bias"):
            converted[f"controlnet_cond_embedding.{name}.{leaf}"] = state[f"input_hint_block.{index}.{leaf}"]
    for ldm, diffusers_name in _LABEL_EMB.items():
        for leaf in ("weight", "bias"):
            if f"{ldm}.{leaf}" in state:
                converted[f"{diffusers_name}.{leaf}"] = state[f"{ldm}.{leaf}"]
    return converted


def diffusers_to_original(state: dict, name: str = "") -> dict:
    """ControlNetModel keys -> original-layout keys (for diffusers-layout files without a config)."""
    resnets = {int(k.split(".")[3]) for k in state if k.startswith("down_blocks.0.resnets.")}
    if not resnets:
        raise ModelError(f"{name}: ControlNet layout not understood (no down_blocks.0.resnets)")
    config = {"layers_per_block": len(resnets), "up_block_types": []}
    blocks = sorted({int(m.group(1)) for m in (re.match(r"controlnet_cond_embedding\.blocks\.(\d+)\.", k)
                                                for k in state) if m})
    hint_index = {"conv_in": 0, "conv_out": 2 * (len(blocks) + 1)}
    hint_index.update({f"blocks.{b}": 2 * (b + 1) for b in blocks})
    converted = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if module.startswith("controlnet_cond_embedding."):
            ldm = f"input_hint_block.{hint_index[module.split('.', 1)[1]]}"
        elif module.startswith("controlnet_down_blocks."):
            ldm = f"zero_convs.{module.split('.')[1]}.0"
        elif module == "controlnet_mid_block":
            ldm = "middle_block_out.0"
        else:
            ldm = unet_module_name_to_ldm(module, config)
        if ldm is None:
            raise ModelError(f"{name}: ControlNet layout not understood (key {key})")
        converted[f"{ldm}.{leaf}"] = value
    return converted
