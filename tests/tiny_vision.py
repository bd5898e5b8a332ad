"""Tiny transformers vision models written as Hugging Face folders, for the depth and captioning tests.

DPT (ViT backbone, square input as in dpt-large), Depth Anything (DINOv2 backbone)
and BLIP captioning, with seeded random weights and the processor / tokenizer
files written here (the BLIP tokenizer is a BERT WordPiece one with a tiny vocab).
Nothing is downloaded.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.tiny_models import _seeded

DEPTH_PROCESSOR = {
    "image_processor_type": "DPTImageProcessor",
    "do_resize": True, "size": {"height": 32, "width": 32}, "keep_aspect_ratio": False,
    "ensure_multiple_of": 8, "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255,
    "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
}
NECK = dict(neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16, head_hidden_size=8)
BACKBONE = dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=37,
                image_size=32, patch_size=8)


def save_tiny_dpt(directory, seed: int = 0) -> Path:
    from transformers import DPTConfig, DPTForDepthEstimation

    config = DPTConfig(**BACKBONE, **NECK, backbone_out_indices=[0, 1, 2, 3],
                       reassemble_factors=[4, 2, 1, 0.5])
    with _seeded(seed):
        model = DPTForDepthEstimation(config).eval()
    return _save(model, directory, DEPTH_PROCESSOR)


def save_tiny_depth_anything(directory, seed: int = 0) -> Path:
    """Depth Anything keeps the aspect ratio (multiples of the patch size), like the real v1/v2 processors."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    backbone = Dinov2Config(**BACKBONE, out_features=["stage1", "stage2", "stage3", "stage4"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=32, patch_size=8, **NECK)
    with _seeded(seed):
        model = DepthAnythingForDepthEstimation(config).eval()
        with torch.no_grad():  # random heads predict almost constant depth: make the map vary
            for parameter in model.head.parameters():
                parameter.mul_(8.0)
    processor = dict(DEPTH_PROCESSOR, keep_aspect_ratio=True)
    return _save(model, directory, processor)


def _save(model, directory, processor_config) -> Path:
    directory = Path(directory)
    model.save_pretrained(directory)
    (directory / "preprocessor_config.json").write_text(json.dumps(processor_config, indent=2))
    return directory


BLIP_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "a", "photo", "of", "cat", "dog", "red",
              "blue", "the", "on", "in", "picture", "house", "tree", "sky"] + [f"word{i}" for i in range(40)]


def save_tiny_blip(directory, seed: int = 0) -> Path:
    """BlipForConditionalGeneration + BlipProcessor (PIL image processor, BERT tokenizer)."""
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipProcessor
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(BLIP_WORDS) + "\n")
    tokenizer = BertTokenizer(str(vocab), bos_token="[DEC]", model_max_length=64)
    text = dict(vocab_size=len(BLIP_WORDS), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=37, encoder_hidden_size=32, max_position_embeddings=64,
                bos_token_id=tokenizer.bos_token_id, sep_token_id=tokenizer.sep_token_id,
                pad_token_id=tokenizer.pad_token_id)
    vision = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                  image_size=32, patch_size=8, initializer_range=0.02)  # BLIP's default 1e-10 blinds it
    with _seeded(seed):
        model = BlipForConditionalGeneration(BlipConfig(text_config=text, vision_config=vision,
                                                        projection_dim=32)).eval()
        with torch.no_grad():  # random small weights let the text ignore the picture: strengthen cross-attention
            for name, parameter in model.named_parameters():
                if "crossattention.output.dense.weight" in name:
                    parameter.mul_(40.0)
    model.save_pretrained(directory)
    image_processor = BlipImageProcessorPil(size={"height": 32, "width": 32})
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    return directory


def save_tiny_blip2(directory, seed: int = 0) -> Path:
    """Blip2ForConditionalGeneration (tiny OPT decoder) + Blip2Processor with a WordPiece tokenizer.

    The processor puts num_query_tokens `<image>` tokens before the text; the
    decoder's output layer is untied so the random model does not just repeat
    its last token.
    """
    from transformers import BertTokenizer, Blip2Config, Blip2ForConditionalGeneration, Blip2Processor
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(BLIP_WORDS + ["<image>"]) + "\n")
    tokenizer = BertTokenizer(str(vocab), model_max_length=64)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    vision = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                  image_size=32, patch_size=8)
    qformer = dict(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=37, encoder_hidden_size=32)
    text = dict(model_type="opt", vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                num_attention_heads=4, ffn_dim=37, word_embed_proj_dim=32, max_position_embeddings=128,
                bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
                pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
    config = Blip2Config(vision_config=vision, qformer_config=qformer, text_config=text, num_query_tokens=4,
                         image_token_index=tokenizer.convert_tokens_to_ids("<image>"))
    with _seeded(seed):
        model = Blip2ForConditionalGeneration(config).eval()
    model.save_pretrained(directory)
    image_processor = BlipImageProcessorPil(size={"height": 32, "width": 32})
    Blip2Processor(image_processor=image_processor, tokenizer=tokenizer, num_query_tokens=4).save_pretrained(directory)
    return directory


def picture(batch: int = 2, height: int = 48, width: int = 64, seed: int = 5) -> torch.Tensor:
    """A smooth IMAGE batch [B,H,W,3] in 0..1."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 3, 4, 4, generator=generator)
    return torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear").permute(0, 2, 3, 1)
