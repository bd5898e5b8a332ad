"""Which Stable Diffusion family a checkpoint is, and its diffusers configs, from keys and shapes.

Families (`arch`):

- sd1:  CLIP-L text encoder under `cond_stage_model.transformer.`; UNet attention
        uses 1x1-conv projections; 8 attention heads per block.
- sd2:  OpenCLIP-H text encoder under `cond_stage_model.model.`; linear projections;
        64-channel attention heads.
- sdxl: two text encoders under `conditioner.embedders.0/1`; the UNet has `label_emb`
        (diffusers' `add_embedding`, "text_time"). SDXL-Turbo has exactly the same
        shapes and is loaded as sdxl (epsilon); it only wants other sampler settings.
- sdxl_refiner: only OpenCLIP-bigG under `conditioner.embedders.0.model.`.

`in_channels` is read from the UNet's first convolution: 4 normal, 9 inpainting,
5 SD2-depth. Sizes (channels, levels, layers per block, transformer depth,
context width, SDXL addition embeds) are read from tensor shapes, so scaled-down
checkpoints of these families load too. Attention head counts are not visible in
any shape; the rule is: SD1 8 heads per block; SD2/SDXL and text encoders 64-wide
heads, or 8-wide heads for widths below 64.

Prediction type (epsilon or v_prediction) rule, first match wins:
1. the caller's explicit choice;
2. safetensors metadata `modelspec.prediction_type` or `prediction_type`;
3. a `v_pred` key in the file (the convention ComfyUI uses) -> v_prediction;
4. SD2 with 4 input channels whose file name says 768 (e.g. v2-1_768-ema-pruned)
   -> v_prediction, since SD2-768 was trained with v-prediction;
5. epsilon (SD1, SD2-512 base/inpaint/depth, SDXL).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIXES = ("first_stage_model.", "vae.")
CLIP_L_PREFIXES = {"sd1": "cond_stage_model.transformer.", "sdxl": "conditioner.embedders.0.transformer."}
OPEN_CLIP_PREFIXES = {
    "sd2": "cond_stage_model.model.",
    "sdxl": "conditioner.embedders.1.model.",
    "sdxl_refiner": "conditioner.embedders.0.model.",
}
ARCHES = ("sd1", "sd2", "sdxl", "sdxl_refiner")
# Real SDXL addition-embedding widths: pooled 1280 + 6 (base) or 5 (refiner) ids x 256.
KNOWN_ADDITION_TIME_DIMS = {2816: 256, 2560: 256}


@dataclass
class CheckpointInfo:
    arch: str
    in_channels: int
    prediction_type: str


def load_template(name: str) -> dict:
    """A shipped config template (engine/configs/<name>.json)."""
    with open(CONFIG_DIR / f"{name}.json", encoding="utf-8") as handle:
        config = json.load(handle)
    config.pop("_class_name", None)
    config.pop("model_type", None)
    return config


def strip_prefix(state: dict, prefix: str) -> dict:
    """The entries under `prefix`, with the prefix removed."""
    return {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}


def has_prefix(state: dict, prefix: str) -> bool:
    return any(key.startswith(prefix) for key in state)


# ------------------------------------------------------------------ families

def detect_checkpoint(state: dict, name: str = "", metadata: dict | None = None,
                      prediction_type: str | None = None) -> CheckpointInfo:
    """Family, input channels and prediction type of a full single-file checkpoint."""
    unet_state = strip_prefix(state, UNET_PREFIX)
    if not unet_state:
        raise ModelError(f"{name or 'checkpoint'}: no Stable Diffusion UNet found (no '{UNET_PREFIX}' keys)")
    arch = _arch_from_text_encoders(state) or detect_unet_arch(unet_state, name)
    in_channels = unet_in_channels(unet_state, name)
    return CheckpointInfo(arch, in_channels,
                          decide_prediction_type(state, arch, in_channels, name, metadata, prediction_type))


def _arch_from_text_encoders(state: dict) -> str | None:
    if has_prefix(state, OPEN_CLIP_PREFIXES["sdxl"]):
        return "sdxl"
    if has_prefix(state, OPEN_CLIP_PREFIXES["sdxl_refiner"]):
        return "sdxl_refiner"
    if has_prefix(state, OPEN_CLIP_PREFIXES["sd2"]):
        return "sd2"
    if has_prefix(state, CLIP_L_PREFIXES["sd1"]):
        return "sd1"
    return None


def detect_unet_arch(unet_state: dict, name: str = "") -> str:
    """Family of an LDM-layout UNet state dict (keys without 'model.diffusion_model.')."""
    if "input_blocks.0.0.weight" not in unet_state:
        raise ModelError(f"{name or 'model'}: not a Stable Diffusion UNet (no input_blocks.0.0.weight)")
    if "label_emb.0.0.weight" in unet_state:
        adm_in = unet_state["label_emb.0.0.weight"].shape[1]
        return "sdxl_refiner" if adm_in == 2560 else "sdxl"
    projection = _first(unet_state, "proj_in.weight")
    if projection is not None and projection.ndim == 2:
        return "sd2"
    return "sd1"


def unet_in_channels(unet_state: dict, name: str = "") -> int:
    weight = unet_state.get("input_blocks.0.0.weight")
    if weight is None:
        raise ModelError(f"{name or 'model'}: not a Stable Diffusion UNet (no input_blocks.0.0.weight)")
    return int(weight.shape[1])


def decide_prediction_type(state: dict, arch: str, in_channels: int, name: str = "",
                           metadata: dict | None = None, explicit: str | None = None) -> str:
    """The rule in this module's docstring."""
    if explicit:
        return normalise_prediction_type(explicit)
    for key in ("modelspec.prediction_type", "prediction_type"):
        if metadata and metadata.get(key):
            return normalise_prediction_type(metadata[key])
    if "v_pred" in state:
        return "v_prediction"
    if arch == "sd2" and in_channels == 4 and "768" in Path(name).name:
        return "v_prediction"
    return "epsilon"


