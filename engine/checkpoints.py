"""Load Stable Diffusion checkpoints into MODEL, CLIP and VAE objects.

Two layouts are read: diffusers folders (model_index.json with unet/, vae/,
text_encoder/ ...) and single files in the original LDM layout
(.safetensors; pickles only when allowed, see engine.safe_load). For single
files the diffusers configs come from engine.detect (shipped templates with
sizes read from tensor shapes). Modules are kept on the CPU in the dtype
engine.devices chooses; sampling moves them to the compute device.
Loaded objects are cached (engine.model_cache); callers clone before changing.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from engine import detect, devices, model_cache, safe_load
from engine.errors import ModelError
from engine.ldm_to_diffusers import (clip_l_to_diffusers, diffusers_unet_to_ldm, open_clip_to_diffusers,
                                     unet_to_diffusers, vae_to_diffusers)

CLIP_TYPES = ("stable_diffusion", "sd1", "sd2", "sdxl")


# ------------------------------------------------------------------ public API

def load_checkpoint(path, prediction_type: str | None = None, allow_pickle: bool | None = None):
    """(DiffusionModel, CLIP or None, VAE or None) from a diffusers folder or single file."""
    path = _existing(path)
    key = model_cache.cache_key(path, "checkpoint", prediction_type)
    return model_cache.get().get_or_load(key, lambda: _load_checkpoint(path, prediction_type, allow_pickle))


def load_unet(path, prediction_type: str | None = None, allow_pickle: bool | None = None, dtype=None):
    """DiffusionModel from a UNet-only file, a unet/ folder, or a whole checkpoint."""
    path = _existing(path)
    key = model_cache.cache_key(path, "unet", prediction_type, str(dtype))
    return model_cache.get().get_or_load(key, lambda: _load_unet(path, prediction_type, allow_pickle, dtype))


def load_vae(path, allow_pickle: bool | None = None):
    """VAE from a VAE file, a vae/ folder, or a whole checkpoint."""
    path = _existing(path)
    key = model_cache.cache_key(path, "vae")
    return model_cache.get().get_or_load(key, lambda: _load_vae(path, allow_pickle))


def load_clip(paths, type: str = "stable_diffusion", allow_pickle: bool | None = None):
    """CLIP from one text-encoder file (sd1/sd2) or two (sdxl: CLIP-L then OpenCLIP-bigG)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [_existing(p) for p in paths]
    if type not in CLIP_TYPES:
        raise ModelError(f"type: '{type}' text encoders are not supported; use one of {', '.join(CLIP_TYPES)}")
    key = tuple(model_cache.cache_key(p, "clip", type) for p in paths)
    return model_cache.get().get_or_load(key, lambda: _load_clip(paths, type, allow_pickle))


# ------------------------------------------------------------------ checkpoints

