"""A tiny text-to-video model (UNet3DConditionModel + SD VAE + OpenCLIP-style text encoder)
with seeded random weights, laid out like damo-vilab/text-to-video-ms-1.7b."""
from __future__ import annotations

import json
from pathlib import Path

from tests.tiny_models import CLIP_HIDDEN, _seeded, tiny_clip_text, tiny_tokenizer, tiny_vae

SCHEDULER = {
    "_class_name": "DDIMScheduler",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "clip_sample": False,
    "set_alpha_to_one": False,
}


def tiny_unet3d(seed: int = 5):
    from diffusers import UNet3DConditionModel

    with _seeded(seed):
        return UNet3DConditionModel(
            sample_size=8,
            in_channels=4,
            out_channels=4,
            down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
            up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
            block_out_channels=(32, 64),
            layers_per_block=1,
            norm_num_groups=32,
            cross_attention_dim=CLIP_HIDDEN,
            attention_head_dim=8,
        ).eval()


def tiny_video_components() -> dict:
    """Components named as TextToVideoSDPipeline names them (scheduler left out)."""
    return dict(unet=tiny_unet3d(), vae=tiny_vae(), text_encoder=tiny_clip_text(hidden_act="gelu", seed=2),
                tokenizer=tiny_tokenizer("!"))


def save_video_folder(components: dict, directory) -> Path:
    """Write the components as a diffusers TextToVideoSDPipeline folder."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    index = {"_class_name": "TextToVideoSDPipeline", "_diffusers_version": "0.42.0"}
    for name, module in components.items():
        module.save_pretrained(directory / name)
        library = "diffusers" if name in ("unet", "vae") else "transformers"
        index[name] = [library, type(module).__name__]
    (directory / "scheduler").mkdir(exist_ok=True)
    (directory / "scheduler" / "scheduler_config.json").write_text(json.dumps(SCHEDULER, indent=2))
    index["scheduler"] = ["diffusers", "DDIMScheduler"]
    (directory / "model_index.json").write_text(json.dumps(index, indent=2))
    return directory