def normalise_prediction_type(value: str) -> str:
    text = str(value).strip().lower().replace("-", "_")
    if text in ("v", "v_prediction", "vpred", "v_pred"):
        return "v_prediction"
    if text in ("eps", "epsilon"):
        return "epsilon"
    raise ModelError(f"prediction_type: expected 'epsilon' or 'v_prediction', got {value!r}")


def _first(state: dict, suffix: str):
    for key, value in state.items():
        if key.endswith(suffix):
            return value
    return None


# ------------------------------------------------------------------ UNet config

def heads_for_width(width: int) -> int:
    """Attention heads for SD2/SDXL blocks and text encoders: 64-wide, or 8-wide below 64."""
    return width // 64 if width >= 64 else max(1, width // 8)


def unet_config(unet_state: dict, arch: str, pooled_width: int | None = None) -> dict:
    """diffusers UNet2DConditionModel config for an LDM-layout UNet (no key prefix).

    pooled_width: the width of the pooled text embedding fed to SDXL's addition
    embedding (known when the checkpoint holds the text encoder); it fixes the
    size of the time-id embeddings, which no weight shows.
    """
    config = load_template(f"{arch}_unet" if arch in ARCHES else "sd1_unet")
    conv_in = unet_state["input_blocks.0.0.weight"]
    config["in_channels"] = int(conv_in.shape[1])
    config["out_channels"] = int(unet_state["out.2.weight"].shape[0])
    levels = _unet_levels(unet_state)
    channels = [level["channels"] for level in levels]
    config["block_out_channels"] = channels
    config["layers_per_block"] = levels[0]["resnets"]
    has_attention = [level["depth"] > 0 for level in levels]
    config["down_block_types"] = ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in has_attention]
    config["up_block_types"] = ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(has_attention)]
    depths = [level["depth"] or 1 for level in levels]
    middle_depth = len(_transformer_indices(unet_state, "middle_block.1."))
    if middle_depth and not has_attention[-1]:
        depths[-1] = middle_depth  # diffusers sizes the middle block from the last level
    config["transformer_layers_per_block"] = depths

    context = _first(unet_state, "attn2.to_k.weight")
    if context is not None:
        config["cross_attention_dim"] = int(context.shape[1])
    projection = _first(unet_state, "proj_in.weight")
    config["use_linear_projection"] = bool(projection is not None and projection.ndim == 2)
    if arch == "sd1":
        config["attention_head_dim"] = 8
    else:
        config["attention_head_dim"] = [heads_for_width(c) for c in channels]

    time_width = int(unet_state["time_embed.0.weight"].shape[0])
    if time_width != 4 * channels[0]:
        config["time_embedding_dim"] = time_width

    if "label_emb.0.0.weight" in unet_state:
        adm_in = int(unet_state["label_emb.0.0.weight"].shape[1])
        config["addition_embed_type"] = "text_time"
        config["projection_class_embeddings_input_dim"] = adm_in
        config["addition_time_embed_dim"] = _addition_time_dim(adm_in, arch, pooled_width, channels[-1])
    else:
        for key in ("addition_embed_type", "addition_time_embed_dim", "projection_class_embeddings_input_dim"):
            config.pop(key, None)
    return config