def _existing(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    return path


def _load_checkpoint(path: Path, prediction_type, allow_pickle):
    if path.is_dir():
        return _load_diffusers_pipeline(path, prediction_type)
    state = safe_load.load_state_dict(path, allow_pickle)
    info = detect.detect_checkpoint(state, path.name, safe_load.read_metadata(path), prediction_type)
    clip = _clip_from_checkpoint(state, info.arch, path.name)
    pooled_width = _pooled_width(state, info.arch)
    model = _model_from_ldm(detect.strip_prefix(state, detect.UNET_PREFIX), info, path.name, pooled_width)
    vae = None
    for prefix in detect.VAE_PREFIXES:
        vae_state = detect.strip_prefix(state, prefix)
        if vae_state:
            vae = _vae_from_state(vae_state, info.arch, path.name)
            break
    return model, clip, vae


def _pooled_width(state: dict, arch: str) -> int | None:
    prefix = detect.OPEN_CLIP_PREFIXES.get(arch)
    projection = state.get(f"{prefix}text_projection") if prefix else None
    return int(projection.shape[1]) if projection is not None else None


def _model_from_ldm(unet_state: dict, info: detect.CheckpointInfo, name: str, pooled_width=None, dtype=None):
    from diffusers import UNet2DConditionModel

    from engine.model import DiffusionModel

    config = detect.unet_config(unet_state, info.arch, pooled_width)
    converted = unet_to_diffusers(unet_state, config)
    unet = _build(lambda: UNet2DConditionModel(**config), converted, name, "UNet", dtype or devices.unet_dtype())
    return DiffusionModel(unet, info.arch, info.prediction_type)


def _vae_from_state(vae_state: dict, arch: str, name: str):
    from diffusers import AutoencoderKL

    from engine.vae import VAE

    config = detect.vae_config(vae_state, arch)
    converted = vae_to_diffusers(vae_state, config)
    autoencoder = _build(lambda: AutoencoderKL(**config), converted, name, "VAE", devices.vae_dtype())
    return VAE(autoencoder, arch)


def _clip_from_checkpoint(state: dict, arch: str, name: str):
    if arch == "sd1":
        encoders = [_clip_l(detect.strip_prefix(state, detect.CLIP_L_PREFIXES["sd1"]), name)]
    elif arch == "sd2":
        encoders = [_open_clip(detect.strip_prefix(state, detect.OPEN_CLIP_PREFIXES["sd2"]), name, "open_clip_h")]
    elif arch == "sdxl":
        encoders = [_clip_l(detect.strip_prefix(state, detect.CLIP_L_PREFIXES["sdxl"]), name),
                    _open_clip(detect.strip_prefix(state, detect.OPEN_CLIP_PREFIXES["sdxl"]), name, "open_clip_bigg")]
    else:  # sdxl_refiner
        encoders = [_open_clip(detect.strip_prefix(state, detect.OPEN_CLIP_PREFIXES["sdxl_refiner"]), name,
                               "open_clip_bigg")]
    if any(encoder is None for encoder in encoders):
        return None
    return _make_clip(encoders, arch)


def _clip_l(ldm_state: dict, name: str, template: str = "clip_l"):
    if not ldm_state:
        return None
    return _text_encoder(clip_l_to_diffusers(ldm_state), name, template)


def _open_clip(ldm_state: dict, name: str, template: str):
    if not ldm_state:
        return None
    converted = open_clip_to_diffusers(ldm_state, drop_last_layer=template == "open_clip_h")
    return _text_encoder(converted, name, template)


def _text_encoder(state: dict, name: str, template: str):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(**detect.text_config(state, template))
    cls = CLIPTextModelWithProjection if "text_projection.weight" in state else CLIPTextModel
    encoder = _build(lambda: cls(config), state, name, "text encoder", devices.text_encoder_dtype())
    return encoder


def _make_clip(encoders: list, arch: str):
    from engine.clip import CLIP
    from engine.text.tokenizer import clip_tokenizer, openclip_tokenizer

    if arch == "sd1":
        tokenizers = [clip_tokenizer()]
    elif arch == "sdxl":
        tokenizers = [clip_tokenizer(), openclip_tokenizer()]
    else:  # sd2, sdxl_refiner: OpenCLIP only
        tokenizers = [openclip_tokenizer()]
    return CLIP(encoders, tokenizers, arch)


# ------------------------------------------------------------------ module building

def _build(factory, state: dict, name: str, part: str, dtype: torch.dtype):
    """Make a module (without random init) and load `state` into it in `dtype`, strictly.

    Missing, unexpected or wrongly shaped weights raise ModelError naming the file.
    """
    with torch.device("meta"):
        module = factory()
    expected = module.state_dict()
    state = _align_prefix(state, expected)
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        raise ModelError(
            f"{name}: the {part} weights do not match the detected layout "
            f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''})")
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise ModelError(f"{name}: {part} weight {key} has shape {tuple(state[key].shape)}, "
                             f"expected {tuple(value.shape)}")
    state = {key: value.to(dtype) if value.is_floating_point() else value for key, value in state.items()}
    module.load_state_dict(state, strict=True, assign=True)
    _materialise_buffers(module)
    return module.eval().requires_grad_(False)


def _to_dtype(module, dtype):
    """Cast floating weights only when needed (diffusers warns on every .to(dtype))."""
    if next(module.parameters()).dtype != dtype:
        module.to(dtype)
    return module


def _align_prefix(state: dict, expected: dict) -> dict:
    """Add or drop transformers' 'text_model.' prefix so the keys match the module."""
    if all(key in expected for key in state):
        return state
    wants_prefix = any(key.startswith("text_model.") for key in expected)
    aligned = {}
    for key, value in state.items():
        bare = key.removeprefix("text_model.")
        if wants_prefix and bare != "text_projection.weight":
            aligned["text_model." + bare] = value
        else:
            aligned[bare] = value
    return aligned


