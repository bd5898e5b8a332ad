"""The demo model's three parts: Stable Diffusion 1.x's architecture, scaled down.

Every size here is visible in the saved tensors, so Loom's ordinary checkpoint
loader (engine/detect.py) rebuilds the same modules from the single file. Its
rules fix what shapes cannot show: SD1 UNets have 8 attention heads per block,
text encoders 64-wide heads (8-wide below 64), GroupNorm uses 32 groups.
"""
from __future__ import annotations

import torch

IMAGE_SIZE = 128
TEXT_WIDTH = 64
VAE_SCALING_FACTOR = 0.18215  # SD1's; the trainer rescales the latent space to match it


def vae_config() -> dict:
    return dict(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(32, 64, 64, 64),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=IMAGE_SIZE,
        scaling_factor=VAE_SCALING_FACTOR,
    )


def unet_config() -> dict:
    return dict(
        sample_size=IMAGE_SIZE // 8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=(64, 128, 128),
        layers_per_block=1,
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=8,
        norm_num_groups=32,
    )


def text_config():
    from transformers import CLIPTextConfig

    from engine.detect import heads_for_width

    return CLIPTextConfig(
        vocab_size=49408,
        hidden_size=TEXT_WIDTH,
        intermediate_size=TEXT_WIDTH * 4,
        num_hidden_layers=3,
        num_attention_heads=heads_for_width(TEXT_WIDTH),
        max_position_embeddings=77,
        hidden_act="quick_gelu",
        projection_dim=TEXT_WIDTH,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )


def build_vae(seed: int):
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(**vae_config())


def build_unet(seed: int):
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    return UNet2DConditionModel(**unet_config())


def build_text_encoder(seed: int):
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    return CLIPTextModel(text_config())
