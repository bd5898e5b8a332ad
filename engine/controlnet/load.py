"""Load ControlNet files into ControlNet objects (cached like checkpoints).

Read: diffusers folders (config.json + weights), diffusers-layout single files
(with a config.json beside them, or with the config read from the shapes), and
original-layout single files (ControlNet 1.x, `control_model.` prefix or none),
for SD1.x, SD2.x and SDXL. Diff ControlNets (a `difference` key) hold weights
relative to a base UNet: they need the MODEL they were made for (DiffControlNetLoader).
Control-LoRA files are kept as they are and built on the sampling model's UNet when
sampling starts (engine.controlnet.control_lora).
safetensors always; pickles only as engine.safe_load allows.
"""
from __future__ import annotations

from pathlib import Path

from engine import devices, model_cache, safe_load
from engine.controlnet import convert, detect
from engine.controlnet.control import ControlNet
from engine.errors import ModelError

_REFUSED = {
    "t2i_adapter": "is a T2I-Adapter, not a ControlNet; T2I-Adapters are not supported yet",
    "union": "is a ControlNet-Union (ProMax) model, which is not supported yet",
    "other_model": "is a ControlNet for another model family (SD3, Flux, ...), not SD1.x/SD2.x/SDXL",
    "unknown": "is not a ControlNet (no ControlNet weights found)",
}


def load_controlnet(path, model=None, allow_pickle: bool | None = None) -> ControlNet:
    """A ControlNet from a file or folder; `model` (a MODEL) is used by diff ControlNets only."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"ControlNet file not found: {path}")
    base = id(model.unet) if model is not None else None
    key = model_cache.cache_key(path, "controlnet", base)
    return model_cache.get().get_or_load(key, lambda: _load(path, model, allow_pickle))


def _load(path: Path, model, allow_pickle) -> ControlNet:
    if path.is_dir():
        return _from_folder(path, path.name, allow_pickle)
    state = safe_load.load_state_dict(path, allow_pickle)
    kind = detect.file_kind(state)
    if kind == "diffusers":
        if (path.parent / "config.json").is_file() and _is_controlnet_config(path.parent):
            return _from_folder(path.parent, path.name, allow_pickle)
        state = convert.diffusers_to_original(state, path.name)
    elif kind == "control_lora":
        arch = "sdxl" if "label_emb.0.0.weight" in state else "sd1"
        if "input_hint_block.0.weight" not in state:
            raise ModelError(f"{path.name}: Control-LoRA without a hint encoder (input_hint_block) is not supported")
        return ControlNet(None, arch, path.name, lora_state=state)
    elif kind != "original":
        raise ModelError(f"{path.name} {_REFUSED[kind]}")
    return _from_original(state, path.name, model)


def bind_control_lora(control_net: ControlNet, model) -> ControlNet:
    """The full ControlNet of a Control-LoRA on `model`'s UNet (cached per model)."""
    from engine.controlnet.control_lora import original_state

    def build():
        state = original_state(control_net.lora_state, model.unet, control_net.name)
        return _from_original(state, control_net.name, None)

    key = ("control_lora", id(control_net), id(model.unet))
    return model_cache.get().get_or_load(key, build)


def _is_controlnet_config(folder: Path) -> bool:
    import json

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return config.get("_class_name") in ("ControlNetModel", None) and "conditioning_channels" in config


def _from_original(state: dict, name: str, model) -> ControlNet:
    from diffusers import ControlNetModel

    from engine.checkpoints import _build

    difference = "difference" in state
    state = detect.strip_original_prefix({k: v for k, v in state.items() if k != "difference"})
    arch, config = detect.controlnet_config(state, name)
    if _is_shuffle(name):
        config["global_pool_conditions"] = True  # as ComfyUI: *_shuffle ControlNets pool their output
    converted = convert.original_to_diffusers(state, config)
    if difference:
        converted = _add_base_weights(converted, model, name)
    module = _build(lambda: ControlNetModel(**config), converted, name, "ControlNet", devices.unet_dtype())
    return ControlNet(module, arch, name)


def _add_base_weights(state: dict, model, name: str) -> dict:
    """Diff ControlNets store (ControlNet - base UNet) for the weights they share with the UNet."""
    if model is None:
        raise ModelError(f"{name} is a diff ControlNet: load it with DiffControlNetLoader "
                         "and the model it was made for")
    base = model.unet.state_dict()
    added = dict(state)
    for key, value in state.items():
        weight = base.get(key)
        if weight is not None and weight.shape == value.shape:
            added[key] = value.float() + weight.float().to(value.device)
    return added


def _from_folder(folder: Path, name: str, allow_pickle) -> ControlNet:
    from diffusers import ControlNetModel

    if allow_pickle is None:
        allow_pickle = devices.allow_pickle()
    try:  # without allow_pickle only .safetensors weights are read
        module = ControlNetModel.from_pretrained(str(folder), local_files_only=True, low_cpu_mem_usage=False,
                                                 use_safetensors=None if allow_pickle else True)
    except (OSError, ValueError, EnvironmentError) as error:
        raise ModelError(f"{name}: cannot load the ControlNet ({error})") from error
    dtype = devices.unet_dtype()
    if next(module.parameters()).dtype != dtype:
        module.to(dtype)
    module.eval().requires_grad_(False)
    return ControlNet(module, detect.arch_of_config(module.config), name)


def _is_shuffle(name: str) -> bool:
    stem = Path(name).stem
    return stem.endswith("_shuffle") or stem.endswith("_shuffle_fp16")