def _materialise_buffers(module) -> None:
    """Non-persistent buffers (position ids) are not in state dicts; rebuild those left on meta."""
    for owner in module.modules():
        for buffer_name, buffer in list(owner.named_buffers(recurse=False)):
            if buffer.device.type != "meta":
                continue
            if buffer_name == "position_ids":
                owner.register_buffer(buffer_name, torch.arange(buffer.shape[-1]).expand(buffer.shape).clone(),
                                      persistent=False)
            else:
                raise ModelError(f"internal: buffer {buffer_name} of {type(owner).__name__} has no value")


# ------------------------------------------------------------------ diffusers folders

def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"{path}: unreadable JSON ({error})") from error


def _load_diffusers_pipeline(folder: Path, prediction_type):
    from engine.model import DiffusionModel

    if not (folder / "model_index.json").is_file():
        raise ModelError(f"{folder.name}: not a diffusers pipeline folder (no model_index.json)")
    unet = _from_pretrained_unet(folder / "unet")
    has_l = (folder / "text_encoder").is_dir()
    has_g = (folder / "text_encoder_2").is_dir()
    arch = _folder_arch(unet, folder, has_l, has_g)
    prediction = _folder_prediction_type(folder, prediction_type)
    model = DiffusionModel(unet, arch, prediction)
    encoders = []
    if has_l:
        encoders.append(_from_pretrained_text(folder / "text_encoder", projection=False))
    if has_g:
        encoders.append(_from_pretrained_text(folder / "text_encoder_2", projection=True))
    clip = _make_clip(encoders, arch) if encoders else None
    vae = _from_pretrained_vae(folder / "vae", arch) if (folder / "vae").is_dir() else None
    return model, clip, vae


def _folder_arch(unet, folder: Path, has_l: bool, has_g: bool) -> str:
    if has_g:
        return "sdxl" if has_l else "sdxl_refiner"
    if getattr(unet.config, "addition_embed_type", None) == "text_time":
        return "sdxl"
    if has_l:
        text_config = _read_json(folder / "text_encoder" / "config.json")
        if text_config.get("hidden_act") == "gelu":
            return "sd2"
    # 3-D (text-to-video) UNets have no use_linear_projection; ModelScope's uses SD2's OpenCLIP-H
    return "sd2" if getattr(unet.config, "use_linear_projection", True) else "sd1"


def _folder_prediction_type(folder: Path, explicit) -> str:
    if explicit:
        return detect.normalise_prediction_type(explicit)
    scheduler = folder / "scheduler" / "scheduler_config.json"
    if scheduler.is_file():
        value = _read_json(scheduler).get("prediction_type")
        if value:
            return detect.normalise_prediction_type(value)
    return "epsilon"


def _from_pretrained_unet(folder: Path, dtype=None):
    """UNet2DConditionModel, or UNet3DConditionModel when the config names it (text-to-video)."""
    from diffusers import UNet2DConditionModel, UNet3DConditionModel

    config = folder / "config.json"
    is_3d = config.is_file() and _read_json(config).get("_class_name") == "UNet3DConditionModel"
    cls = UNet3DConditionModel if is_3d else UNet2DConditionModel
    try:
        unet = cls.from_pretrained(str(folder), local_files_only=True, low_cpu_mem_usage=False)
    except (OSError, ValueError, EnvironmentError) as error:
        raise ModelError(f"{folder}: cannot load the UNet ({error})") from error
    return _to_dtype(unet, dtype or devices.unet_dtype()).eval().requires_grad_(False)


def _from_pretrained_vae(folder: Path, arch: str):
    from diffusers import AutoencoderKL

    from engine.vae import VAE

    try:
        autoencoder = AutoencoderKL.from_pretrained(str(folder), local_files_only=True, low_cpu_mem_usage=False)
    except (OSError, ValueError, EnvironmentError) as error:
        raise ModelError(f"{folder}: cannot load the VAE ({error})") from error
    return VAE(_to_dtype(autoencoder, devices.vae_dtype()).eval().requires_grad_(False), arch)


def _from_pretrained_text(folder: Path, projection: bool):
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    cls = CLIPTextModelWithProjection if projection else CLIPTextModel
    try:
        encoder = cls.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, EnvironmentError) as error:
        raise ModelError(f"{folder}: cannot load the text encoder ({error})") from error
    return _to_dtype(encoder, devices.text_encoder_dtype()).eval().requires_grad_(False)


# ------------------------------------------------------------------ single parts

