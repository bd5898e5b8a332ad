"""Read LoRA files and map their keys onto the parameters of a loaded model.

Key styles understood:

- kohya / A1111: `lora_unet_<module>`, `lora_te_<module>` (one text encoder),
  `lora_te1_` / `lora_te2_` (SDXL), with `.lora_up.weight`, `.lora_down.weight`,
  optional `.lora_mid.weight` (LoCon) and `.alpha`. <module> is the module path
  with '_' for '.', in diffusers naming (`down_blocks_0_attentions_0_proj_in`) or
  original LDM naming (`input_blocks_1_1_proj_in`, as SDXL LoRAs use).
- diffusers / PEFT: `unet.<module>.lora_A.weight` / `.lora_B.weight`, or
  `.lora.down.weight` / `.lora.up.weight`, and the old attention-processor form
  `unet.<...>.processor.to_q_lora.down.weight`; text encoders under
  `text_encoder.` and `text_encoder_2.`. PEFT files carry no alpha: scale 1.

Keys are matched by name and then by shape. A LoRA none of whose keys match, or
whose weights do not fit the matched layers, was made for another architecture:
ModelError naming the file.
"""
from __future__ import annotations

import logging

import torch

from engine import safe_load
from engine.errors import ModelError
from engine.ldm_to_diffusers import unet_module_name_to_ldm
from engine.patching import LoraPatch

log = logging.getLogger(__name__)

_SUFFIXES = [
    (".lora_up.weight", "up"), (".lora_down.weight", "down"), (".lora_mid.weight", "mid"),
    (".lora_B.weight", "up"), (".lora_A.weight", "down"),
    (".lora.up.weight", "up"), (".lora.down.weight", "down"),
    ("_lora.up.weight", "up"), ("_lora.down.weight", "down"),
    (".alpha", "alpha"), (".diff", "diff"),
]
_TEXT_PREFIXES = [  # (prefix, encoder index); longest first
    ("lora_te1_", 0), ("lora_te2_", 1), ("lora_te_", 0),
    ("text_encoder_2.", 1), ("text_encoder.", 0), ("te1.", 0), ("te2.", 1),
]
_UNET_PREFIXES = ("lora_unet_", "unet.", "model.diffusion_model.", "diffusion_model.")


def load_lora_file(path, allow_pickle: bool | None = None) -> dict:
    return safe_load.load_state_dict(path, allow_pickle)


def lora_patches(lora_state_dict: dict, model=None, clip=None, name: str = "LoRA"):
    """(unet_patches {param: LoraPatch}, clip_patches [ {param: LoraPatch} per encoder ])."""
    groups = _group(lora_state_dict, name)
    unet_table = _unet_table(model.unet) if model is not None else {}
    encoders = list(clip.text_encoders) if clip is not None else []
    text_tables = [_text_table(encoder) for encoder in encoders]
    unet_patches: dict = {}
    clip_patches: list[dict] = [{} for _ in encoders]
    unmatched = []
    for base, parts in groups.items():
        target = _target(base, unet_table, text_tables, len(encoders))
        if target is None:
            unmatched.append(base)
            continue
        kind, index, param_name, shape = target
        patch = _make_patch(parts, base, name)
        if not patch.fits(shape):
            raise ModelError(f"{name}: this LoRA does not fit the model (made for another architecture?): "
                             f"'{base}' does not match the shape {tuple(shape)} of {param_name}")
        if kind == "unet":
            unet_patches[param_name] = patch
        else:
            clip_patches[index][param_name] = patch
    if not unet_patches and not any(clip_patches):
        targets = " and ".join(t for t, given in (("model", model), ("CLIP", clip)) if given is not None)
        raise ModelError(f"{name}: none of its {len(groups)} LoRA weights match the {targets or 'given models'} "
                         f"(made for another architecture?)")
    if unmatched:
        log.warning("%s: %d LoRA keys did not match the model, e.g. %s", name, len(unmatched), unmatched[:3])
    return unet_patches, clip_patches


def _group(state: dict, name: str) -> dict[str, dict[str, torch.Tensor]]:
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        for suffix, part in _SUFFIXES:
            if key.endswith(suffix):
                base = key[: -len(suffix)]
                groups.setdefault(base, {})[part] = value
                break
    groups = {base: parts for base, parts in groups.items() if "up" in parts or "diff" in parts}
    if not groups:
        raise ModelError(f"{name}: not a LoRA file (no lora_up/lora_down or lora_A/lora_B weights)")
    return groups


def _make_patch(parts: dict, base: str, name: str) -> LoraPatch:
    if "diff" in parts:
        return LoraPatch(diff=parts["diff"])
    if "down" not in parts:
        raise ModelError(f"{name}: LoRA weight '{base}' has an up matrix but no down matrix")
    alpha = parts.get("alpha")
    return LoraPatch(up=parts["up"], down=parts["down"],
                     alpha=float(alpha) if alpha is not None else None, mid=parts.get("mid"))


def _flat(name: str) -> str:
    return name.replace(".", "_")


def _clean_base(base: str) -> str:
    """Old diffusers attention-processor names -> module names."""
    base = base.replace(".processor.", ".")
    return base + ".0" if base.endswith(".to_out") else base


def _target(base: str, unet_table: dict, text_tables: list[dict], encoder_count: int):
    """(kind, encoder index, parameter name, weight shape) for a LoRA base key, or None."""
    base = _clean_base(base)
    for prefix, index in _TEXT_PREFIXES:
        if base.startswith(prefix):
            if encoder_count == 1 and prefix in ("lora_te1_", "te1."):
                index = 0
            if index >= encoder_count:
                return None
            found = text_tables[index].get(_flat(base[len(prefix):]))
            return ("clip", index) + found if found else None
    for prefix in _UNET_PREFIXES:
        if base.startswith(prefix):
            found = unet_table.get(_flat(base[len(prefix):]))
            return ("unet", 0) + found if found else None
    return None


def _weights(module):
    """(module path, parameter name, shape) of every Linear/Conv weight."""
    for module_name, child in module.named_modules():
        if isinstance(child, (torch.nn.Linear, torch.nn.Conv2d)) and module_name:
            yield module_name, f"{module_name}.weight", tuple(child.weight.shape)


def _unet_table(unet) -> dict[str, tuple[str, tuple]]:
    """Flat LoRA names (diffusers and LDM naming) -> (parameter name, shape)."""
    table = {}
    config = unet.config
    for module_name, param_name, shape in _weights(unet):
        table[_flat(module_name)] = (param_name, shape)
        ldm_name = unet_module_name_to_ldm(module_name, config)
        if ldm_name:
            table[_flat(ldm_name)] = (param_name, shape)
    return table


def _text_table(encoder) -> dict[str, tuple[str, tuple]]:
    """Flat names with transformers' 'text_model.' prefix -> (parameter name, shape)."""
    table = {}
    for module_name, param_name, shape in _weights(encoder):
        bare = module_name.removeprefix("text_model.")
        table[_flat("text_model." + bare)] = (param_name, shape)
        table[_flat(bare)] = (param_name, shape)
    return table
