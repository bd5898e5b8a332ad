"""Tiny ControlNets for tests, and writers for the three file layouts Loom reads.

tiny_controlnet builds ControlNetModel.from_unet on a tiny UNet and then gives every
weight random values: from_unet zero-initialises the zero convolutions and the hint
encoder's last convolution, and a ControlNet whose output is zero could not fail a test.
The original-layout writer is test support, written independently of
engine.controlnet.convert (it reuses the UNet key map of tests/tiny_models.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.tiny_models import _seeded, tiny_unet, unet_to_ldm


def tiny_controlnet(arch: str = "sd1", seed: int = 10, scale: float = 0.05, unet=None):
    from diffusers import ControlNetModel

    with _seeded(seed):
        controlnet = ControlNetModel.from_unet(unet if unet is not None else tiny_unet(arch))
        for name, parameter in controlnet.named_parameters():
            if name.startswith(("controlnet_down_blocks", "controlnet_mid_block", "controlnet_cond_embedding")):
                with torch.no_grad():
                    parameter.copy_(torch.randn_like(parameter) * scale)
    return controlnet.eval()


def save_folder(controlnet, directory) -> Path:
    directory = Path(directory)
    controlnet.save_pretrained(directory)
    return directory


def save_diffusers_file(controlnet, path) -> Path:
    """diffusers key layout in one .safetensors file, no config.json beside it."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in controlnet.state_dict().items()}, str(path))
    return path


def save_original_file(controlnet, path, prefix: str = "control_model.", extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    state = {prefix + k: v.contiguous() for k, v in original_state_dict(controlnet).items()}
    state.update(extra or {})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return path


def original_state_dict(controlnet) -> dict:
    """ControlNet 1.x key layout: input_blocks/middle_block as in LDM UNets, plus
    zero_convs.N.0, middle_block_out.0 and input_hint_block.{0,2,4,...} (activations between)."""
    state = controlnet.state_dict()
    config = {"layers_per_block": controlnet.config.layers_per_block, "up_block_types": []}
    unet_part = {k: v for k, v in state.items() if not k.startswith("controlnet_")}
    out = unet_to_ldm(unet_part, config)
    blocks = len({k.split(".")[2] for k in state if k.startswith("controlnet_cond_embedding.blocks.")})
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "controlnet_down_blocks":
            out[f"zero_convs.{parts[1]}.0.{parts[2]}"] = value
        elif parts[0] == "controlnet_mid_block":
            out[f"middle_block_out.0.{parts[1]}"] = value
        elif parts[0] == "controlnet_cond_embedding":
            if parts[1] == "conv_in":
                index = 0
            elif parts[1] == "conv_out":
                index = 2 * (blocks + 1)
            else:
                index = 2 * (int(parts[2]) + 1)
            out[f"input_hint_block.{index}.{parts[-1]}"] = value
    return out


def write_json(path, data) -> Path:
    path = Path(path)
    path.write_text(json.dumps(data))
    return path