def _load_unet(path: Path, prediction_type, allow_pickle, dtype):
    from engine.model import DiffusionModel

    if path.is_dir():
        if (path / "model_index.json").is_file():
            model, _clip, _vae = _load_diffusers_pipeline(path, prediction_type)
            return model
        unet = _from_pretrained_unet(path, dtype)
        arch = _folder_arch(unet, path, False, False)
        return DiffusionModel(unet, arch, detect.normalise_prediction_type(prediction_type or "epsilon"))
    state = safe_load.load_state_dict(path, allow_pickle)
    unet_state = detect.strip_prefix(state, detect.UNET_PREFIX) or state
    if "input_blocks.0.0.weight" not in unet_state and "conv_in.weight" in unet_state:  # diffusers layout
        if (path.parent / "config.json").is_file():
            return _load_unet(path.parent, prediction_type, allow_pickle, dtype)
        try:
            unet_state = diffusers_unet_to_ldm(unet_state)
        except (KeyError, ValueError, IndexError) as error:
            raise ModelError(f"{path.name}: UNet layout not understood (key {error})") from error
    arch = detect.detect_unet_arch(unet_state, path.name)
    in_channels = detect.unet_in_channels(unet_state, path.name)
    prediction = detect.decide_prediction_type(state, arch, in_channels, path.name,
                                               safe_load.read_metadata(path), prediction_type)
    info = detect.CheckpointInfo(arch, in_channels, prediction)
    return _model_from_ldm(unet_state, info, path.name, dtype=dtype)


def _load_vae(path: Path, allow_pickle):
    if path.is_dir():
        folder = path / "vae" if (path / "model_index.json").is_file() else path
        return _from_pretrained_vae(folder, _vae_arch_hint(path.name))
    state = safe_load.load_state_dict(path, allow_pickle)
    vae_state = state
    for prefix in detect.VAE_PREFIXES:
        if detect.has_prefix(state, prefix):
            vae_state = detect.strip_prefix(state, prefix)
            break
    return _vae_from_state(vae_state, _vae_arch_hint(path.name), path.name)


def _vae_arch_hint(name: str) -> str:
    """SD1/SD2 and SDXL VAEs have the same shapes; only the latent scale differs.

    A file or folder name mentioning 'xl' is taken as an SDXL VAE (scale 0.13025).
    """
    return "sdxl" if "xl" in name.lower() else "sd1"


def _load_clip(paths: list[Path], type: str, allow_pickle):
    states = [safe_load.load_state_dict(p, allow_pickle) for p in paths]
    names = [p.name for p in paths]
    if type == "sdxl":
        if len(states) != 2:
            raise ModelError("type 'sdxl' needs two text encoder files: CLIP-L and OpenCLIP-bigG")
        encoders = [_standalone_text_encoder(states[0], names[0], "clip_l"),
                    _standalone_text_encoder(states[1], names[1], "open_clip_bigg")]
        return _make_clip(encoders, "sdxl")
    if len(states) != 1:
        raise ModelError(f"type '{type}' takes one text encoder file, got {len(states)}")
    state, name = states[0], names[0]
    arch = type if type in ("sd1", "sd2") else _guess_single_clip_arch(state)
    template = "open_clip_h" if arch == "sd2" else "clip_l"
    return _make_clip([_standalone_text_encoder(state, name, template)], arch)


def _guess_single_clip_arch(state: dict) -> str:
    """stable_diffusion type: an OpenCLIP layout or a 1024-wide encoder is SD2, else SD1."""
    if any(".resblocks." in key for key in state):
        return "sd2"
    for key, value in state.items():
        if key.endswith("token_embedding.weight"):
            return "sd2" if value.shape[1] == 1024 else "sd1"
    return "sd1"


def _standalone_text_encoder(state: dict, name: str, template: str):
    """A text encoder file: transformers layout, OpenCLIP layout, or inside a full checkpoint."""
    for prefixes in (detect.CLIP_L_PREFIXES, detect.OPEN_CLIP_PREFIXES):
        for prefix in prefixes.values():
            if detect.has_prefix(state, prefix):
                state = detect.strip_prefix(state, prefix)
                break
    state = {key.removeprefix("model."): value for key, value in state.items()} \
        if any(key.startswith("model.transformer.resblocks.") for key in state) else state
    if any(key.startswith("transformer.resblocks.") for key in state):
        converted = open_clip_to_diffusers(state, drop_last_layer=template == "open_clip_h")
    else:
        converted = clip_l_to_diffusers(state)
    if "embeddings.token_embedding.weight" not in converted:
        raise ModelError(f"{name}: not a CLIP text encoder (no token embedding found)")
    return _text_encoder(converted, name, template)
