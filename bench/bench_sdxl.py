"""SDXL-shaped txt2img through the Loom graph against diffusers' StableDiffusionXLPipeline, same weights.

    .venv/bin/python bench/bench_sdxl.py [--runs 3] [--steps 20] [--size 64]
    .venv/bin/python bench/bench_sdxl.py --realistic   # SDXL-sized random weights, 512 px, 4 steps

The same measurement as bench/bench_txt2img.py (its graph, timer and prompts): a single-file
checkpoint with random weights (tiny SDXL by default; --realistic: SDXL's real shapes, ~3.5 B
parameters, ~14 GB of RAM in float32, not for CI), the graph CheckpointLoaderSimple ->
CLIPTextEncode x2 -> KSampler -> VAEDecode -> SaveImage with the cache cleared before each run,
against StableDiffusionXLPipeline with the same sigmas and initial noise. Prints the median
times and their ratio (goal <= 1.03).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.bench_txt2img import diffusers_runner, euler_reference, graph_prompt, time_interleaved  # noqa: E402


def sdxl_sized_components():
    """UNet/VAE/two text encoders with SDXL base's shapes and seeded random weights (no download)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from tests.tiny_models import tiny_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=128, block_out_channels=(320, 640, 1280), layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20), use_linear_projection=True,
        cross_attention_dim=2048, addition_embed_type="text_time", addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816).eval()
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), latent_channels=4, layers_per_block=2,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        sample_size=1024, scaling_factor=0.13025).eval()

    def text_config(hidden, layers, heads, act, pad):
        return CLIPTextConfig(vocab_size=49408, hidden_size=hidden, intermediate_size=hidden * 4,
                              num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=77,
                              hidden_act=act, projection_dim=hidden, bos_token_id=49406, eos_token_id=49407,
                              pad_token_id=pad)

    text = CLIPTextModel(text_config(768, 12, 12, "quick_gelu", 49407)).eval()
    text_2 = CLIPTextModelWithProjection(text_config(1280, 32, 20, "gelu", 0)).eval()
    return dict(unet=unet, vae=vae, text_encoder=text, text_encoder_2=text_2, tokenizer=tiny_tokenizer(),
                tokenizer_2=tiny_tokenizer("!"))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realistic", action="store_true", help="SDXL-sized random model, 512 px, 4 steps")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", type=int, default=None, help="image width and height in pixels")
    parser.add_argument("--cfg", type=float, default=7.0)
    args = parser.parse_args()
    return args, args.steps or (4 if args.realistic else 20), args.size or (512 if args.realistic else 64)


def main():
    args, steps, size = parse_args()

    from diffusers import StableDiffusionXLPipeline

    from engine import folders
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_models import save_single_file, tiny_sd_components

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folders.configure(base_dir=base, output_dir=base / "output", input_dir=base / "input",
                          temp_dir=base / "temp")
        (base / "models" / "checkpoints").mkdir(parents=True)
        components = sdxl_sized_components() if args.realistic else tiny_sd_components("sdxl")
        save_single_file(components, base / "models" / "checkpoints" / "bench_xl.safetensors")

        registry = NodeRegistry(load_custom_nodes=False).load()
        executor = PromptExecutor(registry.classes, cache=CacheConfig())

        def run_graph(seed):
            executor.reset_cache()
            checked = validate_prompt(graph_prompt("bench_xl.safetensors", seed, steps, args.cfg, size),
                                      registry.classes)
            result = executor.execute(checked.prompt, f"bench-{seed}", {}, checked.outputs)
            assert result.status_str == "success", result.error

        sigmas, scheduler = euler_reference(steps)
        names = ("vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "unet")
        pipe = StableDiffusionXLPipeline(**{k: components[k] for k in names}, scheduler=scheduler)
        run_diffusers = diffusers_runner(pipe, size, args.cfg, sigmas, base / "diffusers.png")
        graph_times, diffusers_times = time_interleaved(run_graph, run_diffusers, args.runs)

    graph_time, diffusers_time = statistics.median(graph_times), statistics.median(diffusers_times)
    label = "SDXL-sized" if args.realistic else "tiny SDXL"
    print(f"txt2img {label}, {size}px, {steps} steps euler/normal, cfg {args.cfg}, {args.runs} runs (median)")
    print(f"graph (Loom)         {graph_time:8.3f} s")
    print(f"diffusers pipeline   {diffusers_time:8.3f} s")
    print(f"ratio graph/diffusers {graph_time / diffusers_time:7.3f}   (goal <= 1.03)")


if __name__ == "__main__":
    main()