def _addition_time_dim(adm_in: int, arch: str, pooled_width: int | None, last_channels: int) -> int:
    if adm_in in KNOWN_ADDITION_TIME_DIMS:
        return KNOWN_ADDITION_TIME_DIMS[adm_in]
    ids = 5 if arch == "sdxl_refiner" else 6
    for pooled in (pooled_width, last_channels):  # real SDXL: pooled 1280 = last channels
        if pooled and adm_in > pooled and (adm_in - pooled) % ids == 0:
            return (adm_in - pooled) // ids
    raise ModelError(f"cannot tell the SDXL time-embedding width from label_emb width {adm_in}")


def _unet_levels(unet_state: dict) -> list[dict]:
    """Per resolution level: output channels, resnets and transformer depth."""
    levels = [{"channels": None, "resnets": 0, "depth": 0}]
    index = 1
    while True:
        prefix = f"input_blocks.{index}."
        if f"{prefix}0.op.weight" in unet_state:
            levels.append({"channels": None, "resnets": 0, "depth": 0})
        elif f"{prefix}0.out_layers.3.weight" in unet_state:
            level = levels[-1]
            level["resnets"] += 1
            level["channels"] = int(unet_state[f"{prefix}0.out_layers.3.weight"].shape[0])
            level["depth"] = max(level["depth"], len(_transformer_indices(unet_state, f"{prefix}1.")))
        else:
            break
        index += 1
    if levels[0]["channels"] is None or any(level["channels"] is None for level in levels):
        raise ModelError("UNet layout not understood: a resolution level has no residual blocks")
    return levels


def _transformer_indices(unet_state: dict, prefix: str) -> set[int]:
    pattern = re.compile(re.escape(prefix) + r"transformer_blocks\.(\d+)\.")
    found = set()
    for key in unet_state:
        match = pattern.match(key)
        if match:
            found.add(int(match.group(1)))
    return found


# ------------------------------------------------------------------ VAE config

def is_diffusers_vae(vae_state: dict) -> bool:
    return any(key.startswith("encoder.down_blocks.") for key in vae_state)


def vae_config(vae_state: dict, arch: str = "sd1") -> dict:
    """diffusers AutoencoderKL config for an LDM- or diffusers-layout VAE (no key prefix)."""
    config = load_template("sdxl_vae" if arch.startswith("sdxl") else "vae")
    diffusers_layout = is_diffusers_vae(vae_state)
    level_key = r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.conv2\.weight" if diffusers_layout \
        else r"encoder\.down\.(\d+)\.block\.(\d+)\.conv2\.weight"
    pattern = re.compile(level_key)
    channels: dict[int, int] = {}
    resnets: dict[int, set[int]] = {}
    for key, value in vae_state.items():
        match = pattern.fullmatch(key)
        if match:
            level, block = int(match.group(1)), int(match.group(2))
            channels[level] = int(value.shape[0])
            resnets.setdefault(level, set()).add(block)
    if not channels or "encoder.conv_in.weight" not in vae_state:
        raise ModelError("not a Stable Diffusion VAE (no encoder blocks found)")
    count = max(channels) + 1
    config["block_out_channels"] = [channels[i] for i in range(count)]
    config["down_block_types"] = ["DownEncoderBlock2D"] * count
    config["up_block_types"] = ["UpDecoderBlock2D"] * count
    config["layers_per_block"] = len(resnets[0])
    config["in_channels"] = int(vae_state["encoder.conv_in.weight"].shape[1])
    config["out_channels"] = int(vae_state["decoder.conv_out.weight"].shape[0])
    config["latent_channels"] = int(vae_state["decoder.conv_in.weight"].shape[1])
    return config


# ------------------------------------------------------------------ text encoders

def text_config(text_state: dict, template: str) -> dict:
    """transformers CLIPTextConfig kwargs for a converted (transformers-layout) state dict."""
    config = load_template(template)
    tokens = text_state["embeddings.token_embedding.weight"]
    config["vocab_size"], config["hidden_size"] = int(tokens.shape[0]), int(tokens.shape[1])
    config["max_position_embeddings"] = int(text_state["embeddings.position_embedding.weight"].shape[0])
    layers = {int(k.split(".")[2]) for k in text_state if k.startswith("encoder.layers.")}
    config["num_hidden_layers"] = len(layers)
    config["intermediate_size"] = int(text_state["encoder.layers.0.mlp.fc1.weight"].shape[0])
    config["num_attention_heads"] = heads_for_width(config["hidden_size"])
    if "text_projection.weight" in text_state:
        config["projection_dim"] = int(text_state["text_projection.weight"].shape[0])
    else:
        config["projection_dim"] = config["hidden_size"]
    return config
