"""Control-LoRA (Stability AI): a ControlNet stored as changes to the UNet it is used with.

The file (original key layout, marked by a `lora_controlnet` key) holds the parts a
ControlNet has and a UNet has not (hint encoder, zero convolutions) in full, some
UNet-shaped weights in full (norms, biases), and low-rank `X.up` / `X.down` pairs
for the rest: weight X = the UNet's X + up @ down. The network can only be built
once the model is known, so it is built when sampling starts (as ComfyUI does) and
cached per model.
"""
from __future__ import annotations

from engine.errors import ModelError
from engine.ldm_to_diffusers import unet_module_name_to_ldm

_SHARED_PREFIXES = ("conv_in.", "time_embedding.", "add_embedding.", "down_blocks.", "mid_block.")


def original_state(lora_state: dict, unet, name: str) -> dict:
    """The full original-layout ControlNet state: the UNet's weights with the file's applied."""
    config = {"layers_per_block": unet.config.layers_per_block, "up_block_types": unet.config.up_block_types}
    state = {}
    for key, value in unet.state_dict().items():
        if key.startswith(_SHARED_PREFIXES):
            module, _, leaf = key.rpartition(".")
            state[f"{unet_module_name_to_ldm(module, config)}.{leaf}"] = value.float()
    for key, value in lora_state.items():
        if key == "lora_controlnet" or "__" in key or key.endswith(".down"):
            continue
        if key.endswith(".up"):
            target = key[:-len(".up")] + ".weight"
            down = lora_state.get(key[:-len(".up")] + ".down")
            if target not in state or down is None:
                raise ModelError(f"{name}: Control-LoRA weight {key} does not fit this model's UNet")
            delta = value.float().flatten(1) @ down.float().flatten(1)
            state[target] = state[target] + delta.reshape(state[target].shape)
        elif key.endswith((".weight", ".bias")):
            state[key] = value.float()
    return state
